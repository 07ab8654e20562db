"""Shared steps for the wholesale-enquiry tests: filling the form through the chat core, making leads fast."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from bot.config import Settings
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import Lead, LeadEvent, OutboxMessage
from handlers.messages import Reply, reply_to_json
from handlers.staff import card_reply
from locales import translator
from tests.harness import ChatHarness

REF = re.compile(r"BG-\d{4}-\d{6}")
ANSWERS = {
    "vi": {"product": "vải thiều", "quantity": "1,5 tấn", "place": "Chợ Long Biên, Hà Nội", "name": "Nguyễn Văn An",
           "organisation": "Công ty TNHH Rau Quả Sạch", "phone": "0912 345 678", "email": "an@example.vn",
           "notes": "Đóng thùng 10 kg"},
    "en": {"product": "lychee", "quantity": "2 tonnes", "place": "Hai Phong port", "name": "Jane Smith",
           "organisation": "Fresh Imports Ltd", "phone": "+44 20 7946 0958", "email": "jane@example.com",
           "notes": "Export to the UK"},
}


def payloads(replies: list[Reply], prefix: str = "") -> list[str]:
    return [p for p in ChatHarness.payloads(replies) if p.startswith(prefix)]


async def pick_first_product(chat: ChatHarness, replies: list[Reply]) -> list[Reply]:
    """Tap the first catalogue match offered, then Continue."""
    choices = payloads(replies, "enq:p:")
    assert choices, ChatHarness.text(replies)
    await chat.click(choices[0])
    return await chat.click("enq:next")


async def fill_form(chat: ChatHarness, lang: str = "vi", **override: str | None) -> list[Reply]:
    """Answer every question (optional ones too unless overridden with None) and return the summary."""
    answers: dict[str, Any] = {**ANSWERS[lang], **override}
    await chat.click("enq:start")
    replies = await chat.send(answers["product"])
    await pick_first_product(chat, replies)
    await chat.send(answers["quantity"])
    await chat.send(answers["place"])
    await chat.click("enq:tf:within_month")
    await chat.send(answers["name"])
    for step in ("organisation", "phone", "email", "notes"):
        if answers.get(step) is None:
            await chat.click("enq:skip")
        else:
            await chat.send(answers[step])
    return await chat.click("enq:consent:yes")


async def confirm(chat: ChatHarness) -> str:
    """Confirm the summary; a repeat of the buyer's enquiry of the last 24 hours is sent again on purpose
    (test_form.py::test_a_repeated_enquiry_is_asked_about_first checks that question itself)."""
    replies = await chat.click("enq:confirm")
    if "enq:confirm:again" in ChatHarness.payloads(replies):
        replies = await chat.click("enq:confirm:again")
    found = REF.search(ChatHarness.text(replies))
    assert found, ChatHarness.text(replies)
    return found.group(0)


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a staff action could change: lead rows, events and outbox entries."""
    async with db.session() as session:
        leads = [(x.ref, x.status, x.claimed_by, x.buyer_name, x.phone, x.anonymised_at, x.staff_message_id)
                 for x in (await session.scalars(select(Lead).order_by(Lead.id))).all()]
        events = [(e.lead_id, e.action, e.to_status) for e in (await session.scalars(select(LeadEvent))).all()]
        outbox = [(o.id, o.kind, o.status, o.chat_id) for o in (await session.scalars(select(OutboxMessage))).all()]
    return leads, events, outbox


async def make_leads(db: Database, settings: Settings, n: int, *, channel: str = "test",
                     first_chat: int = 5000) -> list[str]:
    """`n` leads with their staff-card outbox entries, made the way the form's confirm makes them."""
    refs = []
    staff_t = translator(settings.staff_language)
    for i in range(n):
        async with db.session() as session:
            lead = await lead_book.create_lead(session, lead_book.LeadDraft(
                channel=channel, chat_id=str(first_chat + i), user_id=str(first_chat + i), language="vi",
                products=[{"slug": "", "text": f"hàng số {i} <&>"}], quantity="2 tonne",
                delivery_place="Hà Nội", time_frame="asap", buyer_name=f"Người mua {i}", phone="+84912345678",
            ))
            lead_book.enqueue(session, kind=lead_book.KIND_LEAD_CARD, channel="telegram",
                              chat_id=str(settings.staff_chat_id), payload=reply_to_json(card_reply(lead, staff_t)),
                              lead_id=lead.id)
            refs.append(lead.ref)
    return refs
