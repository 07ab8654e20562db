"""Permanent failures of the staff chat are handled, not hidden: a group upgraded to a supergroup is followed
(and remembered), a chat the bot was removed from is reported loudly and the buyer hears the truth."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.app import check_staff_chat, follow_staff_chat_moves
from bot.channels.telegram import TelegramDeliverer
from bot.config import Settings
from bot.delivery import DeliveryWorker
from catalog.db import Database
from catalog.models import ChatMigration, Lead, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import ChatHarness
from tests.leads.helpers import REF, confirm, fill_form, make_leads

TOKEN = "525252:STAFF-CHAT"
STAFF_CHAT = -1000
SUPERGROUP = -1001234567890
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


async def entries(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_a_staff_group_upgraded_to_a_supergroup_is_followed_and_remembered(
    db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot  # type: ignore[type-arg]
) -> None:
    settings = settings.model_copy(update={"staff_chat_id": STAFF_CHAT})
    refs = await make_leads(db, settings, 3)
    api.fail_next("sendMessage", "400", description="Bad Request: group chat was upgraded to a supergroup chat",
                  parameters={"migrate_to_chat_id": SUPERGROUP})
    worker = DeliveryWorker(db, {"telegram": TelegramDeliverer(bot)}, settings, rng=random.Random(1), **FAST)
    await worker.start()
    try:
        await api.wait_for(lambda: len(api.calls("sendMessage", chat_id=SUPERGROUP)) >= 3, WAIT)
    finally:
        await worker.stop()
    posted = {REF.search(c.text or "").group(0) for c in api.calls("sendMessage", chat_id=SUPERGROUP)}  # type: ignore[union-attr]
    assert posted == set(refs)
    assert all(e.status == "sent" and e.chat_id == str(SUPERGROUP) for e in await entries(db))
    assert settings.staff_chat_id == SUPERGROUP
    async with db.session() as session:
        moves = (await session.scalars(select(ChatMigration))).all()
    assert [(m.old_chat_id, m.new_chat_id) for m in moves] == [(str(STAFF_CHAT), str(SUPERGROUP))]
    # The next start uses the new id even though OCOP_STAFF_CHAT_ID still says the old one.
    restarted = await follow_staff_chat_moves(db, settings.model_copy(update={"staff_chat_id": STAFF_CHAT}))
    assert restarted.staff_chat_id == SUPERGROUP


async def test_a_staff_chat_the_bot_was_removed_from_is_reported_and_the_buyer_told(
    db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings.model_copy(update={"staff_chat_id": STAFF_CHAT})
    api.fail_next("getChat", "403", description="Forbidden: bot was kicked from the group chat")
    problem = await check_staff_chat(bot, settings, db)
    assert "OCOP_STAFF_CHAT_ID" in problem and "kicked" in problem
    assert any(r.levelname == "ERROR" and "staff chat" in r.getMessage() for r in caplog.records)

    await make_leads(db, settings, 1, channel="telegram", first_chat=6100)
    api.fail_next("sendMessage", "403", description="Forbidden: bot was kicked from the group chat")
    worker = DeliveryWorker(db, {"telegram": TelegramDeliverer(bot)}, settings, rng=random.Random(1), **FAST)
    await worker.start()
    try:
        await api.wait_for(lambda: len(api.calls("sendMessage", chat_id=6100)) >= 1, WAIT)
    finally:
        await worker.stop()
    card, notice = await entries(db)
    assert card.status == "failed" and "kicked" in card.last_error
    assert notice.kind == "buyer_notice" and notice.status == "sent"
    told = api.messages_to(6100)[-1]
    assert "not reached the trade department" in told or "chưa đến" in told


async def test_forget_blanks_every_part_of_a_split_card_and_the_delivery_place(
    db: Database, settings: Settings, api: FakeTelegramAPI, bot: ExtBot,  # type: ignore[type-arg]
) -> None:
    settings = settings.model_copy(update={"staff_chat_id": STAFF_CHAT})
    buyer = ChatHarness(db, settings, channel="telegram", chat_id="6200", user_id="6200", language_hint="en",
                        display_name="Jane Smith")
    await fill_form(buyer, "en", name="Jane Smith", place="12 Hàng Bông, Hoàn Kiếm, Hà Nội",
                    email="jane@example.org", notes="&" * 990)  # '&' → '&amp;': a card in several messages
    ref = await confirm(buyer)
    worker = DeliveryWorker(db, {"telegram": TelegramDeliverer(bot)}, settings, rng=random.Random(1), **FAST)
    await worker.start()
    try:
        await api.wait_for(lambda: len(api.bot_messages(STAFF_CHAT)) >= 2, WAIT)
        await api.wait_for(lambda: any(ref in m.get("text", "") for m in api.bot_messages(STAFF_CHAT)), WAIT)
        assert any("Jane" in m.get("text", "") for m in api.bot_messages(STAFF_CHAT)[:-1])  # an early part
        await buyer.send("/forget")
        await buyer.click("enq:forget")
        worker.wake()

        def shown() -> str:
            return "\n".join(m.get("text", "") for m in api.bot_messages(STAFF_CHAT))

        await api.wait_for(lambda: all(w not in shown() for w in ("Jane", "jane@", "0912", "Hàng Bông")), WAIT,
                           message="the buyer's details are still on a card in the staff chat")
    finally:
        await worker.stop()
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None and lead.delivery_place == "" and lead.buyer_name == ""
        stored = " ".join(str(e.payload) for e in (await session.scalars(select(OutboxMessage))).all())
    assert "Hàng Bông" not in stored and "Jane" not in stored


async def test_staff_are_reminded_in_private_once_a_day_per_problem_across_restarts(
    db: Database, settings: Settings, api: FakeTelegramAPI
) -> None:
    """The staff chat the bot was removed from: each staff member gets one private reminder (staff language),
    not again when a card then fails, nor from a restarted or second process the same day; again a day later,
    and at once for another problem (the chat does not exist)."""
    from pydantic import SecretStr
    from sqlalchemy import update

    from bot.app import running_bot
    from catalog.models import ProcessLease, utcnow

    tg = settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url,
                                     "staff_chat_id": STAFF_CHAT})
    kicked = "Forbidden: bot was kicked from the group chat"

    def reminders(user: int) -> list[str]:
        return [t for t in api.messages_to(user) if str(STAFF_CHAT) in t]

    api.fail_next("getChat", "403", description=kicked)
    async with running_bot(tg, channel="telegram", db=db) as running:
        assert running.staff_chat_problem and running.staff_watch is not None
        assert len(reminders(9001)) == len(reminders(9002)) == 1
        text = reminders(9001)[0]
        assert kicked in text and "ocop-bot doctor" in text and "Sở" not in text  # Vietnamese, Telegram's words
        assert "Nhóm" in text or "nhóm" in text
        # A card then fails for good: the watch looks again at once, finds the same problem, says nothing more.
        checks = len(api.failed_calls("getChat"))
        api.fail_next("getChat", "403", description=kicked)
        api.fail_next("sendMessage", "403", description=kicked)
        await make_leads(db, tg, 1, channel="telegram", first_chat=6200)
        assert running.worker is not None
        running.worker.wake()
        await api.wait_for(lambda: len(api.failed_calls("getChat")) > checks and api.calls("sendMessage", chat_id=6200), WAIT)
        assert len(reminders(9001)) == 1

    other = Database(db.url)  # a restart, or another process, the same day
    try:
        api.fail_next("getChat", "403", description=kicked)
        async with running_bot(tg, channel="telegram", db=other) as restarted:
            assert restarted.staff_chat_problem and restarted.staff_watch is not None
            assert len(reminders(9001)) == len(reminders(9002)) == 1
            async with db.session() as session:  # a day later
                await session.execute(update(ProcessLease).where(ProcessLease.name.like("staff-chat-reminder:%"))
                                      .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
            api.fail_next("getChat", "403", description=kicked)
            assert await restarted.staff_watch.check_now()
            assert len(reminders(9001)) == len(reminders(9002)) == 2
            api.fail_next("getChat", "400", description="Bad Request: chat not found")
            assert await restarted.staff_watch.check_now()
            assert len(reminders(9001)) == 3 and "chat not found" in reminders(9001)[-1].lower()
    finally:
        await other.dispose()
