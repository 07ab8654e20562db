"""PostgreSQL on asyncpg: the connection holding a chat's turn (bot/inbox.py) is lent to the router's transaction for the
chat's entry (`Database.lending`, a lent `Turn`), instead of a connection of its own from the pool. The message's writes
are the same and still commit or roll back together; the lent connection is left as it was lent (its advisory lock held,
no transaction open) and is never handed back to the pool by the borrower; only the lending task, one turn at a time,
borrows it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from catalog import inbox
from catalog.db import Database
from catalog.models import ChatSession, InboxEntry, ProcessedEvent
from catalog.sessions import load_chat, save_chat
from tests.conftest import PG_URL, opened_database
from tests.db.test_inbox_ahead import handle_all, statuses
from tests.db.test_turn import committed
from tests.db.test_turn_connection import checked_out

pg_only = pytest.mark.skipif(not PG_URL, reason="needs OCOP_TEST_DATABASE_URL (PostgreSQL)")
LOCK = 4242  # an advisory lock the lender holds, as a chat's turn does


async def lock_holders(db: Database, key: int) -> set[int]:
    """The backends holding the session-level advisory lock `key`."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND ((classid::bigint << 32) | objid::bigint) = :key"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), {"key": key})
        return {int(pid) for (pid,) in rows}


async def a_message(db: Database, chat_id: str) -> tuple[inbox.Accepted, Any]:
    """An accepted entry and its chat's state, as the router starts from them."""
    entry = (await inbox.accept(db, "telegram", [(chat_id, chat_id, {"text": "mật ong"}, 1)], "me"))[0]
    async with db.session() as session:
        chat = await load_chat(session, "telegram", chat_id)
    return entry, chat


@pg_only
async def test_a_lent_turn_writes_on_the_lenders_connection_and_leaves_it_as_lent(pg: Database) -> None:
    entry, chat = await a_message(pg, "701")
    async with pg.turn() as outer:  # as bot/inbox.py holds the chat's turn
        assert outer.lean
        assert await outer.driver.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        pid = await outer.driver.fetchval("SELECT pg_backend_pid()")
        with pg.lending(outer):
            async with pg.turn() as message:
                assert message.lean and message.driver is outer.driver
                assert checked_out(pg) == 1  # no connection of its own
                chat.language, chat.last_results = "en", ["mat-ong"]
                await save_chat(message, chat)
                await inbox.mark_handled(message, entry.id, [{"text": "Mật ong"}])
                assert message.lean  # nothing opened the ORM session
        # written and committed (the one statement, in autocommit), on the lender's backend, which still holds its lock
        row = await committed(pg, select(InboxEntry.status, InboxEntry.replies).where(InboxEntry.id == entry.id))
        assert tuple(row) == ("handled", [{"text": "Mật ong"}])
        stored = await committed(pg, select(ChatSession.language, ChatSession.last_results)
                                 .where(ChatSession.chat_id == "701"))
        assert tuple(stored) == ("en", ["mat-ong"])
        assert checked_out(pg) == 1 and not outer.driver.is_in_transaction()
        assert await lock_holders(pg, LOCK) == {pid}
        assert await outer.driver.fetchval("SELECT pg_advisory_unlock($1)", LOCK)
    assert checked_out(pg) == 0


@pg_only
@pytest.mark.parametrize("fails", [False, True])
async def test_a_lent_turns_session_is_its_own_and_commits_with_the_message(pg: Database, fails: bool) -> None:
    entry, chat = await a_message(pg, "702")
    async with pg.turn() as outer:
        assert await outer.driver.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        pid = await outer.driver.fetchval("SELECT pg_backend_pid()")
        with pg.lending(outer), pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
            async with pg.turn() as message:
                chat.language = "en"
                await save_chat(message, chat)  # left to the end, then to the session's end
                await inbox.mark_handled(message, entry.id, [])
                session = message.session  # asked for: a session of its own, on a pooled connection
                session.add(ProcessedEvent(channel="zalo", event_id="e-702"))
                assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
                assert checked_out(pg) == 2
                if fails:
                    raise RuntimeError("the handler fails after its writes")
        events = (await committed(pg, select(func.count()).select_from(ProcessedEvent)))[0]
        status = (await committed(pg, select(InboxEntry.status).where(InboxEntry.id == entry.id)))[0]
        language = (await committed(pg, select(ChatSession.language).where(ChatSession.chat_id == "702")))[0]
        if fails:  # nothing of the message kept
            assert (events, status, language) == (0, "pending", None)
        else:  # all of it, together
            assert (events, status, language) == (1, "handled", "en")
        # the session's connection went back to the pool; the lent one is as it was lent
        assert checked_out(pg) == 1 and not outer.driver.is_in_transaction()
        assert await lock_holders(pg, LOCK) == {pid}
        await outer.driver.fetchval("SELECT pg_advisory_unlock($1)", LOCK)
    assert checked_out(pg) == 0


@pg_only
async def test_only_the_lending_task_borrows_and_one_turn_at_a_time(pg: Database) -> None:
    async with pg.turn() as outer:
        with pg.lending(outer):
            async with pg.turn() as first:
                assert first.driver is outer.driver
                async with pg.turn() as second:  # the lent connection is in use: one of its own
                    assert second.driver is not outer.driver
                    assert checked_out(pg) == 2

            async def elsewhere() -> Any:  # a task started meanwhile inherits the context, not the loan
                async with pg.turn() as turn:
                    return turn.driver

            assert await asyncio.create_task(elsewhere()) is not outer.driver
            async with pg.turn() as again:  # lent again once given back
                assert again.driver is outer.driver
        async with pg.turn() as after:  # the loan is over
            assert after.driver is not outer.driver
    assert checked_out(pg) == 0


@pg_only
async def test_the_inbox_lends_the_chats_turn_to_the_message(pg: Database) -> None:
    """Through `InboxProcessor`: the router's turn for an entry runs on the backend that holds the entry's chat's turn,
    each chat's entries in order, every entry done, every turn given back and every connection handed back."""
    chats = ("711", "712")
    items = [(str(n), chats[n % 2], {"n": n}, n) for n in range(1, 9)]
    accepted = await inbox.accept(pg, "telegram", items, "test")
    handled: list[tuple[str, int]] = []
    same_backend: list[bool] = []

    async def work(entry: inbox.Accepted) -> None:
        async with pg.turn() as message:  # as the router takes its turn
            pid = await message.driver.fetchval("SELECT pg_backend_pid()")
            await inbox.mark_handled(message, entry.id, [])
        same_backend.append(await lock_holders(pg, inbox.chat_turn_key("telegram", entry.chat_key)) == {pid})
        handled.append((entry.chat_key, entry.seq))

    await handle_all(pg, accepted, work, slots=2)

    assert same_backend and all(same_backend)
    for chat in chats:
        assert [seq for c, seq in handled if c == chat] == sorted(seq for _, c, _, seq in items if c == chat)
    assert await statuses(pg) == {"done"}
    for chat in chats:
        assert not await lock_holders(pg, inbox.chat_turn_key("telegram", chat))
    assert checked_out(pg) == 0


async def test_nothing_is_lent_on_sqlite(tmp_path: Path) -> None:
    async with opened_database(f"sqlite+aiosqlite:///{tmp_path / 'lend.db'}", seed=False) as db, db.turn() as outer:
        with db.lending(outer):
            async with db.turn() as message:
                assert message.driver is not outer.driver
