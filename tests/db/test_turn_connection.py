"""PostgreSQL: a chat's turn (bot/inbox.py, `InboxProcessor._turn`) on a pooled asyncpg connection without SQLAlchemy's
connection (a lean `Turn`, `Database.turn`). The turn is a session-level advisory lock on that connection: it must be
given back after a normal turn, after an error and after a cancellation, and a connection that may still hold it (its
look or its release failed halfway) must be closed, never handed back to the pool, where the next turn taken on it
would take the lock a second time (a session-level lock taken twice is held until given back twice)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.inbox import InboxProcessor
from catalog import inbox
from catalog.db import Database, Turn
from catalog.models import InboxEntry
from tests.conftest import PG_URL
from tests.db.test_inbox_ahead import handle_all, mark_handled, statuses, turns_held

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs OCOP_TEST_DATABASE_URL (PostgreSQL)")

CHATS = ("901", "902", "903", "904")


async def backend_alive(db: Database, pid: int) -> bool:
    async with db.engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}))


async def until_gone(db: Database, pid: int) -> None:
    """Until the backend `pid` has ended (a closed connection's backend exits just after the socket closes)."""
    for _ in range(250):
        if not await backend_alive(db, pid):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the backend {pid} is still there")


def spy_looks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connection each look of the processor ran on."""
    seen: list[Any] = []
    real = inbox.look_at_chat

    async def look(*args: Any, **kwargs: Any) -> inbox.Look:
        seen.append(kwargs.get("conn"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbox, "look_at_chat", look)
    return seen


def marking(pg: Database, handled: list[int]) -> InboxProcessor:
    """A processor on one slot whose handler marks each entry handled, records its seq in `handled`, and finishes it."""

    async def handler(entry: inbox.Accepted) -> None:
        async with pg.session() as session:
            await inbox.mark_handled(session, entry.id, [])
        handled.append(entry.seq)
        processor.finished(entry)

    processor = InboxProcessor(pg, "telegram", handler, slots=1, base_delay=0.001)
    return processor


def checked_out(db: Database) -> int:
    return db.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]


async def test_turns_on_lean_connections_keep_each_chats_order_and_give_every_turn_back(
        pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    looks = spy_looks(monkeypatch)
    items = [(str(n), CHATS[n % 4], {"n": n}, n) for n in range(1, 25)]  # four chats, six entries each, interleaved
    accepted = await inbox.accept(pg, "telegram", items, "test")
    handled: list[tuple[str, int]] = []
    held_while_handled: list[bool] = []

    async def work(entry: inbox.Accepted) -> None:
        await mark_handled(pg, entry)
        held_while_handled.append(inbox.chat_turn_key("telegram", entry.chat_key) in await turns_held(pg))
        await asyncio.sleep(0)
        handled.append((entry.chat_key, entry.seq))

    await handle_all(pg, accepted, work, slots=4)

    assert looks and all(isinstance(conn, Turn) and conn.lean for conn in looks)  # asyncpg: no SQLAlchemy connection
    assert all(held_while_handled)  # each entry handled under its chat's turn
    for chat in CHATS:  # each chat's entries in their order
        assert [seq for c, seq in handled if c == chat] == sorted(seq for _, c, _, seq in items if c == chat)
    assert sorted(handled) == sorted((chat, seq) for _, chat, _, seq in items)
    assert await statuses(pg) == {"done"}
    assert not await turns_held(pg)  # every turn given back
    assert checked_out(pg) == 0  # and every connection handed back


async def test_an_error_inside_the_turn_gives_the_turn_back_and_keeps_the_connection(
        pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after the look took the turn (here the wait before handling; a handler's own errors are counted by
    `_attempt`, inside the turn): the release runs, so the connection is known free and goes back to the pool."""
    (entry,) = await inbox.accept(pg, "telegram", [("e1", "911", {}, 1)], "test")
    pids: list[int] = []
    real_hold_back = InboxProcessor._hold_back
    failed = 0

    async def hold_back(self: InboxProcessor, *args: Any, **kwargs: Any) -> float:
        nonlocal failed
        if not failed:
            failed += 1
            raise RuntimeError("fails once, with the turn taken")
        return await real_hold_back(self, *args, **kwargs)

    async def handler(entry: inbox.Accepted) -> None:
        async with pg.session() as session:
            await inbox.mark_handled(session, entry.id, [])
        processor.finished(entry)

    real_look = inbox.look_at_chat

    async def look(*args: Any, **kwargs: Any) -> inbox.Look:
        found = await real_look(*args, **kwargs)
        pids.append(kwargs["conn"].driver.get_server_pid())
        return found

    monkeypatch.setattr(InboxProcessor, "_hold_back", hold_back)
    monkeypatch.setattr(inbox, "look_at_chat", look)
    processor = InboxProcessor(pg, "telegram", handler, slots=1, base_delay=0.001)
    processor.submit(entry)
    await processor.drain()
    assert failed == 1 and len(pids) == 2
    assert pids[0] == pids[1]  # the connection that failed, its turn given back, was taken again from the pool
    assert await statuses(pg) == {"done"}
    assert not await turns_held(pg)
    assert checked_out(pg) == 0


async def test_a_handler_error_gives_the_turn_back(pg: Database) -> None:
    accepted = await inbox.accept(pg, "telegram", [(str(n), "912", {}, n) for n in (1, 2)], "test")
    calls: list[int] = []

    async def handler(entry: inbox.Accepted) -> None:
        calls.append(entry.seq)
        if entry.seq == 1:
            raise RuntimeError("the handler always fails on this one")
        async with pg.session() as session:
            await inbox.mark_handled(session, entry.id, [])
        processor.finished(entry)

    processor = InboxProcessor(pg, "telegram", handler, slots=1, base_delay=0.001, max_attempts=2)
    for entry in accepted:
        processor.submit(entry)
    await processor.drain()
    assert calls == [1, 1, 2]  # tried again, parked, then the next one: in order
    async with pg.session() as session:
        rows = dict((await session.execute(select(InboxEntry.seq, InboxEntry.status))).tuples().all())
    assert rows == {1: "parked", 2: "done"}
    assert not await turns_held(pg)
    assert checked_out(pg) == 0


async def test_a_cancelled_handler_gives_the_turn_back(pg: Database) -> None:
    (entry,) = await inbox.accept(pg, "telegram", [("c1", "913", {}, 1)], "test")
    started = asyncio.Event()

    async def handler(entry: inbox.Accepted) -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes: cancelled by the stop

    processor = InboxProcessor(pg, "telegram", handler, slots=1)
    processor.submit(entry)
    await asyncio.wait_for(started.wait(), 10)
    assert inbox.chat_turn_key("telegram", "913") in await turns_held(pg)
    await processor.stop(grace=0)
    assert not await turns_held(pg)
    assert checked_out(pg) == 0
    assert await statuses(pg) == {"pending"}  # left for the next start


async def test_a_look_cancelled_after_taking_the_turn_closes_its_connection(
        pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look's statement took the lock, then the task was cancelled before the look returned: whether it holds the
    lock is not known to the processor, so the connection is closed (the lock ends with its backend) and not reused."""
    (entry,) = await inbox.accept(pg, "telegram", [("l1", "914", {}, 1)], "test")
    looked = asyncio.Event()
    pids: list[int] = []
    real_look = inbox.look_at_chat

    async def look(*args: Any, **kwargs: Any) -> inbox.Look:
        await real_look(*args, **kwargs)
        pids.append(kwargs["conn"].driver.get_server_pid())
        looked.set()
        await asyncio.Event().wait()  # cancelled here
        raise AssertionError("not reached")

    async def handler(entry: inbox.Accepted) -> None:
        raise AssertionError("never handled")

    monkeypatch.setattr(inbox, "look_at_chat", look)
    processor = InboxProcessor(pg, "telegram", handler, slots=1)
    processor.submit(entry)
    await asyncio.wait_for(looked.wait(), 10)
    assert inbox.chat_turn_key("telegram", "914") in await turns_held(pg)  # the look's statement took it
    await processor.stop(grace=0)
    await until_gone(pg, pids[0])  # the connection was closed, not handed back
    assert not await turns_held(pg)
    assert checked_out(pg) == 0


async def test_a_look_that_fails_after_taking_the_turn_is_not_reused_and_the_chat_goes_on(
        pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A look whose outcome is unknown (it raised after its statement had taken the lock): its connection closed; the
    chat's task tries again on another connection and handles the chat, in order, every turn given back after."""
    accepted = await inbox.accept(pg, "telegram", [(str(n), "915", {}, n) for n in (1, 2, 3)], "test")
    pids: list[int] = []
    real_look = inbox.look_at_chat

    async def look(*args: Any, **kwargs: Any) -> inbox.Look:
        found = await real_look(*args, **kwargs)
        pids.append(kwargs["conn"].driver.get_server_pid())
        if len(pids) == 1:
            raise ConnectionResetError("lost after the statement")
        return found

    handled: list[int] = []
    monkeypatch.setattr(inbox, "look_at_chat", look)
    processor = marking(pg, handled)
    for entry in accepted:
        processor.submit(entry)
    await processor.drain()
    await until_gone(pg, pids[0])
    assert pids[0] not in pids[1:]  # never taken again
    assert handled == [1, 2, 3]
    assert await statuses(pg) == {"done"}
    assert not await turns_held(pg)
    assert checked_out(pg) == 0


@pytest.mark.parametrize("cancelled", [False, True])
async def test_a_release_that_fails_closes_the_connection(
        pg: Database, monkeypatch: pytest.MonkeyPatch, cancelled: bool) -> None:
    """The turn's release (the done marks and the unlock) raised, or was cancelled, halfway: the connection may still
    hold the lock, so it is closed; the marks are kept and written by the chat's next look (or the drain)."""
    accepted = await inbox.accept(pg, "telegram", [(str(n), "916", {}, n) for n in (1, 2)], "test")
    pids: list[int] = []
    real_end = inbox.end_chat_turn
    ended = asyncio.Event()

    async def end(conn: Any, *args: Any, **kwargs: Any) -> None:
        if not pids:
            pids.append(conn.driver.get_server_pid())
            if cancelled:
                ended.set()
                await asyncio.Event().wait()  # cancelled here, before the unlock
            raise ConnectionResetError("lost before the unlock")
        await real_end(conn, *args, **kwargs)

    handled: list[int] = []
    monkeypatch.setattr(inbox, "end_chat_turn", end)
    processor = marking(pg, handled)
    for entry in accepted:
        processor.submit(entry)
    if cancelled:
        await asyncio.wait_for(ended.wait(), 10)
        await processor.stop(grace=0)
        assert handled == [1]
    else:
        await processor.drain()
        assert handled == [1, 2]
        assert await statuses(pg) == {"done"}
    await until_gone(pg, pids[0])
    assert not await turns_held(pg)
    assert checked_out(pg) == 0


async def test_a_lean_turns_release_writes_marks_with_a_note(pg: Database) -> None:
    """The release's marks with a note of what could not be sent (not the one simple query: their own UPDATEs through
    the driver, each committed by itself, then the unlock), on a lean turn."""
    accepted = await inbox.accept(pg, "telegram", [(str(n), "917", {}, n) for n in (1, 2, 3)], "test")
    async with pg.turn() as turn:
        found = await inbox.look_at_chat(pg, "telegram", "917", conn=turn, turn=True)
        assert found.mine and found.entry is not None and found.entry.id == accepted[0].id
        assert inbox.chat_turn_key("telegram", "917") in await turns_held(pg)
        done = [(accepted[0].id, "could not send"), (accepted[1].id, "could not send"), (accepted[2].id, "")]
        await inbox.end_chat_turn(turn, "telegram", "917", done)
        assert not await turns_held(pg)
    async with pg.session() as session:
        rows = (await session.execute(select(InboxEntry.seq, InboxEntry.status, InboxEntry.last_error))).tuples().all()
    assert sorted(rows) == [(1, "done", "could not send"), (2, "done", "could not send"), (3, "done", "")]
    assert checked_out(pg) == 0
