"""What free text asks for, and which language it is in: tables of real-looking messages in vi and en."""

from __future__ import annotations

import pytest

from handlers import intent
from handlers.language import detect_language

# (message, kind, words left for the search or None to skip that check)
INTENTS = [
    ("mua mỳ chũ ở đâu", intent.WHERE, "mỳ chũ"),
    ("mua my chu o dau", intent.WHERE, "my chu"),
    ("where can I buy lychee", intent.WHERE, "lychee"),
    ("Where can I buy Luc Ngan lychee?", intent.WHERE, "Luc Ngan lychee"),
    ("chè bản Ven ở đâu", intent.WHERE, "chè bản Ven"),
    ("ai bán mỳ chũ", intent.WHERE, "mỳ chũ"),
    ("cửa hàng gần nhất", intent.WHERE, ""),
    ("liên hệ HTX Hồng Xuân", intent.CONTACT, "HTX Hồng Xuân"),
    ("who makes Chu noodles", intent.CONTACT, "Chu noodles"),
    ("Gà đồi Yên Thế OCOP của HTX nào?", intent.CONTACT, "Gà đồi Yên Thế OCOP"),
    ("số điện thoại HTX Thân Trường", intent.CONTACT, None),
    ("bao nhiêu sản phẩm OCOP 4 sao", intent.HOW_MANY, "OCOP 4 sao"),
    ("how many OCOP products are there", intent.HOW_MANY, "OCOP"),
    ("có bao nhiêu sản phẩm 5 sao ở Lục Ngạn", intent.HOW_MANY, None),
    ("what do the stars mean", intent.STARS, None),
    ("3 sao nghĩa là gì", intent.STARS, None),
    ("sao OCOP là gì", intent.STARS, None),
    ("OCOP là gì", intent.WHAT_IS_OCOP, None),
    ("what is OCOP?", intent.WHAT_IS_OCOP, None),
    ("xin chào", intent.GREETING, None),
    ("hello bot", intent.GREETING, None),
    ("cảm ơn nhiều ạ", intent.THANKS, None),
    ("thanks", intent.THANKS, None),
    ("help", intent.HELP, None),
    ("hướng dẫn", intent.HELP, None),
    ("danh mục", intent.BROWSE, None),
    ("English please", intent.LANGUAGE, None),
    ("tiếng Việt", intent.LANGUAGE, None),
    ("tieng viet", intent.LANGUAGE, None),
    # Is it really OCOP, is the certificate still valid (the product words are kept for the search).
    ("OCOP chính hãng?", intent.CERTIFICATE, ""),
    ("vải thiều Hồng Xuân có OCOP chính hãng không", intent.CERTIFICATE, "vải thiều Hồng Xuân"),
    ("sâm nam núi Dành còn hạn không", intent.CERTIFICATE, "sâm nam núi Dành"),
    ("vai thieu con han khong", intent.CERTIFICATE, "vai thieu"),
    ("is it really OCOP certified", intent.CERTIFICATE, "it"),
    ("is dried Danh ginseng really OCOP certified", intent.CERTIFICATE, "dried Danh ginseng"),
    ("mua mỳ chũ chính hãng ở đâu", intent.WHERE, None),  # where to buy the genuine article
    ("cho em hỏi mua mỳ chũ chính hãng", intent.WHERE, None),
    # Product questions fall through to the catalogue search untouched.
    ("gà đồi yên thế", intent.PRODUCT, "gà đồi yên thế"),
    ("vai thieu", intent.PRODUCT, "vai thieu"),
    ("du lịch bản Ven", intent.PRODUCT, "du lịch bản Ven"),  # "bản" (village) is not "bán" (sell)
    ("mỳ chũ giá bao nhiêu", intent.PRODUCT, None),  # a price question, not a count
    ("sản phẩm 4 sao là gì", intent.PRODUCT, None),  # asks for the list, not the meaning
    ("tại sao mỳ chũ ngon", intent.PRODUCT, None),  # "sao" here is "why"
    ("2 sao", intent.PRODUCT, None),
    ("hai", intent.PRODUCT, None),  # a number word alone is not a pick
    ("Lục Nam", intent.PRODUCT, None),
]

ORDINALS = [
    ("2", 2), ("#2", 2), ("# 3", 3), ("số 2", 2), ("cái thứ 2", 2), ("thứ hai", 2), ("xem cái thứ 3", 3),
    ("the second one", 2), ("second", 2), ("the 3rd", 3), ("last one", intent.LAST), ("cái cuối", intent.LAST),
    ("sp thứ 4 nhé", 4), ("first", 1), ("số 1 ạ", 1),
    ("4 sao", None), ("hai", None), ("nam", None), ("0", None), ("#0", None), ("mỳ chũ 2", None), ("", None),
]

LANGUAGES = [
    ("vai thieu", None), ("lychee", None), ("ga doi yen the", None), ("2", None), ("Chu noodles", None),
    ("mỳ chũ", "vi"), ("mua my chu o dau", "vi"), ("cho toi hoi vai thieu", "vi"), ("có bán không", "vi"),
    ("bao nhieu san pham", "vi"), ("where can I buy lychee", "en"), ("where can I buy mỳ Chũ", "en"),
    ("what is ocop", "en"), ("/start", None), ("", None),
]


@pytest.mark.parametrize(("text", "kind", "query"), INTENTS, ids=[t for t, _, _ in INTENTS])
def test_intent(text: str, kind: str, query: str | None) -> None:
    asked = intent.parse(text)
    assert asked.kind == kind, asked
    if query is not None:
        assert asked.query == query


@pytest.mark.parametrize(("text", "ordinal"), ORDINALS, ids=[t or "empty" for t, _ in ORDINALS])
def test_ordinal(text: str, ordinal: int | None) -> None:
    assert intent.parse_ordinal(text) == ordinal


@pytest.mark.parametrize(("text", "language"), LANGUAGES, ids=[t or "empty" for t, _ in LANGUAGES])
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_a_place_after_a_preposition_is_where_the_user_is() -> None:
    asked = intent.parse("where to buy Chu noodles in Luc Ngan")
    assert (asked.kind, asked.query, asked.place) == (intent.WHERE, "Chu noodles", "Lục Ngạn")
    asked = intent.parse("Mua mỳ Chũ chính hãng ở đâu tại TP Bắc Giang?")
    assert asked.place == "TP Bắc Giang" and "mỳ Chũ" in asked.query
    # A place that is part of the product's name stays with the product.
    asked = intent.parse("vải thiều Lục Ngạn ở đâu")
    assert asked.place is None and asked.query == "vải thiều Lục Ngạn"


def test_a_where_question_is_searched_as_written_less_the_users_place() -> None:
    # The words left keep the buyer's case and clause breaks: names stay names to the search.
    asked = intent.parse("Sâm Ngọc Linh thật của Kon Tum bán theo lạng không, mua biếu bố vợ")
    assert asked.kind == intent.WHERE and asked.query == "Sâm Ngọc Linh thật của Kon Tum bán theo lạng không, biếu bố vợ"
    # What is searched is the whole message, less the place where the buyer is.
    asked = intent.parse("mua mỳ Chũ ở đâu tại TP Bắc Giang?")
    assert (asked.query, asked.place, asked.search) == ("mỳ Chũ", "TP Bắc Giang", "mua mỳ Chũ ở đâu")
    asked = intent.parse("Nhà mình ở Biên Hòa, muốn mua na dai Nghĩa Phương")
    assert asked.place is None and asked.search == "Nhà mình ở Biên Hòa, muốn mua na dai Nghĩa Phương"
