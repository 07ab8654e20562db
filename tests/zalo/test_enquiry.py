"""A bulk enquiry started on Zalo reaches the Telegram staff chat, and staff answers reach the buyer on Zalo.

The whole program as `ocop-bot run` starts it (both channels and the delivery worker in one process),
against the fake Zalo and the fake Telegram Bot API servers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import RunningBot, running_bot
from bot.channels.zalo import PAYLOAD_PREFIX
from bot.config import Settings
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import Lead, OutboxMessage
from handlers.messages import Reply, reply_to_json
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI, SentMessage
from tests.zalo.conftest import zalo_settings_for

TOKEN = "424242:OCOP-ZALO-TEST"
BUYER = "246845883529197922"
STAFF_CHAT = -1000
STAFF_USER = 9001
WAIT = 20.0


@pytest.fixture
def telegram(api: FakeTelegramAPI) -> FakeTelegramAPI:
    """The Telegram side of the deployment: the staff chat lives there."""
    return api


@pytest.fixture
async def bot(settings: Settings, db: Database, zalo: FakeZaloAPI,
              telegram: FakeTelegramAPI) -> AsyncIterator[RunningBot]:
    both = zalo_settings_for(settings, zalo, telegram_token=TOKEN, telegram_base_url=telegram.base_url)
    async with running_bot(both, db=db) as running:
        assert running.channels == ["telegram", "zalo"]
        zalo.webhook_url = f"http://127.0.0.1:{running.zalo.port}{both.zalo_webhook_path}"
        yield running


async def act(bot: RunningBot, zalo: FakeZaloAPI, action: str, *args: Any) -> list[SentMessage]:
    """One step of the buyer on Zalo; the bot's answers to it."""
    before = len(zalo.messages_to(BUYER))
    pushed = await getattr(zalo, action)(BUYER, *args)
    assert pushed.response == {"status": "ok"}, pushed.response
    await bot.zalo.drain()
    return zalo.messages_to(BUYER)[before:]


async def tap(bot: RunningBot, zalo: FakeZaloAPI, payload: str) -> list[SentMessage]:
    """Tap the button carrying `payload` among those the buyer was last shown."""
    shown = [b for m in zalo.messages_to(BUYER) for b in m.buttons]
    button = next((b for b in reversed(shown) if b["payload"] == PAYLOAD_PREFIX + payload), None)
    assert button is not None, f"no {payload} button in {[b['payload'] for b in shown]}"
    return await act(bot, zalo, "tap", button)


def callback_data(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


async def test_a_zalo_enquiry_reaches_telegram_staff_and_their_answers_reach_the_buyer(
    bot: RunningBot, db: Database, zalo: FakeZaloAPI, telegram: FakeTelegramAPI
) -> None:
    zalo.add_user(BUYER, "Nguyễn Thị Lan")
    welcome = await act(bot, zalo, "follow")
    assert any(b["payload"] == PAYLOAD_PREFIX + "enq:start" for m in welcome for b in m.buttons)
    await tap(bot, zalo, "enq:start")
    await act(bot, zalo, "send_text", "mỳ chũ")
    await tap(bot, zalo, "enq:p:my-gao-chu-xuan-truong")
    await tap(bot, zalo, "enq:next")
    await act(bot, zalo, "send_text", "500 kg")
    await act(bot, zalo, "send_text", "Hà Nội")
    await tap(bot, zalo, "enq:tf:within_month")
    await act(bot, zalo, "send_text", "Nguyễn Thị Lan")
    phone_question = await act(bot, zalo, "send_text", "Cửa hàng Lan")
    # Telegram's "share my phone number" button becomes Zalo's request-user-info form…
    form = [m for m in phone_question if m.template_type == "request_user_info"]
    assert len(form) == 1
    # …and the buyer's answer arrives as a user_submit_info event.
    await act(bot, zalo, "submit_info", "84912345678", "Nguyễn Thị Lan")
    await tap(bot, zalo, "enq:skip")  # e-mail
    await tap(bot, zalo, "enq:skip")  # notes
    summary = await tap(bot, zalo, "enq:consent:yes")
    assert "+84 912 345 678" in "\n".join(m.text for m in summary)
    await tap(bot, zalo, "enq:confirm")

    async with db.session() as session:
        lead = await session.scalar(select(Lead))
    assert lead is not None and (lead.channel, lead.chat_id, lead.user_id) == ("zalo", BUYER, BUYER)
    assert lead.phone and lead.products

    # The card reaches the staff chat on Telegram, saying the buyer is on Zalo.
    await telegram.wait_for_messages(STAFF_CHAT, 1, timeout=WAIT)
    card = telegram.bot_messages(STAFF_CHAT)[-1]
    assert "Zalo" in card["text"] and lead.ref in card["text"]
    claim = next(d for d in callback_data(card) if d.startswith("lead:claim:"))

    # A staff member claims it: the buyer hears on Zalo.
    heard = len(zalo.messages_to(BUYER))
    telegram.push_callback(STAFF_CHAT, card["message_id"], claim, user_id=STAFF_USER, first_name="Hùng")
    notice = await zalo.wait_for_messages(BUYER, heard + 1, within=WAIT)
    assert lead.ref in notice[-1].text

    # A staff reply goes to the buyer on Zalo too, as plain text.
    telegram.push_message(STAFF_CHAT, f"/reply {lead.ref} Chào chị Lan, em sẽ gọi chị chiều nay ạ.",
                          user_id=STAFF_USER, first_name="Hùng")
    replies = await zalo.wait_for_messages(BUYER, heard + 2, within=WAIT)
    assert "Chào chị Lan, em sẽ gọi chị chiều nay ạ." in replies[-1].text

    await bot.worker.stop()  # the last send is recorded before we look
    async with db.session() as session:
        zalo_rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "zalo")))
    assert len(zalo_rows) == 2 and all(r.status == "sent" and r.chat_id == BUYER for r in zalo_rows)


async def test_a_notice_to_a_buyer_outside_the_window_fails_without_retrying(
    bot: RunningBot, db: Database, zalo: FakeZaloAPI
) -> None:
    zalo.add_user(BUYER, "Khách cũ", days_since_interaction=8)
    async with db.session() as session:
        lead_book.enqueue(session, kind=lead_book.KIND_BUYER_NOTICE, channel="zalo", chat_id=BUYER,
                          payload=reply_to_json(Reply("Cảm ơn bạn")), notify=bot.services.on_outbox)

    await zalo.wait_for(lambda: zalo.rejected, within=WAIT)
    await bot.worker.stop()  # lets the send in flight finish and be recorded
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None
    assert row.status == "failed" and row.attempts == 1 and "-230" in row.last_error
    assert zalo.sent == [] and [code for _, code, _ in zalo.rejected] == [-230]
