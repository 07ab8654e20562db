"""The weekly digest: due at its slot in Vietnam time, claimed once per week by one of several processes (real
OS processes on the same database), delivered to the staff chat through the outbox and the fake Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.channels.telegram import TelegramDeliverer
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.digest import KIND_DIGEST, InsightJobs, digest_slot, week_of
from catalog import events
from catalog.db import Database
from catalog.models import DigestRun, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.insights.traffic import replay_known_traffic

TOKEN = "161616:DIGEST-TEST"
STAFF_CHAT = -1000
ROOT = Path(__file__).resolve().parents[2]
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN).astimezone(dt.UTC)


def test_the_slot_is_monday_eight_in_vietnam_and_configurable() -> None:
    tz = "Asia/Ho_Chi_Minh"
    assert digest_slot(vn(2026, 12, 7, 7, 59), "mon 08:00", tz) is None  # Monday, a minute early
    assert digest_slot(vn(2026, 12, 7, 8, 0), "mon 08:00", tz) == vn(2026, 12, 7, 8, 0)
    assert digest_slot(vn(2026, 12, 13, 23, 0), "mon 08:00", tz) == vn(2026, 12, 7, 8, 0)  # late, same week
    assert digest_slot(vn(2026, 12, 7, 8, 0), "mon 08:00", tz) == dt.datetime(
        2026, 12, 7, 1, 0, tzinfo=dt.UTC
    )
    assert digest_slot(vn(2026, 12, 10, 9, 0), "fri 17:30", tz) is None
    assert digest_slot(vn(2026, 12, 11, 17, 30), "fri 17:30", tz) == vn(2026, 12, 11, 17, 30)
    assert digest_slot(vn(2026, 12, 7, 9, 0), "off", tz) is None
    assert week_of(vn(2026, 12, 7, 8, 0), tz) == "2026-W50"
    # Sunday night in Hanoi is already Monday's week in UTC terms only after 17:00 UTC Sunday: local time rules.
    assert (
        digest_slot(dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC), "mon 08:00", tz) is None
    )  # 07:30 in Hanoi
    with pytest.raises(ValueError):
        Settings(digest_schedule="monday 8am")
    with pytest.raises(ValueError):
        Settings(digest_timezone="Mars/Olympus")


CLAIM = r"""
import asyncio, datetime as dt, json, sys, time
from bot.config import Settings
from bot.digest import InsightJobs
from catalog.db import Database

async def main():
    url, when, start_at = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2]), float(sys.argv[3])
    settings = Settings(database_url=url, staff_chat_id=-1000)
    db = Database(url)
    jobs = InsightJobs(db, settings)
    while time.time() < start_at:  # both processes try at the same moment
        await asyncio.sleep(0.001)
    queued = await jobs.post_digest_if_due(when)
    await db.dispose()
    print(json.dumps({"queued": queued}))

asyncio.run(main())
"""


def run_processes(url: str, when: dt.datetime, count: int) -> list[bool]:
    start_at = time.time() + 3.0
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_") or k == "OCOP_TEST_DATABASE_URL"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM, url, when.isoformat(), str(start_at)],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1])["queued"])
    return results


@pytest.fixture
async def deliverer(api: FakeTelegramAPI) -> AsyncIterator[TelegramDeliverer]:
    bot = ExtBot(
        TOKEN,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        request=HTTPXRequest(connection_pool_size=4, read_timeout=5.0, write_timeout=5.0),
    )
    await bot.initialize()
    yield TelegramDeliverer(bot)
    await bot.shutdown()


async def deliver_all(db: Database, deliverer: TelegramDeliverer, settings: Settings) -> None:
    worker = DeliveryWorker(
        db,
        {"telegram": deliverer},
        settings,
        rng=random.Random(1),
        poll_interval=0.1,
        base_delay=0.02,
        max_delay=0.2,
        send_timeout=10.0,
        lease_seconds=30.0,
    )
    await worker.start()
    try:
        for _ in range(300):
            async with db.session() as session:
                pending = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.status != "sent"))
            if pending is None:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the outbox was not delivered")
    finally:
        await worker.stop()


async def test_two_processes_send_the_digest_once_per_week(
    db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer
) -> None:
    await replay_known_traffic(db, settings)  # this week's events and one claimed lead
    monday = dt.datetime.now(VN).date() - dt.timedelta(days=dt.datetime.now(VN).weekday())
    slot = dt.datetime(monday.year, monday.month, monday.day, 8, 0, tzinfo=VN)
    if slot > dt.datetime.now(VN):
        slot -= dt.timedelta(days=7)  # early on a Monday: the last slot that has passed
    week_after = slot + dt.timedelta(days=7, minutes=5)

    # Two processes at the same moment, then a restarted one: one digest for the week.
    first = run_processes(settings.database_url, slot + dt.timedelta(days=7, minutes=1), 2)
    assert sorted(first) == [False, True]
    assert run_processes(settings.database_url, week_after, 1) == [False]
    async with db.session() as session:
        runs = (await session.scalars(select(DigestRun))).all()
        digests = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == KIND_DIGEST))
        ).all()
    assert [r.week for r in runs] == [week_of(week_after, "Asia/Ho_Chi_Minh")] and len(digests) == 1

    await deliver_all(db, deliverer, settings)
    sent = [
        c
        for c in api.calls("sendMessage", chat_id=STAFF_CHAT)
        if "Báo cáo nhu cầu hằng tuần" in (c.text or "")
    ]
    assert len(sent) == 1
    text = sent[0].text or ""
    # The events of the 7 days before the slot (today's known traffic is inside them).
    assert "1. cam bo ha / camboha / cam bo haa: 5 lần, 4 cuộc trò chuyện (không có trong danh mục)" in text
    assert "2. banhchungg: 2 lần, 2 cuộc trò chuyện (gần với Bánh chưng Vân: nên thêm từ đồng nghĩa?)" in text
    assert "1. Vải thiều Hồng Xuân Lục Ngạn: 2 lượt xem" in text
    assert "📦 <b>Yêu cầu mua sỉ</b>: đã nhận xử lý 1" in text  # A's lead, claimed by staff

    # The week after: nothing happened, nothing is sent; then one search in it, and one digest, in-process.
    jobs = InsightJobs(db, settings)
    assert await jobs.post_digest_if_due(week_after + dt.timedelta(days=7)) is False
    buffer = events.EventBuffer(db, b"k")
    buffer.add(
        [events.row(events.SEARCH, query="chocolate", results=0, at=week_after + dt.timedelta(days=1))]
    )
    await buffer.flush()
    assert await jobs.post_digest_if_due(week_after + dt.timedelta(days=7)) is True
    assert await jobs.post_digest_if_due(week_after + dt.timedelta(days=7, hours=1)) is False
    await deliver_all(db, deliverer, settings)
    sent = [
        c
        for c in api.calls("sendMessage", chat_id=STAFF_CHAT)
        if "Báo cáo nhu cầu hằng tuần" in (c.text or "")
    ]
    assert len(sent) == 2
    assert "1. chocolate: 1 lần, 0 cuộc trò chuyện (không có trong danh mục)" in (sent[1].text or "")
    assert "Tuần này không có." in (sent[1].text or "")  # no product was viewed that week


async def test_no_digest_without_a_staff_chat_or_when_off(db: Database, settings: Settings) -> None:
    when = vn(2026, 12, 7, 9, 0)
    assert (
        await InsightJobs(db, settings.model_copy(update={"staff_chat_id": None})).post_digest_if_due(when)
        is False
    )
    assert (
        await InsightJobs(db, settings.model_copy(update={"digest_schedule": "off"})).post_digest_if_due(when)
        is False
    )
    async with db.session() as session:
        assert (await session.scalars(select(DigestRun))).all() == []
