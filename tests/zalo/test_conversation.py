"""Whole conversations on Zalo: signed events in through the real webhook, the real handlers, replies out."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.zalo import MAX_BUTTONS, PAYLOAD_PREFIX, ZaloChannel
from catalog.db import Database
from catalog.models import Product, Store
from tests.fakes.zalo_api import FakeZaloAPI, SentMessage

USER = "246845883529197922"


async def say(zalo: FakeZaloAPI, channel: ZaloChannel, action: str, *args: object) -> list[SentMessage]:
    """Do one thing as the user and return the messages the bot sent back for it."""
    before = len(zalo.messages_to(USER))
    pushed = await getattr(zalo, action)(USER, *args)
    assert pushed.status_code == 200 and pushed.response == {"status": "ok"}, pushed.response
    await channel.drain()
    return zalo.messages_to(USER)[before:]


def all_text(messages: list[SentMessage]) -> str:
    return "\n".join(m.text for m in messages)


def all_buttons(messages: list[SentMessage]) -> list[dict[str, object]]:
    return [b for m in messages for b in m.buttons]


async def test_a_search_conversation_in_vietnamese(
    db: Database, zalo: FakeZaloAPI, channel: ZaloChannel
) -> None:
    welcome = await say(zalo, channel, "follow")
    assert welcome, "following the OA gets a welcome"
    menu = all_buttons(welcome)
    assert menu and all(b["type"] == "oa.query.hide" for b in menu)
    assert all(str(b["payload"]).startswith(PAYLOAD_PREFIX) for b in menu)

    found = await say(zalo, channel, "send_text", "cho mình hỏi mỳ chũ")
    text = all_text(found)
    assert "Mỳ gạo Chũ Xuân Trường" in text and "Mình tìm thấy" in text  # answered in Vietnamese
    assert "<b>" not in text and "&" not in text.replace("&query", "")  # plain text, no HTML left
    buttons = all_buttons(found)
    assert all(len(m.buttons) <= MAX_BUTTONS for m in found)
    assert all(b["type"] == "oa.query.hide" for b in buttons)
    products = [b for b in buttons if str(b["payload"]).startswith(PAYLOAD_PREFIX + "p:")]
    assert len(products) >= 3

    # Tapping a product button: Zalo sends the hidden payload back as the user's text.
    chosen = next(b for b in products if "Xuân Trường" in str(b["title"]))
    card = await say(zalo, channel, "tap", chosen)
    async with db.session() as session:
        slug = str(chosen["payload"]).removeprefix(PAYLOAD_PREFIX + "p:")
        product = await session.scalar(select(Product).where(Product.slug == slug))
    assert product is not None
    card_text = all_text(card)
    assert product.name_vi in card_text and (product.producer is None or product.producer.name in card_text)
    assert any(str(b["payload"]) == f"{PAYLOAD_PREFIX}where:{slug}" for b in all_buttons(card))

    # Typing a number picks from the list just shown, as on Telegram.
    first_title = str(products[0]["title"]).split(". ", 1)[1]
    assert first_title not in card_text
    first = await say(zalo, channel, "send_text", "1")
    assert all_text(first).startswith(first_title)


async def test_a_shared_location_lists_the_nearest_stores(
    db: Database, zalo: FakeZaloAPI, channel: ZaloChannel
) -> None:
    await say(zalo, channel, "send_text", "xin chào")
    nearest = await say(zalo, channel, "share_location", 21.2731, 106.1946)  # Bắc Giang city centre
    async with db.session() as session:
        names = list(await session.scalars(select(Store.name)))
    text = all_text(nearest)
    assert sum(name in text for name in names) >= 2
    assert "https://www.google.com/maps" in text


async def test_the_menu_buttons_work_as_taps(zalo: FakeZaloAPI, channel: ZaloChannel) -> None:
    welcome = await say(zalo, channel, "follow")
    where = next(b for b in all_buttons(welcome) if str(b["payload"]) == PAYLOAD_PREFIX + "m:where")
    stores = await say(zalo, channel, "tap", where)
    assert stores and all_text(stores).strip()
    assert all_text(stores) != all_text(welcome)


async def test_a_user_writing_faster_than_a_person_is_told_once_and_still_answered_in_full(
    zalo: FakeZaloAPI, channel: ZaloChannel
) -> None:
    """25 messages in a burst (more than 20 in 10 s): one notice, in Vietnamese, after the first 20 answers;
    then every message is still answered."""
    from locales import translator

    channel.processor.flood_pace = 0.02  # the pace is a setting (1 s); what is checked is the behaviour
    notice = translator("vi")._("You are sending messages faster than I can read them. I will answer every one, "
                                "in order, but more slowly: about one a second.")
    for _ in range(25):
        pushed = await zalo.send_text(USER, "cảm ơn")
        assert pushed.status_code == 200 and pushed.response == {"status": "ok"}, pushed.response
    await zalo.wait_for(lambda: len(zalo.texts_to(USER)) >= 26, within=60)
    await channel.drain()
    texts = zalo.texts_to(USER)
    assert texts.count(notice) == 1 and texts.index(notice) >= 20
    assert len(texts) == 26
