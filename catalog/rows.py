"""The catalogue file layout: table columns, cell parsing and validation, and rows read from the database."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.certificates import LEVELS, certificate_problems, today_in_vietnam
from catalog.models import (
    CATEGORIES,
    PRODUCER_KINDS,
    STORE_KINDS,
    Contact,
    OnlineListing,
    Producer,
    Product,
    Store,
    store_products,
)
from catalog.uses import use_codes

LIST_SEPARATOR = "|"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+().\-\s]{3,50}$")
FORMULA_PREFIXES = ("=", "+", "-", "@")
TRUE_WORDS = {"yes", "true", "1", "có", "co", "y"}
FALSE_WORDS = {"no", "false", "0", "không", "khong", "n"}


class CellError(ValueError):
    """A cell's value is not acceptable; the message is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Callable[[Any], Any]
    required: bool = False
    is_list: bool = False


# C0 control characters other than tab, newline and carriage return, and DEL: PostgreSQL refuses NUL in text,
# and none of the others belongs in a catalogue cell.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE_RE = re.compile("[\ud800-\udfff]")
MAX_NUMBER_DIGITS = 100  # no cell needs a longer number; longer ones are refused before any conversion


def _kind_of(value: Any) -> str:
    """What a spreadsheet or JSON value is, in the words of an error message."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return "a date or time"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _as_text(value: Any) -> str:
    """A cell as text: strings as written, numbers as a spreadsheet shows them; anything else is refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        if isinstance(value, int) and value.bit_length() > 3 * MAX_NUMBER_DIGITS:
            raise CellError("number too long")
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellError("expected text, not an infinite number")
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    else:
        raise CellError(f"expected text, not {_kind_of(value)}")
    bad = CONTROL_RE.search(text)
    if bad:
        raise CellError(f"contains a control character (U+{ord(bad.group()):04X})")
    if SURROGATE_RE.search(text):
        raise CellError("contains an invalid character (a lone UTF-16 surrogate)")
    return text.strip()


def _text(limit: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _as_text(value)
        if len(text) > limit:
            raise CellError(f"longer than {limit} characters")
        return text

    return parse


def _slug(value: Any) -> str:
    text = _text(120)(value)
    if text and not SLUG_RE.match(text):
        raise CellError("slug must be lowercase ASCII letters, digits and single hyphens")
    return text


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(40)(value).lower()
        if text and text not in options:
            raise CellError(f"unknown value {text!r}; expected one of: {', '.join(options)}")
        return text

    return parse


def _number(value: Any, what: str, kind: str) -> Decimal | None:
    """A cell as a number (None when empty), without float overflow: 10**400 is a number out of range."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise CellError(f"{what} must be {kind}, not {_kind_of(value)}")
    if isinstance(value, int):
        if value.bit_length() > 3 * MAX_NUMBER_DIGITS:
            return Decimal(1 if value > 0 else -1).scaleb(MAX_NUMBER_DIGITS + 1)
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(value) if math.isfinite(value) else _not_finite(what, kind)
    if isinstance(value, Decimal):
        return value if value.is_finite() else _not_finite(what, kind)
    text = value.strip().replace(",", ".")
    if len(text) > MAX_NUMBER_DIGITS:
        digits = text.lstrip("+-")
        if digits.isdigit():  # a whole number too long to be anything in range
            return Decimal(-1 if text.startswith("-") else 1).scaleb(MAX_NUMBER_DIGITS + 1)
        raise CellError(f"{what} must be {kind}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"{what} must be {kind}") from None
    return number if number.is_finite() else _not_finite(what, kind)


def _not_finite(what: str, kind: str) -> Decimal:
    raise CellError(f"{what} must be {kind}")


def _int_in(low: int, high: int, what: str) -> Callable[[Any], int | None]:
    def parse(value: Any) -> int | None:
        number = _number(value, what, "a whole number")
        if number is None:
            return None
        if number != number.to_integral_value():
            raise CellError(f"{what} must be a whole number")
        if not low <= number <= high:
            raise CellError(f"{what} must be between {low} and {high}")
        return int(number)

    return parse


def _coordinate(limit: float, what: str) -> Callable[[Any], float | None]:
    def parse(value: Any) -> float | None:
        number = _number(value, what, "a decimal number")
        if number is None:
            return None
        if not -limit <= number <= limit:
            raise CellError(f"{what} out of range (−{limit:g}…{limit:g})")
        return float(number)

    return parse


def _url(value: Any) -> str:
    text = _text(500)(value)
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise CellError(f"not a web address: {text[:60]!r}")
    return text


def _email(value: Any) -> str:
    text = _text(200)(value)
    if text and not EMAIL_RE.match(text):
        raise CellError(f"not an e-mail address: {text[:60]!r}")
    return text


def _phone(value: Any) -> str:
    text = _text(50)(value)
    if text and not PHONE_RE.match(text):
        raise CellError(f"not a phone number: {text[:60]!r}")
    return text


_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_VN_DATE_RE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def _date(value: Any) -> dt.date | None:
    """A date cell: a spreadsheet date, ISO `YYYY-MM-DD`, or `DD/MM/YYYY` as Vietnamese documents write it."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise CellError(f"expected a date (YYYY-MM-DD), not {_kind_of(value)}")
    text = _text(40)(value)
    if match := _ISO_DATE_RE.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _VN_DATE_RE.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise CellError(f"not a date: {text[:40]!r} (expected YYYY-MM-DD)")
    try:
        when = dt.date(year, month, day)
    except ValueError:
        raise CellError(f"no such date: {text[:40]!r}") from None
    if when.year < 1990:
        raise CellError(f"date {text[:40]!r} is before the OCOP programme")
    return when


_URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?://|[^\\/])")


def _image(value: Any) -> str:
    """A product photo: a web address (http/https) or the path of a file the department supplies."""
    text = _text(500)(value)
    if not text:
        return ""
    if _URL_SCHEME_RE.match(text):  # a scheme: only the web's (a Windows path "C:\\…" has none)
        return _url(text)
    return text


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(10)(value).lower()
    if not text:
        return True
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError("must be yes or no")


def _items(value: Any) -> list[Any]:
    """A list cell's items: a JSON list as it is, text split on `|`."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return _as_text(value).split(LIST_SEPARATOR)


def _list_of(item: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def parse(value: Any) -> list[Any]:
        items = _items(value)
        parsed = [item(v) for v in items]
        return [v for v in parsed if v not in ("", None)]

    return parse


def _uses(value: Any) -> list[str]:
    """Use and occasion tags: codes from catalog/data/uses.json, lowercased, each once, in the vocabulary's order."""
    items = _items(value)
    codes = use_codes()
    given = {text for text in (_text(40)("" if v is None else v).lower() for v in items) if text}
    unknown = sorted(given - set(codes))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise CellError(f"unknown use tag {names}; expected one of: {', '.join(codes)}")
    return [code for code in codes if code in given]


_DESC = _text(2000)
_SOURCES = Column("sources", _list_of(_url), is_list=True)

TABLES: dict[str, tuple[Column, ...]] = {
    "products": (
        Column("slug", _slug, required=True),
        Column("name_vi", _text(300), required=True),
        Column("name_en", _text(300)),
        Column("aliases", _list_of(_text(200)), is_list=True),
        Column("uses", _uses, is_list=True),
        Column("category", _choice(CATEGORIES), required=True),
        Column("stars", _int_in(3, 5, "stars")),
        Column("year", _int_in(1990, 2100, "year")),
        Column("certificate_no", _text(100)),
        Column("certified_on", _date),
        Column("certificate_level", _choice(LEVELS)),
        Column("certificate_expires_on", _date),
        Column("producer", _text(300)),
        Column("producer_kind", _choice(PRODUCER_KINDS)),
        Column("producer_address", _text(500)),
        Column("producer_phone", _phone),
        Column("producer_email", _email),
        Column("producer_website", _url),
        Column("commune", _text(200)),
        Column("district", _text(100)),
        Column("province", _text(100)),
        Column("description_vi", _DESC),
        Column("description_en", _DESC),
        Column("season_vi", _text(200)),
        Column("season_en", _text(200)),
        Column("image", _image),
        _SOURCES,
    ),
    "stores": (
        Column("slug", _slug, required=True),
        Column("name", _text(300), required=True),
        Column("kind", _choice(STORE_KINDS), required=True),
        Column("address", _text(500)),
        Column("commune", _text(200)),
        Column("district", _text(100)),
        Column("province", _text(100)),
        Column("latitude", _coordinate(90, "latitude")),
        Column("longitude", _coordinate(180, "longitude")),
        Column("opening_hours", _text(300)),
        Column("phone", _phone),
        Column("email", _email),
        Column("website", _url),
        Column("products", _list_of(_slug), is_list=True),
        Column("description_vi", _DESC),
        Column("description_en", _DESC),
        _SOURCES,
    ),
    "online": (
        Column("slug", _slug, required=True),
        Column("platform", _text(100), required=True),
        Column("url", _url, required=True),
        Column("product", _slug),
        Column("description_vi", _DESC),
        Column("description_en", _DESC),
        _SOURCES,
    ),
    "contacts": (
        Column("slug", _slug, required=True),
        Column("name_vi", _text(300), required=True),
        Column("name_en", _text(300)),
        Column("role_vi", _DESC),
        Column("role_en", _DESC),
        Column("people", _DESC),
        Column("address", _text(500)),
        Column("phone", _phone),
        Column("email", _email),
        Column("website", _url),
        Column("current", _flag),
        _SOURCES,
    ),
}
TABLE_ORDER = ("products", "stores", "online", "contacts")


def columns_of(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


def guess_table(header: list[str]) -> str | None:
    """Which table a one-table file (CSV) holds, from its column names."""
    names = set(header)
    if "name_vi" in names and "category" in names:
        return "products"
    if "platform" in names:
        return "online"
    if "role_vi" in names or ("name_vi" in names and "current" in names):
        return "contacts"
    if "kind" in names and ("address" in names or "name" in names):
        return "stores"
    return None


def neutralise_formula(text: str) -> str:
    """Stop a spreadsheet from running a cell as a formula (CSV/formula injection)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def unneutralise_formula(text: str) -> str:
    """Undo `neutralise_formula`, so export then import is an identity."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        return text[1:]
    return text


def parse_row(table: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse one raw row; returns the clean row and (column, reason) problems."""
    clean: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in TABLES[table]:
        value = raw.get(column.name)
        if isinstance(value, str):
            value = unneutralise_formula(value.strip())
        elif isinstance(value, list):
            value = [unneutralise_formula(v.strip()) if isinstance(v, str) else v for v in value]
        try:
            parsed = column.parse(value)
        except CellError as exc:
            problems.append((column.name, str(exc)))
            continue
        if column.required and parsed in ("", None, []):
            problems.append((column.name, f"missing {column.name}"))
            continue
        clean[column.name] = parsed
    coordinates_parsed = "latitude" in clean and "longitude" in clean
    if table == "stores" and coordinates_parsed and (clean["latitude"] is None) != (clean["longitude"] is None):
        problems.append(("latitude", "latitude and longitude must be given together"))
    if table == "products":
        problems += certificate_problems(clean.get("certified_on"), clean.get("certificate_expires_on"),
                                         today_in_vietnam())
    if table == "products" and not clean.get("producer") and any(
        clean.get(k) for k in ("producer_kind", "producer_address", "producer_phone", "producer_email")
    ):
        problems.append(("producer", "producer details given without a producer name"))
    return clean, problems


# Rows read back from the database, in the same shape as parsed file rows: the basis of export and diff. Read
# with plain SELECTs (no ORM objects): a national catalogue of 20,000 products is read in a fraction of a second.

PRODUCER_FIELDS = ("kind", "address", "phone", "email", "website")


@dataclass
class CatalogueRows:
    """Every catalogue table as {slug: row} in file-row shape, and the database id behind each slug."""

    tables: dict[str, dict[str, dict[str, Any]]]
    ids: dict[str, dict[str, int]]


def _as_list(value: Any) -> list[Any]:
    return list(value or [])


async def read_catalogue(session: AsyncSession) -> CatalogueRows:
    products_t, producers_t = Product.__table__, Producer.__table__
    stores_t, online_t, contacts_t = Store.__table__, OnlineListing.__table__, Contact.__table__
    tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TABLE_ORDER}
    ids: dict[str, dict[str, int]] = {t: {} for t in TABLE_ORDER}

    product_columns = [c for c in columns_of("products") if not c.startswith("producer")]
    query = (
        select(products_t.c.id, *(products_t.c[c] for c in product_columns), producers_t.c.name,
               *(producers_t.c[f] for f in PRODUCER_FIELDS))
        .select_from(products_t.outerjoin(producers_t, products_t.c.producer_id == producers_t.c.id))
        .order_by(products_t.c.slug)
    )
    for row in await session.execute(query):
        values = dict(zip(product_columns, row[1 : 1 + len(product_columns)], strict=True))
        producer = row[1 + len(product_columns) :]
        values["producer"] = producer[0] or ""
        for field_name, value in zip(PRODUCER_FIELDS, producer[1:], strict=True):
            values[f"producer_{field_name}"] = value if producer[0] else ""
        for name in ("aliases", "uses", "sources"):
            values[name] = _as_list(values[name])
        tables["products"][values["slug"]] = {c: values[c] for c in columns_of("products")}
        ids["products"][values["slug"]] = row[0]

    linked: dict[int, list[str]] = {}
    links = select(store_products.c.store_id, products_t.c.slug).join(
        products_t, products_t.c.id == store_products.c.product_id)
    for store_id, slug in await session.execute(links):
        linked.setdefault(store_id, []).append(slug)
    store_columns = [c for c in columns_of("stores") if c != "products"]
    query = select(stores_t.c.id, *(stores_t.c[c] for c in store_columns)).order_by(stores_t.c.slug)
    for row in await session.execute(query):
        values = dict(zip(store_columns, row[1:], strict=True))
        values["sources"] = _as_list(values["sources"])
        values["products"] = sorted(linked.get(row[0], []))
        tables["stores"][values["slug"]] = {c: values[c] for c in columns_of("stores")}
        ids["stores"][values["slug"]] = row[0]

    online_columns = [c for c in columns_of("online") if c != "product"]
    query = (
        select(online_t.c.id, *(online_t.c[c] for c in online_columns), products_t.c.slug)
        .select_from(online_t.outerjoin(products_t, online_t.c.product_id == products_t.c.id))
        .order_by(online_t.c.slug)
    )
    for row in await session.execute(query):
        values = dict(zip(online_columns, row[1:-1], strict=True))
        values["sources"] = _as_list(values["sources"])
        values["product"] = row[-1] or ""
        tables["online"][values["slug"]] = {c: values[c] for c in columns_of("online")}
        ids["online"][values["slug"]] = row[0]

    contact_columns = columns_of("contacts")
    query = select(contacts_t.c.id, *(contacts_t.c[c] for c in contact_columns)).order_by(contacts_t.c.slug)
    for row in await session.execute(query):
        values = dict(zip(contact_columns, row[1:], strict=True))
        values["sources"] = _as_list(values["sources"])
        tables["contacts"][values["slug"]] = values
        ids["contacts"][values["slug"]] = row[0]
    return CatalogueRows(tables, ids)


async def read_tables(session: AsyncSession) -> dict[str, dict[str, dict[str, Any]]]:
    """Every catalogue table as {slug: row}, in file-row shape."""
    return (await read_catalogue(session)).tables
