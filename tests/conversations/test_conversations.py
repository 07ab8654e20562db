"""Runs the conversation scripts (tests/conversations/scripts.py) through the real router on a real database."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.config import Settings
from catalog.db import Database
from handlers.messages import Reply, to_plain
from locales import translator
from tests.conversations.markup import reply_errors
from tests.conversations.scripts import SCRIPTS
from tests.harness import ChatHarness

GENERIC_ERROR = "Sorry, something went wrong on our side. Please try again in a moment."
ERROR_TEXTS = {translator(lang)._(GENERIC_ERROR) for lang in ("vi", "en")}
_NUMBERED = re.compile(r"^(\d+)\. ")


def numbered_items(replies: list[Reply]) -> list[str]:
    """Slugs of the numbered list buttons ("2. Mỳ gạo…" → its slug), in order, or [] if no list was shown."""
    items: list[tuple[int, str]] = []
    for reply in replies:
        for row in reply.buttons:
            for button in row:
                match = _NUMBERED.match(button.label)
                if match and ":" in button.payload:
                    items.append((int(match.group(1)), button.payload.split(":", 1)[1]))
    return [slug for _, slug in sorted(items)]


async def run_step(chat: ChatHarness, step: dict[str, Any]) -> list[Reply]:
    if "send" in step:
        return await chat.send(step["send"])
    if "click" in step:
        return await chat.click(step["click"])
    if "location" in step:
        lat, lon = step["location"]
        return await chat.share_location(lat, lon)
    raise AssertionError(f"step does nothing: {step}")


def check_step(step: dict[str, Any], replies: list[Reply], last_list: list[str]) -> None:
    where = f"step {step}"
    assert replies, f"no reply to {where}"
    text = ChatHarness.text(replies)
    payloads = ChatHarness.payloads(replies)
    assert not any(e in text for e in ERROR_TEXTS), f"generic error for {where}:\n{text}"
    assert not reply_errors(replies), f"{reply_errors(replies)} for {where}"
    for wanted in step.get("expect_contains", []):
        assert wanted in text, f"{wanted!r} missing for {where}:\n{text}"
    for unwanted in step.get("expect_not", []):
        assert unwanted not in text and unwanted not in payloads, f"{unwanted!r} present for {where}:\n{text}"
    for payload in step.get("expect_payloads", []):
        assert payload in payloads, f"button {payload!r} missing for {where}: {payloads}"
    for prefix in step.get("expect_prefixes", []):
        assert any(p.startswith(prefix) for p in payloads), f"no {prefix!r} button for {where}: {payloads}"
    at = 0
    for wanted in step.get("expect_order", []):  # substrings that must appear in this order
        found = text.find(wanted, at)
        assert found >= 0, f"{wanted!r} missing or out of order for {where}:\n{text}"
        at = found + len(wanted)
    if "expect_max_lines" in step:
        lines = to_plain(replies[0].text).splitlines()
        assert len(lines) <= step["expect_max_lines"], f"{len(lines)} lines for {where}:\n{text}"
    urls = [b.url for r in replies for row in r.buttons for b in row if b.url]
    for wanted in step.get("expect_urls", []):
        assert any(wanted in u for u in urls), f"no URL button with {wanted!r} for {where}: {urls}"
    for unwanted in step.get("expect_no_urls", []):  # URL buttons that must not be offered (exactly)
        assert unwanted not in urls, f"URL button {unwanted!r} for {where}: {urls}"
    labels = [b.label for r in replies for row in r.buttons for b in row]
    for wanted in step.get("expect_labels", []):
        assert any(wanted in label for label in labels), f"no button labelled {wanted!r} for {where}: {labels}"
    if "expect_edit" in step:
        assert replies[0].edit is step["expect_edit"], f"edit flag for {where}"
    if step.get("expect_keyboard") == "location":
        kinds = [b.kind for r in replies for row in r.keyboard for b in row]
        assert "location" in kinds, f"no location-request button for {where}"
    if "expect_venue" in step:
        venues = [r.venue for r in replies if r.venue is not None]
        assert bool(venues) is step["expect_venue"], f"venues {venues} for {where}"
    if "expect_pick" in step:
        n = step["expect_pick"]
        assert last_list, f"no numbered list before {where}"
        slug = last_list[-1] if n == -1 else last_list[n - 1]
        assert f"where:{slug}" in payloads and f"more:{slug}" in payloads, (
            f"expected the card of {slug} for {where}, got {payloads}"
        )


@pytest.mark.parametrize("script", SCRIPTS, ids=[s["name"] for s in SCRIPTS])
async def test_conversation(script: dict[str, Any], db: Database, settings: Settings) -> None:
    chat = ChatHarness(db, settings, language_hint=script.get("language_hint"))
    last_list: list[str] = []
    for step in script["steps"]:
        if step.get("restart"):
            chat.restart()
            continue
        replies = await run_step(chat, step)
        check_step(step, replies, last_list)
        last_list = numbered_items(replies) or last_list


async def test_users_do_not_share_state(db: Database, settings: Settings) -> None:
    """One user's list and language are not another's: "số 2" from a new user has nothing to pick from."""
    alice = ChatHarness(db, settings, chat_id="201", user_id="201", language_hint="vi")
    await alice.send("mật ong")
    await alice.send("English please")
    bob = alice.as_user("202", language_hint="vi")
    replies = await bob.send("số 2")
    assert "Chưa có danh sách nào để chọn" in ChatHarness.text(replies)


def test_every_script_step_has_a_check() -> None:
    """A step that only acts (and is not a restart) must still assert something about the reply."""
    checks = {"expect_contains", "expect_not", "expect_payloads", "expect_prefixes", "expect_edit",
              "expect_keyboard", "expect_venue", "expect_pick", "expect_order", "expect_max_lines", "expect_urls",
              "expect_no_urls", "expect_labels"}
    for script in SCRIPTS:
        for step in script["steps"]:
            if step.get("restart"):
                continue
            assert checks & set(step), f"{script['name']}: step {step} checks nothing"


async def test_a_store_with_real_coordinates_gets_an_exact_distance_and_a_map_point(
    db: Database, settings: Settings
) -> None:
    """The demo has no store coordinates; once the catalogue has some, they are used (and only then a Venue)."""
    from sqlalchemy import select

    from catalog.models import Store

    async with db.session() as session:
        store = await session.scalar(select(Store).where(Store.slug == "cua-hang-ocop-huyen-hiep-hoa"))
        assert store is not None and store.latitude is None
        store.latitude, store.longitude = 21.3512, 105.9731
    chat = ChatHarness(db, settings, language_hint="vi")
    replies = await chat.share_location(21.35, 105.97)
    check_step({"location": [21.35, 105.97]}, replies, [])
    lines = ChatHarness.text(replies).splitlines()
    first = next(line for line in lines if line.startswith("1. "))
    assert first.startswith("1. Cửa hàng OCOP huyện Hiệp Hòa — 0,3 km") and "ước tính" not in first
    assert "https://www.google.com/maps/search/?api=1&query=21.351200%2C105.973100" in ChatHarness.text(replies)
    second = next(line for line in lines if line.startswith("2. "))
    assert "ước tính" in second  # the others are still ranked by their town centre
    venues = [r.venue for r in replies if r.venue is not None]
    assert [(v.latitude, v.longitude, v.title) for v in venues] == [(21.3512, 105.9731, "Cửa hàng OCOP huyện Hiệp Hòa")]


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_long_store_list_stops_at_twelve_lines_behind_a_more_button(
    db: Database, settings: Settings, lang: str
) -> None:
    """Twenty more stores: the answer keeps to 12 lines, the rest follow in their ranked order on "More"."""
    from catalog.models import Store

    async with db.session() as session:
        for n in range(20):
            session.add(Store(slug=f"test-store-{n:02d}", name=f"Test store {n:02d}", kind="ocop_store",
                              address=f"số {n + 1} đường Test" if n % 2 else "", district="Yên Dũng",
                              province="Bắc Giang", latitude=None, longitude=None))
    chat = ChatHarness(db, settings, language_hint=lang)
    replies = await chat.send("cửa hàng OCOP gần Lê Lợi")
    check_step({"send": "…", "expect_max_lines": 12,
                "expect_order": ["số 454 đường Lê Lợi", "Test store 01"]}, replies, [])
    assert "ws:0" in ChatHarness.payloads(replies)
    first = ChatHarness.text(replies)
    seen: list[str] = [line for line in first.splitlines() if line.startswith("• ")]
    page = 0
    while f"ws:{page}" in ChatHarness.payloads(replies):
        replies = await chat.click(f"ws:{page}")
        check_step({"click": "…", "expect_max_lines": 12}, replies, [])
        seen += [line for line in ChatHarness.text(replies).splitlines() if line.startswith("• ")]
        page += 1
    names = [line.split(" · ")[0] for line in seen]
    assert len(names) == len(set(names)) == 26, "every store once, none repeated or lost"
    no_address = [i for i, line in enumerate(seen) if "📍 " + ("chưa có địa chỉ" if lang == "vi"
                                                                 else "address not listed") in line]
    assert no_address == list(range(len(seen) - len(no_address), len(seen))), "stores without an address last"


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_long_nearest_list_stops_at_twelve_lines_behind_a_more_button(
    db: Database, settings: Settings, lang: str
) -> None:
    """Twenty more stores with a known district: the nearest answer keeps to 12 lines, nearest first, and the rest
    follow in the same order on "More stores", each store once, the ones with no known position last."""
    from catalog.models import Store

    districts = ["Lục Ngạn", "Yên Dũng", "Hiệp Hòa", "Việt Yên"]
    async with db.session() as session:
        for n in range(20):
            session.add(Store(slug=f"near-store-{n:02d}", name=f"Near store {n:02d}", kind="ocop_store",
                              address=f"số {n + 1} đường Test", district=districts[n % 4],
                              province="Bắc Giang", latitude=None, longitude=None))
    chat = ChatHarness(db, settings, language_hint=lang)
    replies = await chat.share_location(21.37, 106.57)  # near Lục Ngạn
    check_step({"location": "…", "expect_max_lines": 12, "expect_order": ["1. ", "Near store 00", "2. "]},
               replies, [])
    assert "ws:0" in ChatHarness.payloads(replies)
    lines = ChatHarness.text(replies).splitlines()
    seen = [line.split(" — ")[0].split(". ", 1)[1] for line in lines if line[:1].isdigit()]
    page = 0
    while f"ws:{page}" in ChatHarness.payloads(replies):
        replies = await chat.click(f"ws:{page}")
        check_step({"click": "…", "expect_max_lines": 12}, replies, [])
        seen += [line[2:].split(" · ")[0] for line in ChatHarness.text(replies).splitlines() if line.startswith("• ")]
        page += 1
    assert len(seen) == len(set(seen)) == 26, "every store once, none repeated or lost"
    assert seen[:5] == ["Near store 00", "Near store 04", "Near store 08", "Near store 12", "Near store 16"]
    assert seen[-1].startswith("Điểm trưng bày, giới thiệu"), "the store with no known position last"


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_description_shown_in_another_language_says_so(db: Database, settings: Settings, lang: str) -> None:
    """Without an English description, English readers get the Vietnamese one, marked as Vietnamese."""
    from sqlalchemy import select

    from catalog.models import Product

    async with db.session() as session:
        product = await session.scalar(select(Product).where(Product.slug == "vai-thieu-hong-xuan"))
        assert product is not None
        product.description_en = ""
    chat = ChatHarness(db, settings, language_hint=lang)
    replies = await chat.click("p:vai-thieu-hong-xuan")
    text = ChatHarness.text(replies)
    assert "Vải thiều Lục Ngạn tươi của HTX Hồng Xuân" in text
    assert ("(in Vietnamese)" in text) is (lang == "en") and "(bằng tiếng Việt)" not in text
