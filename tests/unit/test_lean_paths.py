"""What issue 15 made cheaper on every message still answers as before: phrase lookup by first word, the search
answer kept for a repeated query, whole numbers formatted once per translator."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest
from babel.numbers import format_decimal

from catalog.search import ProductDoc, SearchIndex
from catalog.search import index as search_index
from handlers import contacts, enquiry, intent
from handlers.intent import find_phrase, has_any, words
from locales import translator

ROOT = Path(__file__).resolve().parents[2]


def tried_one_by_one(ws: list[intent.Word], phrases: tuple[str, ...]) -> bool:
    return any(find_phrase(ws, phrase) >= 0 for phrase in phrases)


PHRASE_SETS = [
    enquiry.TRIGGERS, enquiry.QUESTION_CUES, contacts.PRODUCER_CUES, contacts.PRONOUNS, intent.STAR_WORDS,
    intent.MEANING_CUES, intent.WHERE_CUES, intent.NEAR_CUES, intent.CERTIFICATE_CUES,
    ("mua sỉ", "bán buôn", "giá sỉ"), ("sỉ",), ("si",),
]


@pytest.mark.parametrize("text", [
    "cho em hỏi mua sỉ mật ong", "MUA SI mat ong", "mua ít mật ong", "giá sỉ bao nhiêu", "sỉ", "si", "",
    "bán buôn vải thiều Lục Ngạn", "ban buon vai", "mật ong bán buôn", "wholesale honey please",
])
def test_has_any_finds_what_trying_each_phrase_finds(text: str) -> None:
    ws = words(text)
    for phrases in PHRASE_SETS:
        assert has_any(ws, phrases) == tried_one_by_one(ws, phrases), (text, phrases[:3])


def test_has_any_agrees_on_random_messages_of_cue_words() -> None:
    vocabulary = [w for phrases in PHRASE_SETS for phrase in phrases for w in phrase.split()] + ["mật", "ong", "Mua"]
    rng = random.Random(15)
    for _ in range(3000):
        ws = words(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 7))))
        for phrases in PHRASE_SETS:
            assert has_any(ws, phrases) == tried_one_by_one(ws, phrases)


def test_a_phrase_typed_with_other_marks_is_still_not_found() -> None:
    # the first word's folded form picks the phrases to try; the marks still have to agree
    assert not has_any(words("mua sĩ"), ("mua sỉ",))
    assert has_any(words("mua si"), ("mua sỉ",))
    assert has_any(words("anything"), ("",))  # a blank phrase is found anywhere, as find_phrase finds it


@pytest.fixture(scope="module")
def demo() -> SearchIndex:
    rows = json.loads((ROOT / "catalog" / "data" / "demo_catalog.json").read_text(encoding="utf-8"))["products"]
    return SearchIndex(ProductDoc.from_row(row) for row in rows)


def test_cached_search_answers_as_search_and_keeps_the_answer(demo: SearchIndex) -> None:
    for query, limit in [("mỳ chũ", 10), ("my chu", 10), ("honey", 3), ("vải thiều", 20), ("xyz không có", 10)]:
        first = demo.cached_search(query, limit)
        assert first == demo.search(query, limit)
        assert demo.cached_search(query, limit) is first  # kept
    assert demo.cached_search("mỳ chũ", 1) == demo.search("mỳ chũ", 1)  # another limit, another answer


def test_cached_answers_are_bounded_and_not_pickled(demo: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_index, "ANSWERS_KEPT", 3)
    demo._answers.clear()
    for query in ("mật ong", "vải", "gà", "nấm", "chè"):
        demo.cached_search(query)
    assert [query for query, _ in demo._answers] == ["gà", "nấm", "chè"]  # the oldest dropped first
    again = pickle.loads(pickle.dumps(demo))
    assert again._answers == {}
    assert again.cached_search("chè") == demo.cached_search("chè")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_whole_numbers_are_formatted_as_babel_formats_them(language: str) -> None:
    t = translator(language)
    for value in (0, 1, 7, 999, 1000, 12_345, 1_000_000, -42):
        assert t.number(value) == format_decimal(value, locale=t.locale)
        assert t.number(value) == format_decimal(value, locale=t.locale)  # from memory the second time
    assert t.number(2.5) == format_decimal(2.5, locale=t.locale)
    assert t.number(2.345, digits=1) == format_decimal(2.3, locale=t.locale)
