"""The outbox delivery worker against the local fake Bot API with the real TelegramDeliverer: faults, restarts,
two workers at once — every lead reaches the staff chat, none twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text, update
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.channels.telegram import TelegramDeliverer
from bot.config import Settings
from bot.delivery import DeliveryWorker
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import Lead, OutboxMessage, utcnow
from handlers.messages import Reply, reply_to_json
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.leads.helpers import REF, make_leads

TOKEN = "515151:LEADS-TEST"
STAFF_CHAT = -1000
FAST = {"poll_interval": 0.2, "base_delay": 0.02, "max_delay": 0.2, "send_timeout": 10.0, "lease_seconds": 30.0}
WAIT = 60.0


@pytest.fixture
async def deliverer(api: FakeTelegramAPI) -> AsyncIterator[TelegramDeliverer]:
    """The real deliverer on a bot like the application's (HTML by default), without PTB's own 429 retries,
    so the worker's handling of retry_after is what is tested."""
    bot = ExtBot(
        TOKEN, base_url=api.base_url, base_file_url=api.base_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        request=HTTPXRequest(connection_pool_size=8, read_timeout=2.0, write_timeout=2.0, connect_timeout=1.0,
                             pool_timeout=3.0),
    )
    await bot.initialize()
    yield TelegramDeliverer(bot)
    await bot.shutdown()


def worker(db: Database, deliverer: TelegramDeliverer, settings: Settings, seed: int = 1, **kw: Any) -> DeliveryWorker:
    return DeliveryWorker(db, {"telegram": deliverer}, settings, rng=random.Random(seed), **{**FAST, **kw})


def sends_per_ref(api: FakeTelegramAPI) -> Counter[str]:
    """How many lead cards Telegram accepted into the staff chat, by reference."""
    found: Counter[str] = Counter()
    for call in api.calls("sendMessage", chat_id=STAFF_CHAT):
        match = REF.search(call.text or "")
        if match:
            found[match.group(0)] += 1
    return found


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_a_batch_of_leads_survives_every_kind_of_fault(db: Database, settings: Settings,
                                                             api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    refs = await make_leads(db, settings, 120)
    second_process = Database(settings.database_url)  # its own engine and pool, like another process
    workers = [worker(db, deliverer, settings, 1), worker(second_process, deliverer, settings, 2)]
    rng = random.Random(20260601)
    faults = ["500", "502", "503", "429", "disconnect", "refused"] * 5 + ["timeout"] * 2
    rng.shuffle(faults)
    injected: Counter[str] = Counter()
    for running in workers:
        await running.start()
    try:
        progress = 0
        for kind in faults:  # a fault every few deliveries
            progress += rng.randint(1, 4)
            await api.wait_for(lambda p=progress: sum(sends_per_ref(api).values()) >= min(p, len(refs)),
                               WAIT, message="deliveries stalled")
            injected[kind] += 1
            if kind == "refused":
                await api.stop_listening()  # connection refused until it listens again
                await asyncio.sleep(rng.uniform(0.1, 0.3))
                await api.start_listening()
            elif kind == "429":
                api.fail_next("sendMessage", "429", retry_after=0.2)
            else:
                api.fail_next("sendMessage", kind, times=rng.randint(1, 2))
        await api.wait_for(lambda: len(sends_per_ref(api)) >= len(refs), WAIT, message="not every lead arrived")
    finally:
        for running in workers:
            await running.stop()
        await second_process.dispose()
    sent = sends_per_ref(api)
    duplicates = {ref: n for ref, n in sent.items() if n > 1}
    failed_attempts = len(api.failed_calls("sendMessage"))
    print(f"\n{len(refs)} leads, faults injected {dict(injected)}, failed sendMessage attempts {failed_attempts}, "
          f"duplicates {len(duplicates)}")
    assert set(sent) == set(refs), "every lead reached the staff chat"
    assert not duplicates, "no lead was posted twice"
    assert failed_attempts >= 25
    entries = await outbox(db)
    assert all(e.status == "sent" and e.sent_message_id and e.lease_owner == "" for e in entries)
    posted = {REF.search(m["text"]).group(0): m["message_id"]  # type: ignore[union-attr]
              for m in api.bot_messages(STAFF_CHAT)}
    async with db.session() as session:
        leads = (await session.scalars(select(Lead))).all()
    assert all(lead.staff_message_id == posted[lead.ref] for lead in leads), "the staff message id is recorded"
    assert max(e.attempts for e in entries) >= 2


async def test_retry_after_is_honoured_and_errors_back_off(db: Database, settings: Settings,
                                                           api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    [ref] = await make_leads(db, settings, 1)
    running = worker(db, deliverer, settings, max_delay=300.0, base_delay=2.0)
    api.fail_next("sendMessage", "429", retry_after=7)
    assert await running.run_once() == 1
    [entry] = await outbox(db)
    assert entry.status == "pending" and "retry in 7" in entry.last_error.lower() and entry.attempts == 1
    wait = (entry.next_attempt_at - utcnow()).total_seconds()
    assert 6.0 < wait <= 7.8, "waits at least what Telegram asked (plus a little jitter)"
    assert await running.run_once() == 0, "not due yet"
    async with db.session() as session:  # time passes
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    api.fail_next("sendMessage", "500", times=2)
    assert await running.run_once() == 1
    first = (await outbox(db))[0]
    async with db.session() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    assert await running.run_once() == 1
    second = (await outbox(db))[0]
    assert second.attempts == 3 and "Internal Server Error" in second.last_error
    assert first.next_attempt_at is not None and second.next_attempt_at is not None
    async with db.session() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    assert await running.run_once() == 1
    assert sends_per_ref(api) == Counter({ref: 1})
    assert (await outbox(db))[0].status == "sent"


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings: Settings) -> None:
    running = DeliveryWorker(None, {}, settings, base_delay=1.0, max_delay=60.0, rng=random.Random(3))  # type: ignore[arg-type]
    for attempts, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (30, 60.0)):
        delays = [running._backoff(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1, "jittered"


async def test_permanent_failures_are_set_aside_and_others_continue(
        db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    async with db.session() as session:
        for chat in ("777", "888"):
            lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id=chat,
                              payload=reply_to_json(Reply("Xin chào <b>bạn</b>")))
        lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id="999",
                          payload=reply_to_json(Reply("<b>unclosed")))
        lead_book.enqueue(session, kind="buyer_notice", channel="zalo", chat_id="z1",
                          payload=reply_to_json(Reply("no Zalo here")))
    api.block_chat(777)
    running = worker(db, deliverer, settings)
    assert await running.run_once() == 3  # not the Zalo entry: this process has no Zalo deliverer
    by_chat = {e.chat_id: e for e in await outbox(db)}
    assert by_chat["777"].status == "failed" and "blocked" in by_chat["777"].last_error
    assert by_chat["999"].status == "failed" and "BadRequest" in by_chat["999"].last_error
    assert by_chat["888"].status == "sent" and by_chat["888"].sent_message_id
    assert (by_chat["z1"].status, by_chat["z1"].attempts) == ("pending", 0)
    assert api.messages_to(888) == ["Xin chào bạn"]


async def test_a_chat_gets_its_messages_in_order(db: Database, settings: Settings, api: FakeTelegramAPI,
                                                 deliverer: TelegramDeliverer) -> None:
    async with db.session() as session:
        for n in range(5):
            lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id="4242",
                              payload=reply_to_json(Reply(f"message {n}")))
    api.fail_next("sendMessage", "500")
    running = worker(db, deliverer, settings)
    await running.start()
    try:
        await api.wait_for_messages(4242, 5, timeout=WAIT)
    finally:
        await running.stop()
    assert api.messages_to(4242) == [f"message {n}" for n in range(5)], "a failed first message is not overtaken"


async def test_response_lost_after_telegram_accepted_is_the_one_duplicate_window(
        db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    """Telegram posts the card but its answer never arrives: the worker cannot know, so it sends again.
    This is the documented at-least-once window (the same as a crash before the sent mark commits)."""
    [ref] = await make_leads(db, settings, 1)
    api.fail_next("sendMessage", "disconnect", processed=True)
    running = worker(db, deliverer, settings)
    await running.start()
    try:
        await api.wait_for(lambda: sends_per_ref(api)[ref] == 2, WAIT)
        await api.wait_for(lambda: bool(api.calls("sendMessage")), WAIT)
    finally:
        await running.stop()
    [entry] = await outbox(db)
    assert entry.status == "sent" and entry.attempts == 2
    print(f"\nresponse lost once → {sends_per_ref(api)[ref]} copies of {ref} (documented duplicate window)")


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_entries_a_dead_process_was_sending_are_resent_at_once(
        db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    refs = await make_leads(db, settings, 3)
    host = socket.gethostname()
    far_future = utcnow().replace(year=utcnow().year + 1)
    owners = [f"{host}:{dead_pid()}:dead", f"{host}:{os.getpid()}:stopped-worker", f"elsewhere:{os.getpid()}:alive"]
    async with db.session() as session:
        for entry_id, owner in zip(range(1, 4), owners, strict=True):
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == entry_id).values(
                status="sending", lease_owner=owner, attempts=1, next_attempt_at=far_future))
    running = worker(db, deliverer, settings)
    assert await running.recover() == 2, "a dead process and a stopped worker on this host"
    entries = await outbox(db)
    assert [e.status for e in entries] == ["pending", "pending", "sending"]
    await running.start()
    try:
        await api.wait_for(lambda: len(sends_per_ref(api)) == 2, WAIT)
    finally:
        await running.stop()
    assert set(sends_per_ref(api)) == set(refs[:2])
    third = (await outbox(db))[2]
    assert third.status == "sending", "another host's lease is left to run out"
    async with db.session() as session:  # …and when it has, the entry is claimed again
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == third.id).values(
            next_attempt_at=utcnow()))
    assert await running.run_once() == 1
    assert sends_per_ref(api) == Counter(dict.fromkeys(refs, 1))


async def test_two_workers_never_claim_the_same_entry(db: Database, settings: Settings, api: FakeTelegramAPI,
                                                      deliverer: TelegramDeliverer) -> None:
    async with db.session() as session:
        for n in range(40):
            lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id=str(6000 + n),
                              payload=reply_to_json(Reply(f"notice {n}")))
    engines = [Database(settings.database_url) for _ in range(4)]
    workers = [worker(engine, deliverer, settings, seed) for seed, engine in enumerate(engines)]
    try:
        claims = await asyncio.gather(*(w._claim(40) for w in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    flat = [entry_id for claimed in claims for entry_id in claimed]
    assert sorted(flat) == list(range(1, 41)), "each entry claimed by exactly one worker"


async def test_staff_chat_set_later_still_gets_the_card(db: Database, settings: Settings, api: FakeTelegramAPI,
                                                        deliverer: TelegramDeliverer) -> None:
    unset = settings.model_copy(update={"staff_chat_id": None})
    async with db.session() as session:
        lead_book.enqueue(session, kind="lead_card", channel="telegram", chat_id="",
                          payload=reply_to_json(Reply("<b>card</b> BG-2026-000001")))
    assert await worker(db, deliverer, unset).run_once() == 1
    [entry] = await outbox(db)
    assert entry.status == "pending" and "OCOP_STAFF_CHAT_ID" in entry.last_error
    async with db.session() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    assert await worker(db, deliverer, settings).run_once() == 1
    assert sends_per_ref(api) == Counter({"BG-2026-000001": 1})
    assert (await outbox(db))[0].chat_id == str(STAFF_CHAT)


async def test_card_edit_waits_for_the_card_and_edits_it(db: Database, settings: Settings, api: FakeTelegramAPI,
                                                         deliverer: TelegramDeliverer) -> None:
    [ref] = await make_leads(db, settings, 1)
    async with db.session() as session:
        lead = await session.scalar(select(Lead))
        assert lead is not None
        lead_book.enqueue(session, kind="lead_card_edit", channel="telegram", chat_id=str(STAFF_CHAT),
                          payload=reply_to_json(Reply(f"<i>erased</i> {ref}")), lead_id=lead.id)
    running = worker(db, deliverer, settings)
    await running.start()
    try:
        await api.wait_for(lambda: bool(api.calls("editMessageText")), WAIT)
    finally:
        await running.stop()
    [card] = api.bot_messages(STAFF_CHAT)
    assert card["text"] == f"erased {ref}"
    assert len(api.message_history(STAFF_CHAT, card["message_id"])) == 2
    assert [e.status for e in await outbox(db)] == ["sent", "sent"]


async def test_wake_sends_a_new_entry_without_waiting_for_the_poll(
        db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    running = worker(db, deliverer, settings, poll_interval=3600.0)
    await running.start()
    try:
        await asyncio.sleep(0.1)  # the worker is idle, waiting for a wake-up
        async with db.session() as session:
            lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id="31",
                              payload=reply_to_json(Reply("hello")), notify=running.wake)
        await api.wait_for_messages(31, 1, timeout=WAIT)
    finally:
        await running.stop()
    assert re.fullmatch(r"\d+", (await outbox(db))[0].sent_message_id)


async def test_an_entry_waiting_behind_a_backed_off_one_does_not_spin_the_worker(
        db: Database, settings: Settings, deliverer: TelegramDeliverer) -> None:
    async with db.session() as session:
        for n in range(2):
            lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id="55",
                              payload=reply_to_json(Reply(f"notice {n}")))
    async with db.session() as session:  # the first is backing off for five minutes; the second is due
        first = await session.get(OutboxMessage, 1)
        assert first is not None
        first.next_attempt_at = utcnow() + dt.timedelta(minutes=5)
    running = worker(db, deliverer, settings, poll_interval=2.5)
    assert await running.run_once() == 0, "the second may not overtake the first"
    assert await running._seconds_until_due() == 2.5, "sleeps the poll interval rather than looping at once"


async def test_entries_for_a_channel_this_process_cannot_deliver_are_left_alone(
        db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    """A Telegram-only process beside a Zalo process, or the terminal chat's notices: not claimed, not delayed."""
    async with db.session() as session:
        for channel, chat in (("zalo", "z1"), ("console", "c1"), ("telegram", "41")):
            lead_book.enqueue(session, kind="buyer_notice", channel=channel, chat_id=chat,
                              payload=reply_to_json(Reply(f"for {channel}")))
    running = worker(db, deliverer, settings)
    assert await running.run_once() == 1
    assert await running.run_once() == 0
    entries = {e.channel: e for e in await outbox(db)}
    assert entries["telegram"].status == "sent"
    for channel in ("zalo", "console"):
        untouched = entries[channel]
        assert (untouched.status, untouched.attempts, untouched.lease_owner) == ("pending", 0, "")
        assert untouched.next_attempt_at <= utcnow()  # still due at once for the process that can send it
    assert 0.0 < await running._seconds_until_due() <= FAST["poll_interval"]  # nothing due for it: no spinning


async def test_postgres_workers_are_notified_of_entries_other_processes_queue(
        db: Database, settings: Settings, api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    """On PostgreSQL an idle worker LISTENs instead of polling every second: an entry another process queues
    reaches it through the trigger's NOTIFY; after its listening connection is killed it listens again; and an
    entry whose notification never came is still sent, by the slow poll."""
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (one SQLite process delivers what it queued itself)")
    other = Database(settings.database_url)  # another process, which queues without waking this worker
    running = worker(db, deliverer, settings, poll_interval=0.2, listening_poll_interval=3600.0)
    await running.start()

    async def queue(chat: str) -> None:
        async with other.session() as session:
            lead_book.enqueue(session, kind="buyer_notice", channel="telegram", chat_id=chat,
                              payload=reply_to_json(Reply(f"to {chat}")))

    async def listener_pid() -> int:
        async with other.session() as session:
            return int(await session.scalar(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )) or 0)

    try:
        await api.wait_for(lambda: running.listening, WAIT, message="the worker never listened")
        await asyncio.sleep(0.3)  # past the look that listening began with: idle until notified (or in an hour)
        await queue("41")
        await api.wait_for_messages(41, 1, timeout=WAIT)
        assert running.notifications >= 1

        pid = await listener_pid()
        async with other.session() as session:
            assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(200):  # listening on a new connection
            if (fresh := await listener_pid()) and fresh != pid:
                break
            await asyncio.sleep(0.05)
        assert fresh and fresh != pid
        await queue("42")
        await api.wait_for_messages(42, 1, timeout=WAIT)

        async with other.session() as session:  # a notification lost: the entry waits for the slow poll only
            await session.execute(text("ALTER TABLE outbox DISABLE TRIGGER outbox_notify"))
        notified = running.notifications
        running.listening_poll_interval = 0.5
        running.wake()  # (the worker is asleep for an hour: start the shorter poll now)
        await queue("43")
        await api.wait_for_messages(43, 1, timeout=WAIT)
        assert running.notifications == notified
    finally:
        await running.stop()
        await other.dispose()
    assert [e.status for e in await outbox(db)] == ["sent", "sent", "sent"]
