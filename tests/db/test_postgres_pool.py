"""PostgreSQL without waste: no ping on every checkout, a connection the server killed replaced at checkout, and
`SET LOCAL synchronous_commit = off` only in transactions that change nothing but chat state."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from catalog import inbox
from catalog.db import POOL_RECYCLE, Database, _replace_closed, orm_session
from catalog.models import ChatSession, InboxEntry, Lead
from catalog.sessions import load_chat, save_chat
from handlers.context import Services
from handlers.messages import Incoming
from handlers.router import Router
from tests.conftest import PG_URL, opened_database
from tests.fakes.pg_wire import PgWireCounter

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs OCOP_TEST_DATABASE_URL (PostgreSQL)")


_WIRES: dict[int, PgWireCounter] = {}
_BRACKETS = re.compile(r"^(BEGIN|COMMIT|ROLLBACK)\b", re.I)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Database]:
    """The database reached through a counter of what crosses the wire (tests/fakes/pg_wire.py): every statement
    counts, those run on asyncpg directly too."""
    async with PgWireCounter(pg_url) as wire, opened_database(wire.url) as db:
        _WIRES[id(db)] = wire
        try:
            yield db
        finally:
            del _WIRES[id(db)]


class Statements:
    """Every statement sent to the server since made (or cleared), without the transactions' BEGIN and COMMIT, the
    round trips, and how often the pool pinged."""

    def __init__(self, db: Database) -> None:
        self.wire = _WIRES[id(db)].counts
        self.start = self.wire.snapshot()
        self.pings = 0
        dialect = db.engine.dialect
        ping = dialect.do_ping

        def counted_ping(dbapi_connection: object) -> bool:
            self.pings += 1
            return ping(dbapi_connection)

        dialect.do_ping = counted_ping  # type: ignore[method-assign]

    @property
    def sent(self) -> list[str]:
        return [s for s in self.wire.since(self.start)[2] if not _BRACKETS.match(s)]

    @property
    def round_trips(self) -> int:
        return self.wire.since(self.start)[0]

    @property
    def async_commits(self) -> int:
        return sum("synchronous_commit" in s for s in self.sent)

    def clear(self) -> None:
        self.start = self.wire.snapshot()


async def backend_pid(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")))


async def kill(url: str, pid: int) -> None:
    """pg_terminate_backend from another connection; returns once the server has let the backend go."""
    other = Database(url)
    try:
        async with other.session() as session:
            assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):
            async with other.session() as session:
                gone = not await session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
            if gone:
                break
            await asyncio.sleep(0.05)
    finally:
        await other.dispose()
    await asyncio.sleep(0.05)  # the client end reads the server's goodbye on its next loop turn


async def test_no_ping_on_checkout_and_connections_recycled(pg: Database) -> None:
    counter = Statements(pg)
    for _ in range(5):
        await backend_pid(pg)
    assert counter.pings == 0
    assert pg.engine.sync_engine.pool._recycle == POOL_RECYCLE


async def test_a_killed_connection_is_replaced_at_checkout(pg: Database, pg_url: str) -> None:
    pid = await backend_pid(pg)
    assert await backend_pid(pg) == pid  # the pool hands the same connection back
    connects: list[object] = []
    event.listen(pg.engine.sync_engine.pool, "connect", lambda *a: connects.append(a))
    await kill(pg_url, pid)
    fresh = await backend_pid(pg)  # no error: the dead connection was noticed and replaced
    assert fresh != pid and len(connects) == 1
    async with pg.session() as session:  # and the fresh one works for real work
        assert await session.scalar(select(ChatSession.id).limit(1)) is None


async def test_without_the_checkout_check_a_killed_connection_fails_its_next_use(pg_url: str) -> None:
    """The contrast that shows the check is what saves the message (no pre-ping to fall back on)."""
    db = Database(pg_url)
    event.remove(db.engine.sync_engine.pool, "checkout", _replace_closed)
    try:
        pid = await backend_pid(db)
        await kill(pg_url, pid)
        with pytest.raises(DBAPIError):
            await backend_pid(db)
        assert await backend_pid(db) != pid  # the pool was invalidated: the next session reconnects
    finally:
        await db.dispose()


async def test_async_commit_only_for_chat_state(pg: Database) -> None:
    counter = Statements(pg)
    async with pg.session() as session:  # chat state only: the chat's row created…
        chat = await load_chat(session, "telegram", "42", "42")
    async with pg.session() as session:  # … and changed
        chat = await load_chat(session, "telegram", "42", "42")
        chat.language = "en"
        await save_chat(session, chat)
    assert counter.async_commits == 2
    # the change written at the session's end, its UPDATE turning the commit asynchronous (no statement of its own)
    assert counter.sent[-1].startswith("UPDATE chat_sessions") and "set_config" in counter.sent[-1]

    counter.clear()
    async with pg.session() as session:  # reading only: nothing to commit lazily
        await session.scalar(select(ChatSession.language))
    async with pg.session() as session:  # chat state and the inbox: the inbox must be durable
        chat = await load_chat(session, "telegram", "42", "42")
        chat.language = "vi"
        await save_chat(session, chat)
        await session.execute(
            insert(InboxEntry).values(channel="telegram", key="1", chat_key="42", payload={})
        )
    async with pg.session() as session:  # a lead
        await session.execute(update(Lead).where(Lead.id == -1).values(status="spam"))
    async with pg.session() as session:  # a statement whose effect is not known
        await session.execute(text("UPDATE chat_sessions SET language = 'vi' WHERE id = -1"))
    assert counter.async_commits == 0
    async with pg.session() as session:
        assert await session.scalar(select(ChatSession.language)) == "vi"


async def test_a_failed_transaction_sets_nothing(pg: Database) -> None:
    counter = Statements(pg)
    with pytest.raises(RuntimeError):
        async with pg.session() as session:
            chat = await load_chat(session, "telegram", "7", "7")
            chat.language = "en"
            await save_chat(session, chat)
            raise RuntimeError("handler failed")
    assert counter.async_commits == 0


async def test_router_message_commits_lazily_but_not_with_a_lead(pg: Database) -> None:
    """A message that changes only chat state commits lazily, with or without the inbox's handled mark (the
    update itself was accepted synchronously: a database crash can make it handled again, never lost); one that
    also writes anything else (here a lead) waits for the WAL flush, inbox mark or not."""
    settings = Settings(database_url=pg.url, staff_chat_id=-1000, staff_user_ids=frozenset({9001}))
    router = Router(Services(pg, settings))
    counter = Statements(pg)
    message = Incoming(channel="telegram", chat_id="501", user_id="501", text="mật ong Lục Ngạn")
    replies = await router.handle(message)
    assert replies and counter.async_commits == 1

    counter.clear()
    (entry,) = await inbox.accept(pg, "telegram", [("9001", "501", {}, 9001)], "test")
    assert counter.async_commits == 0  # accepting is always durable

    async def finish(session: object, answer: list[object], entry_id: int = entry.id) -> None:
        await inbox.mark_handled(session, entry_id, [])  # type: ignore[arg-type]

    await router.handle(
        Incoming(channel="telegram", chat_id="501", user_id="501", text="vải thiều"), finish=finish
    )
    assert counter.async_commits == 1
    (lazy,) = [s for s in counter.sent if "synchronous_commit" in s]
    assert lazy.startswith("WITH gate") and "handled_mark" in lazy and "chat_write" in lazy  # one statement
    assert not any("synchronous_commit = on" in s for s in counter.sent)

    counter.clear()
    (other,) = await inbox.accept(pg, "telegram", [("9002", "501", {}, 9002)], "test")

    async def finish_with_a_lead(session: object, answer: list[object]) -> None:
        # (the router's finish gets its turn, catalog/db.py's `Turn`: its ORM session opened here)
        await orm_session(session).execute(update(Lead).where(Lead.id == -1).values(status="spam"))  # type: ignore[arg-type]
        await inbox.mark_handled(session, other.id, [])  # type: ignore[arg-type]

    await router.handle(
        Incoming(channel="telegram", chat_id="501", user_id="501", text="mật ong"), finish=finish_with_a_lead
    )
    assert counter.async_commits == 0


def chat_message(text: str, chat: str = "601") -> Incoming:
    return Incoming(channel="telegram", chat_id=chat, user_id=chat, text=text)


async def test_a_message_that_changes_only_chat_state_sends_one_statement(pg: Database) -> None:
    """From the state this process committed last: no lock, no read; one statement checks the row's stamp, writes
    the change and turns the commit asynchronous, in autocommit: one round trip, no BEGIN or COMMIT."""
    settings = Settings(database_url=pg.url)
    router = Router(Services(pg, settings))
    await router.handle(chat_message("vải thiều"))  # the catalogue loaded, the chat's row made and cached
    await router.handle(chat_message("rượu"))  # (its statement prepared)
    counter = Statements(pg)
    replies = await router.handle(chat_message("mật ong"))
    assert replies
    assert len(counter.sent) == 1, counter.sent
    assert counter.sent[0].startswith("WITH gate") and "chat_write" in counter.sent[0]
    assert "synchronous_commit" in counter.sent[0]
    assert counter.round_trips == 1 and counter.wire.since(counter.start)[1]["P"] == 0  # prepared once, kept
    async with pg.session() as session:
        assert (await session.scalar(select(ChatSession.last_results).where(ChatSession.chat_id == "601")))


async def test_another_process_writing_the_chat_is_noticed(pg: Database, pg_url: str) -> None:
    """Two processes take turns on one chat: each starts from its own cache, finds the row changed by the
    other, and does the message again from the row — the list a number refers to is the one shown last."""
    settings = Settings(database_url=pg.url)
    other_db = Database(pg_url)
    try:
        first, second = Router(Services(pg, settings)), Router(Services(other_db, settings))
        await first.handle(chat_message("mật ong"))  # honey listed (first caches it)
        lychee = await second.handle(chat_message("vải thiều"))  # lychee listed by the other process
        shown = [b.payload for r in lychee for row in r.buttons for b in row if b.payload.startswith("p:")]
        assert shown
        counter = Statements(pg)
        picked = await first.handle(chat_message("1"))  # first's cache still has the honey list
        assert any("pg_advisory_xact_lock" in s for s in counter.sent)  # done again, under the lock
        first_slug = shown[0].removeprefix("p:")
        assert any(first_slug in b.payload for r in picked for row in r.buttons for b in row), picked
        async with pg.session() as session:
            stored = await session.scalar(select(ChatSession.last_results).where(ChatSession.chat_id == "601"))
        assert stored and "mat-ong" not in str(stored)
    finally:
        await other_db.dispose()


async def test_the_look_that_takes_a_chats_turn_brings_its_state_along(pg: Database, pg_url: str) -> None:
    """Behind a round-robin proxy a chat's messages reach each process in turn: the look that takes the chat's
    turn (catalog/inbox.py) also reads its state, so the process starts from the row as the other process left
    it — no message done twice, no read of its own, no lock — and the number refers to the list shown last."""
    settings = Settings(database_url=pg.url)
    other_db = Database(pg_url)
    try:
        first, second = Router(Services(pg, settings)), Router(Services(other_db, settings))
        assert await inbox.look_at_chat(pg, "telegram", "601") == inbox.Look(None, 0, False)
        await first.handle(chat_message("mật ong"))  # honey listed (first caches it)
        lychee = await second.handle(chat_message("vải thiều"))  # lychee listed by the other process
        shown = [b.payload for r in lychee for row in r.buttons for b in row if b.payload.startswith("p:")]
        assert shown
        await inbox.accept(pg, "telegram", [("u1", "601", {}, 1)], "test")
        async with pg.engine.connect() as conn:
            found = await inbox.look_at_chat(pg, "telegram", "601", conn=conn, turn=True, chat=True)
            assert found.mine and found.entry is not None and found.with_chat and found.chat is not None
            first.chats.refresh("telegram", "601", found.chat)
            counter = Statements(pg)
            picked = await first.handle(chat_message("1"))
            # (The catalogue's version, re-read at most once a second, may fall in this window on a slow machine.)
            sent = [s for s in counter.sent if "catalog_state" not in s]
            await inbox.end_chat_turn(conn, "telegram", "601")
        assert not any("pg_advisory_xact_lock" in s or s.startswith("SELECT") for s in sent), sent
        assert len(sent) == 1 and sent[0].startswith("WITH gate") and "chat_write" in sent[0], sent
        first_slug = shown[0].removeprefix("p:")
        assert any(first_slug in b.payload for r in picked for row in r.buttons for b in row), picked
        async with pg.engine.connect() as conn:  # a chat without a row yet: nothing to start from
            await inbox.accept(pg, "telegram", [("u2", "603", {}, 2)], "test")
            found = await inbox.look_at_chat(pg, "telegram", "603", conn=conn, turn=True, chat=True)
            assert found.with_chat and found.chat is None
            await inbox.end_chat_turn(conn, "telegram", "603")
        first.chats.refresh("telegram", "601", None)
        assert first.chats.load("telegram", "601") is None
    finally:
        await other_db.dispose()


async def test_a_cached_chat_writing_more_than_chat_state_is_done_under_the_lock(pg: Database) -> None:
    """A lead or a staff action is never written from a cached chat: save_chat asks for the message again."""
    from catalog.sessions import ChatCache, StaleChat

    cache = ChatCache()
    async with pg.session() as session:
        chat = await load_chat(session, "telegram", "602", "602")
    cache.keep(chat)
    with pytest.raises(StaleChat):
        async with pg.session() as session:
            cached = cache.load("telegram", "602")
            assert cached is not None
            await session.execute(insert(InboxEntry).values(channel="telegram", key="x", chat_key="602", payload={}))
            cached.language = "en"
            await save_chat(session, cached)
    async with pg.session() as session:  # rolled back: nothing of it stored
        assert await session.scalar(select(InboxEntry.id).where(InboxEntry.key == "x")) is None


async def test_a_chat_state_only_update_takes_three_round_trips_from_look_to_turns_end(pg: Database) -> None:
    """A Telegram update through the durable inbox that changes only chat state, as bot/inbox.py runs it: the look
    that takes the chat's turn (one statement), the router's transaction (the chat state's change and the handled
    mark as one statement in autocommit) and the turn's end (the done mark, its commit and the unlock as one simple
    query). Three round trips; nothing prepared again."""
    settings = Settings(database_url=pg.url)
    router = Router(Services(pg, settings))

    async def one_update(update_id: int, text: str) -> tuple[int, list[str]]:
        (entry,) = await inbox.accept(pg, "telegram", [(str(update_id), "611", {}, update_id)], "test")
        async with pg.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            counter = Statements(pg)
            found = await inbox.look_at_chat(pg, "telegram", "611", conn=conn, turn=True, chat=True)
            assert found.mine and found.entry is not None and found.entry.id == entry.id
            if found.with_chat:
                router.chats.refresh("telegram", "611", found.chat)

            async def finish(session: object, replies: list[object]) -> None:
                await inbox.mark_handled(session, entry.id, ["a reply"])  # type: ignore[arg-type]

            assert await router.handle(chat_message(text, "611"), finish=finish)
            await inbox.end_chat_turn(conn, "telegram", "611", [(entry.id, "")])
            trips, messages, sent = counter.wire.since(counter.start)
            assert messages["P"] == 0 or update_id < 3, counter.sent  # prepared by the first updates, then kept
        async with pg.session() as session:
            assert await session.scalar(select(InboxEntry.status).where(InboxEntry.id == entry.id)) == "done"
        return trips, sent

    await one_update(1, "vải thiều")  # the chat's row made (under the lock: more round trips)
    await one_update(2, "mật ong")
    counted = [await one_update(n, text) for n, text in ((3, "rượu làng Vân"), (4, "gạo nếp"), (5, "vải thiều"))]
    # The catalogue's version is read again at most once a second, in the message's session: a slow machine may put
    # that read (BEGIN, SELECT, and then the write inside the transaction, COMMIT) in any update. The others: three.
    plain = [trips for trips, sent in counted if not any("catalog_state" in s for s in sent)]
    assert plain and all(trips == 3 for trips in plain), counted
    assert all(trips == 6 for trips, sent in counted if any("catalog_state" in s for s in sent)), counted
    async with pg.session() as session:
        stored = await session.scalar(select(ChatSession.last_results).where(ChatSession.chat_id == "611"))
    assert stored and "vai" in str(stored)


async def test_the_one_statement_writes_both_or_neither(pg: Database) -> None:
    """The chat state's change and the handled mark, gated together: an entry handled elsewhere meanwhile leaves the
    chat's row as it was (AlreadyHandled); a chat's row changed elsewhere leaves the entry pending (StaleChat)."""
    from catalog.sessions import ChatCache, StaleChat

    cache = ChatCache()
    async with pg.session() as session:
        chat = await load_chat(session, "telegram", "612", "612")
    cache.keep(chat)

    async def write_and_mark(entry_id: int) -> None:
        """This process's message: the cached chat's language changed, and the entry marked handled."""
        async with pg.session() as session:
            cached = cache.load("telegram", "612")
            assert cached is not None
            cached.language = "en"
            await save_chat(session, cached)
            await inbox.mark_handled(session, entry_id, [])

    (entry,) = await inbox.accept(pg, "telegram", [("1", "612", {}, 1)], "test")
    async with pg.engine.begin() as conn:  # another process handled it
        await conn.execute(update(InboxEntry).where(InboxEntry.id == entry.id).values(status="handled"))
    with pytest.raises(inbox.AlreadyHandled):
        await write_and_mark(entry.id)
    async with pg.session() as session:
        assert await session.scalar(select(ChatSession.language).where(ChatSession.chat_id == "612")) is None

    (second,) = await inbox.accept(pg, "telegram", [("2", "612", {}, 2)], "test")
    async with pg.engine.begin() as conn:  # another process wrote the chat
        await conn.execute(update(ChatSession).where(ChatSession.chat_id == "612").values(language="vi"))
    with pytest.raises(StaleChat):
        await write_and_mark(second.id)
    async with pg.session() as session:
        assert await session.scalar(select(InboxEntry.status).where(InboxEntry.id == second.id)) == "pending"
        assert await session.scalar(select(ChatSession.language).where(ChatSession.chat_id == "612")) == "vi"
