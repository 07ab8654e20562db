"""Quantities, phone numbers, e-mail addresses and lead references as buyers and staff type them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.leads import format_quantity, make_ref, normalise_ref
from catalog.models import utcnow
from catalog.validation import (
    Quantity,
    QuantityError,
    QuantityProblem,
    display_phone,
    name_words,
    named_product,
    parse_email,
    parse_number,
    parse_phone,
    parse_quantity,
    quantity_from_canonical,
    split_quantities,
    without_name,
)
from locales import translator


@pytest.mark.parametrize(("text", "language", "canonical"), [
    ("2 tấn", "vi", "2 tonne"),
    ("500kg", "vi", "500 kg"),
    ("1,5 tấn", "vi", "1.5 tonne"),
    ("1,5 tấn", "en", "1.5 tonne"),
    ("300 thùng", "vi", "300 carton"),
    ("200 con", "vi", "200 head"),
    ("2 tonnes", "en", "2 tonne"),
    ("1.5 tonnes", "en", "1.5 tonne"),
    ("1.000 hộp", "vi", "1000 box"),
    ("1,000 boxes", "en", "1000 box"),
    ("1.234,5 kg", "vi", "1234.5 kg"),
    ("3 tạ", "vi", "300 kg"),
    ("2 yến", "vi", "20 kg"),
    ("2 nghìn chai", "vi", "2000 bottle"),
    ("5k packs", "en", "5000 pack"),
    ("2 tấn rưỡi", "vi", "2.5 tonne"),
    ("khoảng 2-3 tấn mỗi tháng", "vi", "2-3 tonne (mỗi tháng)"),
    ("about 2 to 3 tonnes", "en", "2-3 tonne"),
    ("1 container", "en", "1 container"),
    ("2 ki lô", "vi", "2 kg"),
    ("200 gà giống", "vi", "200 gà giống"),  # a unit we do not know is kept as the buyer wrote it
])
def test_quantities_are_parsed_and_normalised(text: str, language: str, canonical: str) -> None:
    assert parse_quantity(text, language).canonical() == canonical


@pytest.mark.parametrize(("text", "problem"), [
    ("", QuantityProblem.EMPTY),
    ("nhiều lắm", QuantityProblem.NO_NUMBER),
    ("500", QuantityProblem.NO_UNIT),
    ("0 kg", QuantityProblem.NOT_POSITIVE),
    ("-5 kg", QuantityProblem.NOT_POSITIVE),
    ("20000000 tấn", QuantityProblem.TOO_LARGE),
    ("5-3 tấn", QuantityProblem.BAD_RANGE),
    ("2 tấn " + "x" * 120, QuantityProblem.TOO_LONG),
])
def test_bad_quantities_say_why(text: str, problem: QuantityProblem) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text, "vi")
    assert caught.value.problem is problem


def test_quantity_is_shown_in_the_readers_language() -> None:
    assert format_quantity("1.5 tonne", translator("vi")) == "1,5 tấn"
    assert format_quantity("1.5 tonne", translator("en")) == "1.5 tonnes"
    assert format_quantity("1 tonne", translator("en")) == "1 tonne"
    assert format_quantity("2-3 carton (mỗi tháng)", translator("vi")) == "2–3 thùng (mỗi tháng)"
    assert format_quantity("something odd", translator("en")) == "something odd"


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1_000_000), places=3),
       st.sampled_from(["tonne", "kg", "carton", "head"]))
def test_canonical_quantity_round_trips(amount: Decimal, unit: str) -> None:
    quantity = Quantity(amount.normalize(), unit)
    assert quantity_from_canonical(quantity.canonical()) == quantity


@given(st.integers(min_value=1, max_value=9_999_999))
def test_vietnamese_thousands_and_english_thousands_agree(value: int) -> None:
    vi = f"{value:,}".replace(",", ".")
    en = f"{value:,}"
    assert parse_number(vi, "vi") == parse_number(en, "en") == value


@pytest.mark.parametrize(("text", "e164"), [
    ("0912345678", "+84912345678"),
    ("0912 345 678", "+84912345678"),
    ("+84 912 345 678", "+84912345678"),
    ("84912345678", "+84912345678"),
    ("0084 912 345 678", "+84912345678"),
    ("0204 3854 321", "+842043854321"),  # a Bắc Giang landline
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 202-555-0143", "+12025550143"),
])
def test_valid_phone_numbers(text: str, e164: str) -> None:
    assert parse_phone(text) == e164


@pytest.mark.parametrize("text", ["123", "0123456789", "phone me", "+84 12", "", "0912345678" * 4, "=1+1"])
def test_invalid_phone_numbers(text: str) -> None:
    assert parse_phone(text) is None


def test_phone_display() -> None:
    assert display_phone("+84912345678") == "+84 912 345 678"


@pytest.mark.parametrize(("text", "clean"), [
    ("an@example.vn", "an@example.vn"),
    ("An.Nguyen@Example.COM", "An.Nguyen@example.com"),
    ("sales+ocop@bacgiang.gov.vn", "sales+ocop@bacgiang.gov.vn"),
    ("mua@công-ty.vn", "mua@công-ty.vn"),
])
def test_valid_emails(text: str, clean: str) -> None:
    assert parse_email(text) == clean


@pytest.mark.parametrize("text", ["an", "an@", "@example.com", "an@example", "a..b@example.com", "a b@example.com",
                                  "an@exa_mple.com", "an@@example.com", "x" * 190 + "@example.com", ".a@example.com"])
def test_invalid_emails(text: str) -> None:
    assert parse_email(text) is None


def test_references() -> None:
    ref = make_ref(utcnow(), 42)
    assert ref.endswith("-000042") and ref.startswith("BG-")
    assert normalise_ref("bg-2026-42") == "BG-2026-000042"
    assert normalise_ref(" #BG 2026 000042 ") == "BG-2026-000042"
    assert normalise_ref("BG-26-42") is None
    assert normalise_ref("hello") is None


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("1,5 tấn vải và 500 kg mỳ", "vi", [("1.5 tonne", "vải"), ("500 kg", "mỳ")]),
    ("vải 1,5 tấn, mỳ 500kg", "vi", [("1.5 tonne", "vải"), ("500 kg", "mỳ")]),
    ("1.5 tonnes of lychee and 500 kg of noodles", "en", [("1.5 tonne", "of lychee"), ("500 kg", "of noodles")]),
    ("2 tonnes and a half", "en", [("2.5 tonne", "")]),
    ("1.000 chai; 200 con", "vi", [("1000 bottle", ""), ("200 head", "")]),
    ("300 thùng", "vi", [("300 carton", "")]),
])
def test_split_quantities(text: str, language: str, expected: list[tuple[str, str]]) -> None:
    pieces = split_quantities(text, language)
    assert [(p.quantity.canonical().split(" (")[0], p.words) for p in pieces] == expected


def test_named_product_and_note_without_the_name() -> None:
    names = [name_words("Vải thiều Hồng Xuân Lục Ngạn Luc Ngan lychee"), name_words("Mỳ gạo Chũ noodles")]
    assert named_product("vải", names) == 0 and named_product("of noodles", names) == 1
    assert named_product("chè", names) is None and named_product("", names) is None
    piece = split_quantities("500 kg mỳ mỗi tháng")[0]
    assert without_name(piece.quantity, names[1]).canonical() == "500 kg (mỗi tháng)"
