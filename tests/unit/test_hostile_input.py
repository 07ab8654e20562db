"""Random and hostile texts, payloads and locations never break the bot or its reply markup (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from catalog.db import Database
from handlers.messages import Reply
from locales import translator
from tests.conversations.markup import markup_errors, reply_errors
from tests.harness import ChatHarness

GENERIC_ERROR = "Sorry, something went wrong on our side. Please try again in a moment."
ERROR_TEXTS = {translator(lang)._(GENERIC_ERROR) for lang in ("vi", "en")}

HOSTILE_TEXTS = [
    "<b>", "</b>", "<b>mỳ chũ", "<script>alert(1)</script>", "&", "&amp;", "&lt;", "a < b & c > d", "\"'`",
    "<a href=\"javascript:alert(1)\">x</a>", "mua <b>mỳ chũ</b> ở đâu", "liên hệ <i>HTX</i> & co",
    "bao nhiêu sản phẩm <u>4 sao</u>", "where can I buy <code>lychee</code>", "/start <b>x</b>", "/lang <i>",
    "/start ../../etc/passwd", "/start vai-thieu-hong-xuan", "x" * 10_000, "mỳ " * 3_000, "ạ" * 5_000,
    "🍜🍜🍜", "👨‍👩‍👧‍👦 vải thiều", "مرحبا أين يمكنني شراء", "\u202eeyub\u202c", "vải\u200bthiều", "\u200b\u200c\u200d\ufeff",
    "\x00\x01\x1b[31m", "\x00 mật ong", "mua \x00mỳ chũ ở đâu", "how many \x00 lychee", "\r\n\t", " ", "", "#", "# 0", "số 0", "số 999999999999", "-1", "the 0th one",
    "%s%s%n", "{n}{query}{name}", "{0}", "' OR 1=1 --", "Robert'); DROP TABLE products;--", "\udcff".encode(
        "utf-8", "surrogatepass").decode("utf-8", "replace"), "ǅ ǈ ǋ ß ŉ", "Ⅻ ① ²", "Ｍỳ　Ｃｈũ",
]
PREFIXES = ["p:", "more:", "where:", "contact:", "l:", "b:", "b:c:", "b:d:", "b:s:", "b:x:", "lang:", "m:",
            "enq:", "enq:start:", "lead:", "lead:claim:", ""]
FORGED_PAYLOADS = [
    "p:../../etc", "p:", "p:VAI-THIEU", "p:vai thieu", "more:../x", "where:%00", "contact:'; drop",
    "b:c:food:99999", "b:c:food:-1", "b:c:food:", "b:c:nothing:0", "b:d:../../:0", "b:s:9:0", "b:s:-1:0",
    "b:x:9+:food:luc-ngan:0", "b:x:-:-:-:0", "b:x:4:food", "b:x:::::", "b:menu:extra", "l:99999", "l:-1", "l:x",
    "lang:xx", "lang:", "m:", "m:nothing", "lead:claim:x", "lead:claim:", "enq:start:../../x", "zzz", ":",
    "::::", "p:" + "a" * 62, "b:c:food:1e9",
    # Characters str.isdigit() accepts but int() refuses (found by hypothesis), and other scripts' digits.
    "l:²", "b:c:food:²", "b:x:4+:food:-:¹", "l:٣", "b:s:4:٣",
]

texts = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("<>&\"'/;#*★ số2mỳchũvảiOCOPsao ")), max_size=80),
    st.tuples(st.sampled_from(["mua ", "where can I buy ", "liên hệ ", "how many ", "số ", ""]),
              st.sampled_from(HOSTILE_TEXTS + ["mỳ chũ", "lychee", "4 sao"])).map("".join),
)
payloads = st.one_of(
    st.sampled_from(FORGED_PAYLOADS),
    st.tuples(st.sampled_from(PREFIXES), st.text(max_size=60)).map("".join),
)
names = st.one_of(st.just(""), st.text(max_size=80), st.sampled_from(["<b>Evil</b> & co", "&amp;", "</i>"]))

hostile = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=60,
    deadline=None,
)


def assert_sound(replies: list[Reply], what: object) -> None:
    """A reply came, it is not the catch-all error, and its markup and payloads are valid."""
    assert replies, f"no reply to {what!r}"
    for reply in replies:
        assert reply.text not in ERROR_TEXTS, f"generic error for {what!r}"
    errors = reply_errors(replies)
    assert not errors, f"{errors} for {what!r}"


@hostile
@given(text=texts, name=names, hint=st.sampled_from([None, "vi", "en", "fr", "<b>"]))
async def test_hostile_texts(db: Database, settings: Settings, text: str, name: str, hint: str | None) -> None:
    chat = ChatHarness(db, settings, display_name=name, language_hint=hint)
    assert_sound(await chat.send(text), text)


@hostile
@given(payload=payloads)
async def test_forged_payloads(db: Database, settings: Settings, payload: str) -> None:
    chat = ChatHarness(db, settings, chat_id="77", user_id="77")  # not a staff member
    assert_sound(await chat.click(payload), payload)


@hostile
@given(first=texts, then=st.one_of(texts.map(lambda t: ("send", t)), payloads.map(lambda p: ("click", p))))
async def test_hostile_follow_ups(db: Database, settings: Settings, first: str, then: tuple[str, str]) -> None:
    """Whatever the first message left in the chat's state, the next one is still answered soundly."""
    chat = ChatHarness(db, settings, chat_id="78", user_id="78")
    assert_sound(await chat.send(first), first)
    kind, value = then
    replies = await (chat.send(value) if kind == "send" else chat.click(value))
    assert_sound(replies, value)


@hostile
@given(lat=st.floats(allow_nan=True, allow_infinity=True), lon=st.floats(allow_nan=True, allow_infinity=True))
async def test_any_location(db: Database, settings: Settings, lat: float, lon: float) -> None:
    chat = ChatHarness(db, settings, chat_id="79", user_id="79")
    replies = await chat.share_location(lat, lon)
    assert_sound(replies, (lat, lon))
    for reply in replies:
        if reply.venue is not None:
            assert math.isfinite(reply.venue.latitude) and math.isfinite(reply.venue.longitude)


def test_validator_catches_bad_markup() -> None:
    """The validator itself: it must reject what Telegram would reject or what would inject markup."""
    bad = ["<b>open", "a < b", "fish & chips", "<script>x</script>", "<b><i>x</b></i>", "<a href='javascript:x'>x</a>",
           "<a>x</a>", "<b class=\"x\">x</b>", "&nbsp;", "<br/>", "<!-- x -->"]
    for text in bad:
        assert markup_errors(text), text
    good = ["<b>x</b> &amp; <i>y</i>", "<a href=\"https://x.vn/?a=1&amp;b=2\">x</a>", "&lt;b&gt; &#x27;", "★ mỳ"]
    for text in good:
        assert not markup_errors(text), text


async def test_every_listed_hostile_input(db: Database, settings: Settings) -> None:
    """Each hand-picked hostile text and forged payload, not just the ones hypothesis happens to draw."""
    chat = ChatHarness(db, settings, chat_id="80", user_id="80", display_name="<b>Evil</b> & co")
    for text in HOSTILE_TEXTS:
        assert_sound(await chat.send(text), text)
    for payload in FORGED_PAYLOADS:
        assert_sound(await chat.click(payload), payload)


def test_a_flood_of_clauses_is_read_no_further_than_a_message_is() -> None:
    # The parser splits a message into clauses at punctuation; a megabyte of commas costs what its first
    # thousand characters cost, and no more tokens than any message.
    import json
    from pathlib import Path

    from catalog.search import ProductDoc, SearchIndex
    from catalog.search.model import MAX_QUERY_TOKENS

    demo = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_catalog.json"
    index = SearchIndex(ProductDoc.from_row(r) for r in json.loads(demo.read_text(encoding="utf-8"))["products"])
    parsed = index.parser.parse("mật ong, " * 200_000)
    assert len(parsed.keys) <= MAX_QUERY_TOKENS
    assert max(parsed.clauses) < MAX_QUERY_TOKENS
