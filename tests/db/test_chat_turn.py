"""A chat's turn on PostgreSQL (catalog/inbox.py): the look that takes it must not act on what the previous
holder finished just before letting go.

In READ COMMITTED a statement reads from the snapshot it took as it started, and the look takes the turn
(`pg_try_advisory_lock`) during the statement, after that snapshot. A holder that marks its entry done, commits
and unlocks in between leaves the entry looking unfinished to a look that then gets the turn. The tests force
that interleaving: the look's connection finds, ahead of pg_catalog on its search_path, a
`pg_try_advisory_lock` of the test's that first waits at a gate (an advisory lock a third connection holds),
then takes the real lock; the holder finishes while the look waits; the gate opens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog import inbox
from catalog.db import Database
from catalog.models import InboxEntry
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs OCOP_TEST_DATABASE_URL (PostgreSQL)")

GATE = 915_015  # the advisory-lock key of the gate
HOOK = ("CREATE SCHEMA turn_gate", f"""
CREATE FUNCTION turn_gate.pg_try_advisory_lock(key bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_lock({GATE});
    PERFORM pg_catalog.pg_advisory_unlock({GATE});
    RETURN pg_catalog.pg_try_advisory_lock(key);
END $$
""")


@pytest.fixture(autouse=True)
async def gate(pg: Database) -> AsyncIterator[None]:
    """The gated `pg_try_advisory_lock` in a schema of its own (put on a connection's search_path to use it)."""
    async with pg.engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA IF EXISTS turn_gate CASCADE")
        for statement in HOOK:
            await conn.exec_driver_sql(statement)
    yield
    async with pg.engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA IF EXISTS turn_gate CASCADE")


async def turn_connection(db: Database) -> AsyncConnection:
    """A connection as bot/inbox.py uses it for a chat's turn: each statement commits by itself."""
    conn = await db.engine.connect()
    await conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


async def gated_look(db: Database, chat: str) -> tuple[asyncio.Task[inbox.Look], Database]:
    """Start a look that takes the turn of `chat` in another process (its own engine), held at the gate after
    its statement took its snapshot; returns once it waits there."""
    other = Database(db.url)
    conn = await turn_connection(other)
    await conn.exec_driver_sql("SET search_path = turn_gate, pg_catalog, public")

    async def look() -> inbox.Look:
        try:
            return await inbox.look_at_chat(other, "telegram", chat, conn=conn, turn=True)
        finally:
            await conn.invalidate()  # the search_path and any lock it took go with the connection
            await conn.close()

    task = asyncio.create_task(look())
    async with db.engine.connect() as watch:
        for _ in range(200):
            waiting = await watch.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = :gate"
            ), {"gate": GATE})
            if waiting:
                return task, other
            await asyncio.sleep(0.02)
    raise AssertionError("the look never reached the gate")


async def hand_over(db: Database, holder: AsyncConnection, chat: str, before_unlock: Any) -> inbox.Look:
    """With the gate closed: another process looks at `chat` (and waits at the gate); `before_unlock` runs; the
    holder marks `done` and ends its turn; the gate opens; returns what the other look found."""
    gate = await db.engine.connect()
    await gate.execution_options(isolation_level="AUTOCOMMIT")
    await gate.scalar(text("SELECT pg_advisory_lock(:gate)"), {"gate": GATE})
    other: Database | None = None
    try:
        task, other = await gated_look(db, chat)
        done = await before_unlock()
        await inbox.end_chat_turn(holder, "telegram", chat, done)
        await gate.scalar(text("SELECT pg_advisory_unlock(:gate)"), {"gate": GATE})
        return await asyncio.wait_for(task, 10)
    finally:
        await gate.invalidate()
        await gate.close()
        if other is not None:
            await other.dispose()


async def take_turn(db: Database, chat: str, key: str, seq: int) -> tuple[AsyncConnection, inbox.Accepted]:
    (entry,) = await inbox.accept(db, "telegram", [(key, chat, {"update_id": seq}, seq)], "test")
    holder = await turn_connection(db)
    found = await inbox.look_at_chat(db, "telegram", chat, conn=holder, turn=True)
    assert found.mine and found.entry is not None and found.entry.id == entry.id
    return holder, entry


async def test_replies_sent_just_before_the_turn_changed_hands_are_not_sent_again(pg: Database) -> None:
    """The holder handled the entry before the other look's snapshot and marked it done after: the entry must not
    come back with its replies still owed (they would go out twice)."""
    holder, entry = await take_turn(pg, "701", "u1", 1)
    async with pg.session() as session:
        await inbox.mark_handled(session, entry.id, [{"text": "hello"}])
    try:
        found = await hand_over(pg, holder, "701", lambda: _done(entry))
    finally:
        await holder.close()
    assert found.mine
    assert found.entry is None, f"entry {found.entry.id} came back with replies {found.entry.replies}"
    async with pg.session() as session:
        assert await session.scalar(select(InboxEntry.status).where(InboxEntry.id == entry.id)) == "done"


async def test_an_entry_handled_while_the_look_waited_is_handled_once(pg: Database) -> None:
    """The holder handled and finished the entry after the other look's snapshot: the look still sees it pending
    (no second read for that), and its taker's handling cannot commit a second time (the mark is conditional)."""
    holder, entry = await take_turn(pg, "702", "u2", 2)

    async def handle_and_finish() -> list[inbox.Done]:
        async with pg.session() as session:
            await inbox.mark_handled(session, entry.id, [{"text": "hello"}])
        return [(entry.id, "")]

    try:
        found = await hand_over(pg, holder, "702", handle_and_finish)
    finally:
        await holder.close()
    assert found.mine and found.entry is not None and found.entry.replies is None
    with pytest.raises(inbox.AlreadyHandled):
        async with pg.session() as session:
            await inbox.mark_handled(session, found.entry.id, [{"text": "hello again"}])
    async with pg.session() as session:
        assert await session.scalar(select(InboxEntry.replies).where(InboxEntry.id == entry.id)) is None


async def _done(entry: inbox.Accepted) -> list[inbox.Done]:
    return [(entry.id, "")]


async def test_a_look_that_finds_nothing_takes_no_turn(pg: Database) -> None:
    """A chat with nothing unfinished (another process handled its entry already) is not locked: no turn to give
    back, one round trip fewer; a chat with an entry is."""
    conn = await turn_connection(pg)
    try:
        async def held() -> int:
            return int(await conn.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")))

        found = await inbox.look_at_chat(pg, "telegram", "703", conn=conn, turn=True)
        assert found.entry is None and not found.mine and await held() == 0
        (entry,) = await inbox.accept(pg, "telegram", [("u3", "703", {}, 3)], "test")
        found = await inbox.look_at_chat(pg, "telegram", "703", conn=conn, turn=True)
        assert found.mine and found.entry is not None and found.entry.id == entry.id and await held() == 1
        await inbox.end_chat_turn(conn, "telegram", "703", [(entry.id, "")])
        assert await held() == 0
        found = await inbox.look_at_chat(pg, "telegram", "703", conn=conn, turn=True)
        assert found.entry is None and not found.mine and await held() == 0
    finally:
        await conn.close()
