"""split_html: long replies cut into Telegram-sized parts without breaking tags or entities."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.telegram import _u16, split_html
from tests.fakes.telegram_api import parse_html


def visible(html_text: str) -> str:
    return parse_html(html_text)[0]


def test_short_text_is_one_part() -> None:
    assert split_html("<b>Mỳ Chũ</b> &amp; vải thiều") == ["<b>Mỳ Chũ</b> &amp; vải thiều"]


def test_empty_text_has_no_parts() -> None:
    assert split_html("") == []
    assert split_html("   ") == []


def test_cuts_at_paragraph_boundaries() -> None:
    paragraphs = [f"Đoạn {i}: " + "chữ " * 200 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert _u16(part) <= 4096
        assert part.startswith("Đoạn ")  # every part begins with a whole paragraph
        assert part.endswith("chữ")
    assert "\n\n".join(parts) == text


def test_tag_open_at_cut_is_closed_and_reopened() -> None:
    inner = "\n".join(f"dòng {i} " + "x" * 60 for i in range(150))
    text = f'Giới thiệu\n<b>Danh sách <a href="https://example.org/?a=1&amp;b=2">{inner}</a></b>\nHết'
    parts = split_html(text, limit=1000)
    assert len(parts) > 3
    for part in parts:
        assert _u16(part) <= 1000
        visible(part)  # every part is valid HTML for Telegram (raises otherwise)
    assert parts[0].endswith("</a></b>")
    for part in parts[1:-1]:
        assert part.startswith('<b><a href="https://example.org/?a=1&amp;b=2">')
        assert part.endswith("</a></b>")
    assert parts[-1].endswith("Hết")
    # Nothing lost: the visible text of the parts is the visible text of the whole.
    assert "".join(visible(p) for p in parts).replace("\n", "") == visible(text).replace("\n", "")


def test_never_cuts_an_entity_or_tag() -> None:
    text = ("&amp;" * 1500) + "<i>" + ("&lt;b&gt;" * 400) + "</i>"
    parts = split_html(text, limit=500)
    for part in parts:
        assert _u16(part) <= 500
        assert not re.search(r"&[a-z#0-9]*$", part)  # no entity cut in half at the end
        assert not re.search(r"<[^>]*$", part)  # no tag cut in half
        visible(part)
    assert "".join(visible(p) for p in parts) == visible(text)


def test_long_word_without_spaces_is_cut_anyway() -> None:
    text = "a" * 10_000
    parts = split_html(text)
    assert [len(p) for p in parts] == [4096, 4096, 1808]


def test_emoji_count_as_two_units() -> None:
    text = "🍯" * 3000  # 6000 UTF-16 units
    parts = split_html(text)
    assert len(parts) == 2
    assert all(_u16(p) <= 4096 for p in parts)
    assert "".join(parts) == text


_words = st.sampled_from(["mỳ", "Chũ", "&amp;", "&lt;", "🍯", "vải", "\n", "\n\n", " ", "x" * 50])


@st.composite
def html_texts(draw: st.DrawFn) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 120))):
        word = draw(_words)
        tag = draw(st.sampled_from([None, "b", "i", "u", "code"]))
        pieces.append(f"<{tag}>{word * draw(st.integers(1, 20))}</{tag}>" if tag else word)
    return "".join(pieces)


@settings(max_examples=150, deadline=None)
@given(html_texts(), st.integers(60, 600))
def test_parts_are_valid_and_within_limit(text: str, limit: int) -> None:
    parts = split_html(text, limit=limit)
    for part in parts:
        assert _u16(part) <= limit
        visible(part)
    joined = "".join(visible(p) for p in parts)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", visible(text))
