"""Routing to a forum topic: a rule's topic (Telegram message_thread_id) takes the lead's card, its edits and the
staff messages about the lead; a deleted topic sends them to the group's general topic instead of losing them.
Through the real PTB bot and the local fake Bot API, which records each message's topic."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from telegram import Message
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.channels.telegram import TelegramDeliverer, in_topic, render_reply
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.web.server import console_app
from catalog import deadlines
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import Lead, OutboxMessage, RoutingRule
from handlers.messages import Reply, reply_to_json
from tests.desk.console_helpers import ALWAYS_OPEN, WEB_SECRET, add_account, csrf_of, sign_in
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import ChatHarness
from tests.leads.helpers import confirm, fill_form

TOKEN = "717171:TOPICS"
FORUM, TOPIC = -1001700000001, 42
FAST = {"poll_interval": 0.2, "base_delay": 0.02, "max_delay": 0.2, "send_timeout": 10.0, "lease_seconds": 30.0}
WAIT = 30.0


@pytest.fixture
async def bot(api: FakeTelegramAPI) -> AsyncIterator[ExtBot]:  # type: ignore[type-arg]
    bot = ExtBot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url,
                 defaults=Defaults(parse_mode=ParseMode.HTML),
                 request=HTTPXRequest(connection_pool_size=8, read_timeout=2.0, connect_timeout=1.0))
    await bot.initialize()
    yield bot
    await bot.shutdown()


async def routed_lead(db: Database, settings: Settings, thread: int | None = TOPIC) -> Lead:
    """A buyer's enquiry through the chat core, matched by a rule naming the forum and its topic."""
    async with db.session() as session:
        await deadlines.save_hours(session, ALWAYS_OPEN)
        session.add(RoutingRule(position=1, product_group="food", district="", chat_id=str(FORUM),
                                thread_id=thread, staff_ids=[]))
    buyer = ChatHarness(db, settings, channel="telegram", chat_id="5001", user_id="5001", language_hint="en")
    await fill_form(buyer, "en")
    ref = await confirm(buyer)
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
    assert lead is not None
    return lead


async def deliver_all(db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot, sent: int) -> None:  # type: ignore[type-arg]
    """Run the delivery worker until `sent` outbox entries are sent."""

    async def count() -> int:
        async with db.session() as session:
            return len((await session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == "sent", OutboxMessage.channel == "telegram"))).all())

    worker = DeliveryWorker(db, {"telegram": TelegramDeliverer(bot)}, settings, rng=random.Random(1), **FAST)
    await worker.start()
    try:
        for _ in range(int(WAIT / 0.05)):
            if await count() >= sent:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert await count() >= sent


async def test_the_card_its_edit_and_a_notice_go_to_the_rules_topic(
    db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot  # type: ignore[type-arg]
) -> None:
    api.open_topic(FORUM, TOPIC)
    lead = await routed_lead(db, settings)
    assert (lead.staff_chat_id, lead.staff_thread_id) == (str(FORUM), TOPIC)
    await deliver_all(db, settings, api, bot, 1)
    [card] = api.calls("sendMessage", chat_id=FORUM)
    assert card.params["message_thread_id"] == TOPIC and lead.ref in (card.text or "")
    [posted] = api.bot_messages(FORUM)
    assert posted["message_thread_id"] == TOPIC and posted["is_topic_message"] is True
    async with db.session() as session:
        fresh = await session.get(Lead, lead.id)
        assert fresh is not None and fresh.staff_message_id == posted["message_id"]
        # An edit of the card (as the console queues one) and a notice about the lead (as a reminder is)
        lead_book.enqueue(session, kind=lead_book.KIND_CARD_EDIT, channel="telegram", chat_id=str(FORUM),
                          payload=reply_to_json(Reply(f"{lead.ref} claimed by Mai")), lead_id=lead.id)
        lead_book.enqueue(session, kind=lead_book.KIND_STAFF_NOTICE, channel="telegram", chat_id=str(FORUM),
                          payload=reply_to_json(Reply(f"⏰ {lead.ref} waits")), lead_id=lead.id)
    await deliver_all(db, settings, api, bot, 3)
    assert [m.get("message_thread_id") for m in api.bot_messages(FORUM)] == [TOPIC, TOPIC]
    assert f"{lead.ref} claimed by Mai" in api.messages_to(FORUM)[0]  # edited in place, still in its topic
    [notice] = [c for c in api.calls("sendMessage", chat_id=FORUM) if "waits" in (c.text or "")]
    assert notice.params["message_thread_id"] == TOPIC


async def test_a_deleted_topic_sends_the_card_to_the_general_topic(
    db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.open_topic(FORUM, TOPIC)
    api.delete_topic(FORUM, TOPIC)
    lead = await routed_lead(db, settings)
    await deliver_all(db, settings, api, bot, 1)
    refused = api.failed_calls("sendMessage")
    assert [c.description for c in refused] == ["Bad Request: message thread not found"]
    [posted] = api.bot_messages(FORUM)
    assert lead.ref in posted["text"] and "message_thread_id" not in posted  # the general topic
    assert any("topic 42" in r.getMessage() and "general topic" in r.getMessage() for r in caplog.records)
    async with db.session() as session:
        [entry] = (await session.scalars(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id,
                                                                     OutboxMessage.kind == "lead_card"))).all()
        assert entry.status == "sent" and entry.sent_message_id == str(posted["message_id"])


async def test_without_a_topic_nothing_names_one_and_a_reply_in_a_topic_stays_there(
    db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot  # type: ignore[type-arg]
) -> None:
    lead = await routed_lead(db, settings, thread=None)
    await deliver_all(db, settings, api, bot, 1)
    [card] = api.calls("sendMessage", chat_id=FORUM)
    assert "message_thread_id" not in card.params and lead.staff_thread_id is None
    # A staff member writes in topic 7: the bot's answer goes to topic 7.
    api.open_topic(FORUM, 7)
    message = Message.de_json({"message_id": 99, "date": 0, "chat": {"id": FORUM, "type": "supergroup"},
                               "message_thread_id": 7, "is_topic_message": True, "text": "/leads"}, bot)
    await render_reply(bot, FORUM, in_topic(Reply("the open leads"), message))
    assert api.calls("sendMessage", chat_id=FORUM)[-1].params["message_thread_id"] == 7
    plain = Message.de_json({"message_id": 98, "date": 0, "chat": {"id": FORUM, "type": "supergroup"},
                             "text": "/leads"}, bot)
    assert in_topic(Reply("x"), plain).thread_id is None


async def test_admins_set_a_rules_topic_in_the_console(db: Database, settings: Settings) -> None:
    web = settings.model_copy(update={"web_secret": SecretStr(WEB_SECRET)})
    await add_account(db, "lan", admin=True)
    transport = httpx.ASGITransport(app=console_app(db, web))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test",
                                 headers={"Accept-Language": "en"}) as client:
        await sign_in(client, "lan")
        token = csrf_of((await client.get("/admin/routing")).text)
        form = {"csrf_token": token, "position": "1", "product_group": "food", "chat_id": str(FORUM)}
        bad = await client.post("/admin/routing", data={**form, "thread_id": "-3"})
        assert bad.status_code == 400 and "forum topic id is a positive number" in bad.text
        assert (await client.post("/admin/routing", data={**form, "thread_id": "42"})).status_code == 303
        async with db.session() as session:
            [rule] = (await session.scalars(select(RoutingRule))).all()
        assert rule.thread_id == 42
        page = await client.get("/admin/routing")
        assert 'name="thread_id" inputmode="numeric" value="42"' in page.text
        edited = await client.post("/admin/routing", data={"csrf_token": token, "do": "topic", "id": str(rule.id),
                                                            "thread_id": "43"})
        assert edited.status_code == 303
        async with db.session() as session:
            assert (await session.get(RoutingRule, rule.id)).thread_id == 43  # type: ignore[union-attr]
        await client.post("/admin/routing", data={"csrf_token": token, "do": "topic", "id": str(rule.id),
                                                  "thread_id": ""})
        async with db.session() as session:
            assert (await session.get(RoutingRule, rule.id)).thread_id is None  # type: ignore[union-attr]
        forged = await client.post("/admin/routing", data={"do": "topic", "id": str(rule.id), "thread_id": "9"})
        assert forged.status_code == 403
