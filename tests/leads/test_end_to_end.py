"""End to end with the real app (`running_bot`) polling the local fake Bot API: a buyer's enquiry becomes a card
in the staff chat, staff claim it, the buyer is told, and `/reply` reaches the buyer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import RunningBot, running_bot
from bot.config import Settings
from catalog.db import Database
from catalog.models import Lead, LeadEvent, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.leads.helpers import REF

TOKEN = "626262:LEADS-E2E"
STAFF_CHAT, STAFF_USER, BUYER = -1000, 9001, 5001
WAIT = 20.0


@pytest.fixture
async def app(settings: Settings, db: Database, api: FakeTelegramAPI) -> AsyncIterator[RunningBot]:
    tg = settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url})
    async with running_bot(tg, channel="telegram", db=db) as running:
        yield running


async def eventually(db: Database, ref: str, ready: Callable[[Lead], bool]) -> Lead:
    """The lead once `ready(lead)` holds (the worker marks a card sent just after Telegram accepted it)."""
    for _ in range(int(WAIT / 0.05)):
        async with db.session() as session:
            lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        if lead is not None and ready(lead):
            return lead
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ref} never became ready")


def last_text(api: FakeTelegramAPI, chat: int) -> str:
    messages = api.messages_to(chat)
    return messages[-1] if messages else ""


async def until(api: FakeTelegramAPI, what: Callable[[], Any], message: str) -> Any:
    return await api.wait_for(what, WAIT, message=message)


async def answer(api: FakeTelegramAPI, text: str, expect: str) -> None:
    """The buyer types `text`; wait for the bot's next question or summary containing `expect`."""
    before = len(api.bot_messages(BUYER))
    api.push_message(BUYER, text, user_id=BUYER, language_code="en", first_name="Jane")
    await until(api, lambda: len(api.bot_messages(BUYER)) > before and expect in last_text(api, BUYER),
                f"after {text!r} expected {expect!r}")


def find_button(api: FakeTelegramAPI, chat: int, prefix: str) -> tuple[int, str]:
    """(message id, payload) of the newest button whose payload starts with `prefix`."""
    for message in reversed(api.bot_messages(chat)):
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                if button.get("callback_data", "").startswith(prefix):
                    return message["message_id"], button["callback_data"]
    raise AssertionError(f"no button {prefix!r} in chat {chat}")


async def tap(api: FakeTelegramAPI, chat: int, prefix: str, expect: str, *, user_id: int = BUYER) -> int:
    """Tap the newest button whose payload starts with `prefix` and wait for a new message containing `expect`."""
    message_id, payload = find_button(api, chat, prefix)
    before = len(api.bot_messages(chat))
    update_id = api.push_callback(chat, message_id, payload, user_id=user_id, language_code="en", first_name="Jane")
    await until(api, lambda: len(api.bot_messages(chat)) > before and expect in last_text(api, chat),
                f"after tapping {prefix!r} expected {expect!r}")
    return update_id


async def test_enquiry_to_staff_chat_claim_notice_and_reply(app: RunningBot, api: FakeTelegramAPI,
                                                            db: Database) -> None:
    await answer(api, "I want to place a bulk order", "question 1 of 10")
    await answer(api, "honey", "Which product do you mean?")
    await tap(api, BUYER, "enq:p:", "Type another product")
    await tap(api, BUYER, "enq:next", "question 2 of 10")
    await answer(api, "300 cartons", "question 3 of 10")
    await answer(api, "Hanoi, Long Bien market", "question 4 of 10")
    await tap(api, BUYER, "enq:tf:asap", "question 5 of 10")
    await answer(api, "Jane <Smith> & Co", "question 6 of 10")
    await tap(api, BUYER, "enq:skip", "question 7 of 10")
    keyboard = await until(api, lambda: api.reply_keyboard(BUYER), "the share-contact keyboard")
    assert keyboard["keyboard"][0][0].get("request_contact") is True
    before = len(api.bot_messages(BUYER))
    api.push_contact(BUYER, "+84912345678", "Jane", user_id=BUYER, language_code="en")
    await until(api, lambda: len(api.bot_messages(BUYER)) > before and "question 8 of 10" in last_text(api, BUYER),
                "phone shared")
    assert api.reply_keyboard(BUYER) is None, "the share-contact keyboard was removed"
    await tap(api, BUYER, "enq:skip", "question 9 of 10")
    await answer(api, "Packed in 10 kg boxes", "question 10 of 10")
    await tap(api, BUYER, "enq:consent:yes", "Please check your enquiry")
    await tap(api, BUYER, "enq:confirm", "BG-")
    ref = REF.search(last_text(api, BUYER)).group(0)  # type: ignore[union-attr]

    card = await until(api, lambda: next((m for m in api.bot_messages(STAFF_CHAT) if ref in m.get("text", "")), None),
                       "the lead card reached the staff chat")
    assert "Jane <Smith> & Co" in card["text"] and "+84 912 345 678" in card["text"]
    assert "Yêu cầu mua sỉ" in card["text"], "in the staff language"
    buttons = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [f"lead:{a}:{ref}" for a in ("claim", "contacted", "won", "lost", "spam")]
    lead = await eventually(db, ref, lambda found: found.staff_message_id is not None)
    assert lead.staff_message_id == card["message_id"], "the staff message id is recorded"

    # Someone who is not staff taps Won in the staff group: refused, nothing changes.
    refused = api.push_callback(STAFF_CHAT, card["message_id"], f"lead:won:{ref}", user_id=4444)
    await until(api, lambda: api.callback_answer(refused) is not None, "the tap was answered")
    assert "chỉ cán bộ" in (api.callback_answer(refused) or {}).get("text", "")
    assert api.message(STAFF_CHAT, card["message_id"])["text"] == card["text"]

    claimed = api.push_callback(STAFF_CHAT, card["message_id"], f"lead:claim:{ref}", user_id=STAFF_USER,
                                first_name="Mai")
    await until(api, lambda: "đã nhận xử lý" in api.message(STAFF_CHAT, card["message_id"])["text"],
                "the card shows the claim")
    answer_text = await until(api, lambda: (api.callback_answer(claimed) or {}).get("text"), "the tap was answered")
    assert ref in answer_text
    edited = api.message(STAFF_CHAT, card["message_id"])
    assert "Mai" in edited["text"]
    assert [b["callback_data"] for row in edited["reply_markup"]["inline_keyboard"] for b in row] == [
        f"lead:{a}:{ref}" for a in ("contacted", "won", "lost", "spam")]
    await until(api, lambda: "taken up your wholesale enquiry" in last_text(api, BUYER), "the buyer was told")

    api.push_message(STAFF_CHAT, f"/reply {ref} Hello Jane, we can deliver in June.", user_id=STAFF_USER,
                     first_name="Mai")
    await until(api, lambda: "Hello Jane, we can deliver in June." in last_text(api, BUYER), "the reply arrived")
    assert "Message from the trade department's staff" in last_text(api, BUYER)
    await until(api, lambda: ref in last_text(api, STAFF_CHAT), "staff saw the confirmation")

    api.push_callback(STAFF_CHAT, card["message_id"], f"lead:won:{ref}", user_id=STAFF_USER, first_name="Mai")
    await until(api, lambda: "has been closed" in last_text(api, BUYER), "the buyer heard it was closed")
    async with db.session() as session:
        events = [(e.action, e.actor_id) for e in (await session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id))).all()]
    assert events == [("created", str(BUYER)), ("claim", str(STAFF_USER)), ("reply", str(STAFF_USER)),
                      ("won", str(STAFF_USER))]
    for _ in range(int(WAIT / 0.05)):  # the last message was posted; its sent mark commits a moment later
        async with db.session() as session:
            unsent = (await session.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent"))).all()
        if not unsent:
            break
        await asyncio.sleep(0.05)
    assert not unsent, "everything queued was delivered and recorded"
    texts = [m for m in api.messages_to(STAFF_CHAT) if ref in m]
    assert len([m for m in texts if "Yêu cầu mua sỉ" in m]) == 1, "one card, edited in place"


async def test_forget_edits_the_card_in_the_staff_chat(app: RunningBot, api: FakeTelegramAPI) -> None:
    await answer(api, "wholesale", "question 1 of 10")
    await answer(api, "Qzxv frobnicator", "not in our catalogue")  # kept as the buyer wrote it
    await tap(api, BUYER, "enq:next", "question 2 of 10")
    for text, expect in (("2 tonnes", "3 of 10"), ("Hai Phong", "4 of 10"), ("next month", "5 of 10"),
                         ("Jane Smith", "6 of 10"), ("Fresh Ltd", "7 of 10"), ("+44 20 7946 0958", "8 of 10"),
                         ("jane@example.com", "9 of 10"), ("no", "10 of 10"), ("yes", "Please check")):
        await answer(api, text, expect)
    await tap(api, BUYER, "enq:confirm", "BG-")
    ref = REF.search(last_text(api, BUYER)).group(0)  # type: ignore[union-attr]
    card = await until(api, lambda: next((m for m in api.bot_messages(STAFF_CHAT) if ref in m.get("text", "")), None),
                       "the lead card reached the staff chat")
    assert "Jane Smith" in card["text"]
    await answer(api, "/forget", "Erase them?")  # asked first: erasing cannot be undone
    await tap(api, BUYER, "enq:forget", "erased")
    await until(api, lambda: "xoá theo yêu cầu" in api.message(STAFF_CHAT, card["message_id"])["text"],
                "the card in the staff chat was edited")
    now = api.message(STAFF_CHAT, card["message_id"])["text"]
    assert "Jane Smith" not in now and "7946" not in now and "jane@example.com" not in now and ref in now
