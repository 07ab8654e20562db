"""PostgreSQL statements that stay prepared: the inbox's accept and done marks keep one text whatever the batch's size
(asyncpg prepares each distinct text once per connection), the accept commits by itself in one statement, and the
pool hands out the connection handed back last (its statements already prepared)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, select, text

from catalog import inbox
from catalog.db import Database
from catalog.models import InboxEntry
from tests.conftest import PG_URL, opened_database
from tests.fakes.pg_wire import PgWireCounter

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs OCOP_TEST_DATABASE_URL (PostgreSQL)")


class Sent:
    """The statements sent through the engine, and the transactions SQLAlchemy committed."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        self.commits = 0
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *a: self.statements.append(statement))
        event.listen(engine, "commit", self._commit)

    def _commit(self, conn: object) -> None:
        self.commits += 1


@pytest.fixture
async def other(pg_url: str, pg: Database) -> AsyncIterator[Database]:
    """A second process's engine on the same database."""
    db = Database(pg_url)
    yield db
    await db.dispose()


def item(key: int, chat: str = "c", **payload: object) -> tuple[str, str, dict[str, object], int]:
    return (str(key), chat, {"update_id": key, **payload}, key)


async def test_accept_is_one_statement_of_one_text_committed_at_once(pg_url: str, other: Database) -> None:
    # counted on the wire (tests/fakes/pg_wire.py): the accept runs on asyncpg directly, past SQLAlchemy's events
    async with PgWireCounter(pg_url) as wire, opened_database(wire.url) as pg:
        sent = Sent(pg)
        # (the connection made, its types read, the text prepared)
        warm = {a.id for a in await inbox.accept(pg, "warm-up", [item(99)], "me")}
        start = wire.counts.snapshot()
        first = await inbox.accept(pg, "telegram", [item(1, text="mật ong")], "me")
        batch = [item(2, chat="a"), item(3, chat="b"), item(2, chat="a", again=True), item(1)]
        second = await inbox.accept(pg, "telegram", batch, "me")
        third = await inbox.accept(pg, "telegram", [item(n, chat=f"x{n}") for n in range(10, 17)], "me")
        trips, _, texts = wire.counts.since(start)

    # batches of 1, 4 and 7 updates: the same statement, no BEGIN/COMMIT around it, one round trip each
    assert len(texts) == 3 and len(set(texts)) == 1 and texts[0].startswith("INSERT INTO inbox")
    assert trips == 3
    assert sent.commits == 0
    assert "synchronous_commit" not in texts[0]  # accepting always waits for the WAL flush
    assert [a.payload for a in first] == [{"update_id": 1, "text": "mật ong"}]
    # a key seen before (1) is skipped; a key twice in the batch (2) is stored once, as first given
    assert [(a.chat_key, a.seq, a.payload) for a in second] == [
        ("a", 2, {"update_id": 2}), ("b", 3, {"update_id": 3})
    ]
    assert len(third) == 7 and all(a.created_at is not None for a in third)
    # committed when accept returns: another process's connection sees every row, as stored
    async with other.engine.connect() as conn:
        rows = (await conn.execute(select(InboxEntry.key, InboxEntry.chat_key, InboxEntry.seq, InboxEntry.payload,
                                          InboxEntry.status, InboxEntry.attempts, InboxEntry.owner)
                                   .where(InboxEntry.channel == "telegram").order_by(InboxEntry.seq))).all()
    assert [r.key for r in rows] == ["1", "2", "3", *(str(n) for n in range(10, 17))]
    assert rows[0].payload == {"update_id": 1, "text": "mật ong"}
    assert rows[1].payload == {"update_id": 2}
    assert {(r.status, r.attempts, r.owner) for r in rows} == {("pending", 1, "me")}
    assert {a.id for a in first + second + third} == {
        entry_id for (entry_id,) in (await _ids(other)) if entry_id not in warm
    }


async def _ids(db: Database) -> list[tuple[int]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(select(InboxEntry.id))).all()]


async def test_done_marks_one_text_whatever_their_number(pg: Database) -> None:
    accepted = await inbox.accept(pg, "telegram", [item(n, chat=str(n)) for n in range(1, 11)], "me")
    ids = [a.id for a in accepted]
    sent = Sent(pg)
    await inbox.mark_done_many(pg, [(ids[1], ""), (ids[2], ""), (ids[3], "")])
    await inbox.mark_done_many(pg, [(ids[4], "blocked"), (ids[5], "blocked")])
    await inbox.mark_done_many(pg, [(i, "") for i in ids[6:]])
    updates = [s for s in sent.statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 3 and len(set(updates)) == 1  # 3, 2 and 4 ids: one text
    await inbox.mark_done_many(pg, [(ids[0], "")])  # one id: a statement of its own, as fixed
    async with pg.engine.connect() as conn:
        rows = dict((await conn.execute(select(InboxEntry.id, InboxEntry.last_error).where(
            InboxEntry.status == "done"))).all())
    assert rows == {**{i: "" for i in ids}, ids[4]: "blocked", ids[5]: "blocked"}


async def test_the_pool_hands_out_the_connection_handed_back_last(pg: Database) -> None:
    async def backend(hold: asyncio.Event | None = None) -> int:
        async with pg.session() as session:
            pid = int(await session.scalar(text("SELECT pg_backend_pid()")))
            if hold is not None:
                await hold.wait()
            return pid

    release = asyncio.Event()
    burst = [asyncio.create_task(backend(release)) for _ in range(5)]
    await asyncio.sleep(0.2)
    release.set()
    assert len(set(await asyncio.gather(*burst))) == 5  # a burst opened five connections
    # one at a time afterwards: always the same one (first in, first out took the five in turn, each preparing
    # every statement of its own)
    assert len({await backend() for _ in range(6)}) == 1
