"""Deadline alerts: one reminder per missed deadline in the staff chat, then one escalation to the admins —
exactly one each, across repeated runs, a restart and two processes at once."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.config import Settings
from bot.deadline_watch import KIND_DEADLINE_ALERT, DeadlineWatcher
from catalog import deadlines
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import Lead, OutboxMessage
from tests.desk.console_helpers import add_account
from tests.leads.helpers import make_leads

HOURS = deadlines.BusinessHours(
    days=[1, 2, 3, 4, 5, 6, 7],
    opens="00:00",
    closes="24:00",
    public_holidays=False,
    claim_hours=2,
    reply_hours=8,
    escalate_hours=4,
)


async def alerts(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == KIND_DEADLINE_ALERT)
                .order_by(OutboxMessage.id)
            )
        ).all()
        return [(row.chat_id, row.payload["text"]) for row in rows]


async def test_each_deadline_gets_one_reminder_then_one_escalation(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        await deadlines.save_hours(session, HOURS)
    await add_account(db, "lan", admin=True, telegram_id=7007)
    [ref] = await make_leads(db, settings, 1)
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        start = lead.created_at

    def at(hours: float) -> dt.datetime:
        return start + dt.timedelta(hours=hours)

    watcher = DeadlineWatcher(db, settings)
    assert await watcher.run_once(at(1)) == 0
    assert await watcher.run_once(at(2.5)) == 1
    assert await watcher.run_once(at(2.6)) == 0
    restarted = DeadlineWatcher(db, settings)  # a new process: what was sent is in the database
    assert await restarted.run_once(at(3)) == 0
    [(chat, text)] = await alerts(db)
    assert chat == "-1000" and f"Yêu cầu <b>{ref}</b> vẫn chưa có người nhận xử lý" in text

    # Two processes at once when the escalation falls due: one of them sends it.
    assert (
        sum(
            await asyncio.gather(
                DeadlineWatcher(db, settings).run_once(at(6.5)),
                DeadlineWatcher(db, settings).run_once(at(6.5)),
            )
        )
        == 1
    )
    chat, text = (await alerts(db))[-1]
    assert (
        chat == "7007" and "Escalation" in text and ref in text
    )  # the admin, in private, in their language (en)

    assert await restarted.run_once(at(8.5)) == 1  # the first-reply deadline: its own reminder
    assert "vẫn chưa được phản hồi" in (await alerts(db))[-1][1]
    async with db.session() as session:  # answered now: nothing more about this lead
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        await lead_book.record_event(session, lead, "reply", "9001", "Mai", "Hello")
    assert await restarted.run_once(at(20)) == 0  # the claim's alerts were both sent; the reply came in time
    assert len(await alerts(db)) == 3


async def test_without_any_staff_chat_nothing_is_marked_sent(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        await deadlines.save_hours(session, HOURS)
    [ref] = await make_leads(db, settings, 1)
    unset = settings.model_copy(update={"staff_chat_id": None})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    assert await DeadlineWatcher(db, unset).run_once(later) == 0
    assert await DeadlineWatcher(db, settings).run_once(later) == 1  # once configured, the reminder goes out
    assert ref in (await alerts(db))[0][1]
