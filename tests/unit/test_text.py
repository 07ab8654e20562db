"""Text folding, Telex/VNI decoding and robustness of search against any input."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.search import ProductDoc, SearchAnswer, SearchIndex
from catalog.telex import decode_keystrokes, decode_telex, decode_vni, well_formed
from catalog.text import (
    _CONTROL,
    _FORMAT,
    _WORD,
    MAX_QUERY_CHARS,
    accent_key,
    clean,
    english_stem,
    fold,
    has_marks,
    other_final,
    sound_accent,
    sound_key,
    tokenize,
    tone_only,
    word_pieces,
)

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_catalog.json"


@pytest.fixture(scope="module")
def demo_index() -> SearchIndex:
    with open(DEMO, encoding="utf-8") as fh:
        return SearchIndex(ProductDoc.from_row(r) for r in json.load(fh)["products"])


# ------------------------------------------------------------------------------------------------ folding


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đông trùng hạ thảo", "dong trung ha thao"),
        ("ĐẮK LẮK", "dak lak"),
        ("Mỳ gạo Chũ – Xuân Trường!!", "my gao chu xuan truong"),
        ("Mật ong 🍯 hoa vải…", "mat ong hoa vai"),
        ("Snack gạo JOY – sốt cay ngọt", "snack gao joy sot cay ngot"),
        ("4-sao, 5★", "4 sao 5"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold(text: str | None, folded: str) -> None:
    assert fold(text) == folded


def test_fold_handles_decomposed_input_like_composed() -> None:
    import unicodedata

    word = "Rượu nếp cái hoa vàng"
    assert fold(unicodedata.normalize("NFD", word)) == fold(word) == "ruou nep cai hoa vang"


def test_clean_keeps_marks_and_drops_invisible_characters() -> None:
    assert clean("m\u200bỳ\u200d ch\u202eũ\ufeff") == "mỳ chũ"
    assert clean("vải\tthiều\nLục\x00Ngạn") == "vải thiều Lục Ngạn"
    assert clean("a\ud800b") == "a b"  # a lone surrogate cannot even be encoded
    assert clean(None) == ""


def test_accent_key_ignores_tone_placement_but_not_the_marks() -> None:
    assert accent_key("hòa") == accent_key("hoà")
    assert accent_key("thủy") == accent_key("thuỷ")
    assert accent_key("mỳ") != accent_key("mì")
    assert accent_key("đường") != accent_key("dương")
    assert accent_key("lá") != accent_key("là")


def test_marks_helpers() -> None:
    assert has_marks("mỳ") and has_marks("Đa") and not has_marks("my") and not has_marks("honey")
    assert tone_only("mặt") == "mạt"
    assert tone_only("đồi") == "dòi"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("tre", "che"),
        ("suc", "xuc"),
        ("sich", "xich"),
        ("nuc", "luc"),
        ("gio", "do"),
        ("ruou", "duou"),
        ("my", "mi"),
    ],
)
def test_regional_spellings_share_a_sound_key(a: str, b: str) -> None:
    assert sound_key(a) == sound_key(b)


def test_sound_key_keeps_different_words_apart() -> None:
    assert sound_key("vai") != sound_key("bai")
    assert sound_key("ga") != sound_key("ca")


@pytest.mark.parametrize(("a", "b"), [("ong", "on"), ("chung", "chun"), ("cuc", "cut"), ("luc", "nut")])
def test_southern_finals_share_a_key_only_when_asked(a: str, b: str) -> None:
    assert sound_key(a, finals=True) == sound_key(b, finals=True)
    assert sound_key(a) != sound_key(b)


def test_finals_leave_ch_and_nh_alone() -> None:
    assert sound_key("xich", finals=True) == "xich"
    assert sound_key("thanh", finals=True) == "thanh"
    assert sound_key("ng", finals=True) == "ng"


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("on", "ong"),
        ("ong", "on"),
        ("cut", "cuc"),
        ("cuc", "cut"),
        ("chưn", "chưng"),
        ("mi", None),
        ("ch", None),
    ],
)
def test_other_final(word: str, other: str | None) -> None:
    assert other_final(word) == other


def test_sound_accent_keeps_the_marks() -> None:
    assert sound_accent(accent_key("trè")) == sound_accent(accent_key("chè")) == "che2"
    assert sound_accent(accent_key("sôi")) == sound_accent(accent_key("xôi"))
    assert sound_accent(accent_key("sợi")) != sound_accent(accent_key("xôi"))  # thread is no sticky rice
    assert sound_accent(accent_key("đồi")) == sound_accent(accent_key("rồi"))  # đ folds like d
    assert sound_accent(accent_key("chủ")) == sound_accent(accent_key("chũ"))  # hỏi/ngã, one tone down south
    assert sound_accent(accent_key("chưn"), finals=True) == sound_accent(accent_key("chưng"), finals=True)


@pytest.mark.parametrize(
    ("letters", "tone", "ok"),
    [
        ("sơi", 5, True),
        ("rươu", 5, True),
        ("thiêuu", 2, False),
        ("xuânn", 0, False),
        ("mât", 5, True),
        ("mât", 0, False),  # a stop final takes sắc or nặng only
        ("mât", 2, False),
        ("nghiêng", 0, True),
        ("cotton", 0, False),
    ],
)
def test_well_formed_syllables(letters: str, tone: int, ok: bool) -> None:
    assert well_formed(letters, tone) is ok


@pytest.mark.parametrize(
    ("word", "stem"),
    [("noodles", "noodle"), ("berries", "berry"), ("dishes", "dish"), ("glass", "glass"), ("tea", "tea")],
)
def test_english_stem(word: str, stem: str) -> None:
    assert english_stem(word) == stem


def test_tokenize_keeps_raw_and_folded() -> None:
    toks = tokenize("Cho em hỏi, mỳ Chũ?")
    assert [t.raw for t in toks] == ["cho", "em", "hỏi", "mỳ", "chũ"]
    assert [t.folded for t in toks] == ["cho", "em", "hoi", "my", "chu"]


def test_tokenize_splits_words_with_foreign_letters() -> None:
    assert [t.folded for t in tokenize("a中b")] == ["a", "b"]


# ----------------------------------------------------------------------------------------------- Telex/VNI


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("thieeuf", "thiều"),
        ("ddooif", "đồi"),
        ("chux", "chũ"),
        ("mawtj", "mặt"),
        ("maatj", "mật"),
        ("vair", "vải"),
        ("ruowju", "rượu"),
        ("neesp", "nếp"),
        ("sowsm", "sớm"),
        ("phucs", "phúc"),
        ("hoaf", "hòa"),
        ("saam", "sâm"),
        ("char", "chả"),
        ("gaf", "gà"),
        ("buwowir", "bưởi"),
        ("dduwowngf", "đường"),
        ("thuyr", "thủy"),
        ("nguoiwf", "người"),
    ],
)
def test_decode_telex(typed: str, word: str) -> None:
    assert decode_telex(typed) == word


@pytest.mark.parametrize(
    "word", ["tea", "wine", "chicken", "honey", "roll", "leaf", "sausage", "lychee", "", "MAT"]
)
def test_telex_leaves_plain_and_english_words_alone(word: str) -> None:
    assert decode_telex(word) is None


@pytest.mark.parametrize(
    ("typed", "word"), [("mat65", "mật"), ("vai3", "vải"), ("d9oi62", "đồi"), ("ruou75", "rượu")]
)
def test_decode_vni(typed: str, word: str) -> None:
    assert decode_vni(typed) == word
    assert decode_keystrokes(typed) == word


def test_vni_needs_letters_first() -> None:
    assert decode_vni("4sao") is None
    assert decode_vni("2024") is None


def test_search_decodes_telex_only_into_catalogue_words(demo_index: SearchIndex) -> None:
    assert demo_index.search("char gaf").results[0].doc.name_vi.startswith("Chả gà")
    # "taxi" is valid Telex for "tãi", but no product is written "tãi": it stays an unknown word.
    assert demo_index.search("taxi").results == []


# ----------------------------------------------------------------------------------------------- robustness

FOLDED = re.compile(r"^(?:[0-9a-z]+(?: [0-9a-z]+)*)?$")


@given(st.text())
def test_fold_is_always_clean_ascii_and_idempotent(text: str) -> None:
    folded = fold(text)
    assert FOLDED.match(folded)
    assert fold(folded) == folded


@given(st.text(alphabet=st.characters(min_codepoint=97, max_codepoint=122), max_size=14))
def test_decoders_never_raise(word: str) -> None:
    for result in (decode_telex(word), decode_vni(word + "5"), decode_keystrokes(word)):
        assert result is None or isinstance(result, str)


def _well_formed(answer: SearchAnswer, query: str) -> None:
    assert isinstance(answer, SearchAnswer)
    assert answer.query == query
    assert isinstance(answer.results, list) and isinstance(answer.suggestions, list)
    assert not (answer.results and answer.suggestions)
    assert isinstance(answer.filters, dict) and isinstance(answer.terms, str)
    for hit in answer.results + answer.suggestions:
        assert 0.0 <= hit.score <= 100.0
    data = answer.to_json()
    assert set(data) == {"query", "results", "suggestions", "filters", "asks", "doubted"}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


NASTY = [
    "",
    " ",
    "\u200b\u200c\u200d\ufeff",
    "\u202emật ong\u202c",
    "مرحبا עברית",
    "🍯🐝🍵" * 50,
    "\x00\x01\x1b[31mvải\x7f",
    "a\ud800b",
    "vải thiều " * 1000,
    "x" * 10_000,
    "4" * 500,
    "sao sao sao 4 4 4",
    "★★★★★",
    "'; DROP TABLE products; --",
    "%s %d {0} {query}",
]


@pytest.mark.parametrize("query", NASTY)
def test_search_survives_nasty_input(demo_index: SearchIndex, query: str) -> None:
    _well_formed(demo_index.search(query), query)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_search_survives_any_text(demo_index: SearchIndex, query: str) -> None:
    _well_formed(demo_index.search(query), query)


WORDS = (
    "vải thiều mỳ mì chũ gà đồi mật ong rượu nếp sao 4 5 lục ngạn yên thế bản ven chè trà có không bán ở đâu "
    "honey lychee wine tea where buy the my co ban xa tt tp bac giang chuu ruowju neesp matong ★"
)
VIET = st.sampled_from(WORDS.split(" "))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(VIET, max_size=12), st.integers(min_value=1, max_value=30))
def test_search_survives_any_mix_of_real_words(demo_index: SearchIndex, words: list[str], limit: int) -> None:
    query = " ".join(words)
    answer = demo_index.search(query, limit=limit)
    _well_formed(answer, query)
    assert len(answer.results) <= limit


@given(st.text())
def test_printable_text_has_nothing_for_clean_to_remove(text: str) -> None:
    # clean() skips its two removals on a printable text (the usual catalogue text): none could match there.
    if text.isprintable():
        assert _FORMAT.search(text) is None and _CONTROL.search(text) is None
    removed = _CONTROL.sub(" ", _FORMAT.sub("", text[: MAX_QUERY_CHARS * 4]))
    assert clean(text) == " ".join(unicodedata.normalize("NFC", removed).split())


@given(
    st.text()
    | st.lists(VIET, max_size=300).map(" ".join)
    | st.text(min_size=990, max_size=1010)
    | st.text(alphabet=st.characters(categories=("L", "N", "Zs")))  # (words and spaces only: split)
)
def test_word_pieces_shortcut_reads_as_cleaning_does(text: str) -> None:
    # word_pieces skips clean() on a short printable text: the same pieces as cleaning first (the long way).
    assert word_pieces(text) == _WORD.findall(clean(text).lower()[:MAX_QUERY_CHARS])
