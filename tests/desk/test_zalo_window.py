"""Zalo's message windows (2026): a staff reply to a Zalo buyer is delivered (billed) within 7 days of their
last message and refused after (-230); then the lead records it, the staff chat is told with the buyer's
phone, and the console shows "call the buyer" instead of a silent failure. Against the fake Zalo API."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.web.server import console_app
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import LeadEvent, OutboxMessage
from tests.desk.console_helpers import WEB_SECRET, add_account, csrf_of, sign_in
from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.test_client import sender

USER = "246845883529197922"
FAST = {
    "poll_interval": 0.2,
    "base_delay": 0.02,
    "max_delay": 0.2,
    "send_timeout": 10.0,
    "lease_seconds": 30.0,
}


@pytest.fixture
async def desk(db: Database, zalo_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    web = zalo_settings.model_copy(update={"web_secret": SecretStr(WEB_SECRET)})
    transport = httpx.ASGITransport(app=console_app(db, web))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://desk.test", headers={"Accept-Language": "en"}
    ) as client:
        await add_account(db, "mai")
        await sign_in(client, "mai")
        yield client


async def zalo_lead(db: Database) -> str:
    async with db.session() as session:
        lead = await lead_book.create_lead(
            session,
            lead_book.LeadDraft(
                channel="zalo",
                chat_id=USER,
                user_id=USER,
                language="vi",
                products=[{"slug": "", "text": "mật ong"}],
                quantity="500 kg",
                delivery_place="Hà Nội",
                time_frame="asap",
                buyer_name="Chị Lan",
                phone="+84912345678",
            ),
        )
        return str(lead.ref)


async def reply(desk: httpx.AsyncClient, ref: str, text: str) -> None:
    token = csrf_of((await desk.get(f"/leads/{ref}")).text)
    assert (
        await desk.post(f"/leads/{ref}/reply", data={"csrf_token": token, "text": text})
    ).status_code == 303


async def test_a_reply_past_the_seven_day_window_becomes_call_the_buyer(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI, desk: httpx.AsyncClient
) -> None:
    zalo.add_user(USER, "Chị Lan", days_since_interaction=3)
    channel = sender(db, zalo_settings)
    await channel.tokens.load()
    worker = DeliveryWorker(db, {"zalo": channel.deliverer}, zalo_settings, rng=random.Random(1), **FAST)
    try:
        ref = await zalo_lead(db)
        await reply(desk, ref, "Chào chị, bên em có 500 kg.")
        assert await worker.run_once() == 1
        assert (
            "Chào chị, bên em có 500 kg." in zalo.sent[-1].text and zalo.sent[-1].billable
        )  # 48 h–7 d: billed

        zalo.set_last_interaction(USER, days_ago=8)
        await reply(desk, ref, "Chị cần giao khi nào ạ?")
        assert await worker.run_once() == 1
        async with db.session() as session:
            failed = await session.scalar(select(OutboxMessage).where(OutboxMessage.status == "failed"))
            notice = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "staff_notice"))
            events = (await session.scalars(select(LeadEvent).where(LeadEvent.action == "unreachable"))).all()
        assert failed is not None and "-230" in failed.last_error and failed.chat_id == USER
        assert notice is not None and notice.chat_id == "-1000" and notice.status == "pending"
        assert "+84 912 345 678" in notice.payload["text"] and ref in notice.payload["text"]
        assert len(events) == 1 and "-230" in events[0].note
        page = await desk.get(f"/leads/{ref}")
        assert 'id="unreachable"' in page.text and "Call the buyer: +84 912 345 678" in page.text
        assert "could not deliver a message to the buyer" in page.text
    finally:
        await worker.stop()
        await channel.stop()
