"""Database setup: the async engine and sessions, Alembic migrations, and first-run seeding."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import namedtuple
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import greenlet_spawn

from catalog import sqlite_driver
from catalog.models import Product

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(None|['"]([\w.-]+)['"])\s*(?:#.*)?$""", re.M)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers run beside the writer and makes a commit ~4x cheaper; with synchronous=NORMAL a
    # killed process loses nothing committed (only a power cut could lose the last transactions).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# PostgreSQL connections live at most this long (seconds): retired before the idle timeouts of firewalls, NAT
# and poolers can cut them silently, instead of pinging each one at every checkout.
POOL_RECYCLE = 600
POOL_SIZE = 20  # PostgreSQL connections a process's pool keeps open (once it needed them) ...
POOL_MAX = 30  # ... and opens at most, the rest closed when handed back
# Transactions that change nothing but these tables (a chat's language, last results, menu, form) commit
# without waiting for the WAL flush; see "PostgreSQL: what a message costs" in the README.
CHAT_STATE_TABLES = frozenset({"chat_sessions"})
_WRITES = "ocop_tables_written"
_NEUTRAL = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK TO", "SHOW")


def _replace_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool checkout: a connection the server has closed (restart, pg_terminate_backend, idle timeout) is
    known to the driver already; raising DisconnectionError makes the pool open a fresh one in its place.
    No round trip, unlike pool_pre_ping's BEGIN, ";" and ROLLBACK on every checkout."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)  # asyncpg
    closed = is_closed() if callable(is_closed) else bool(getattr(driver, "closed", False))  # psycopg
    if closed:
        raise DisconnectionError("the server closed this pooled connection")


def _forget_writes(conn: Any) -> None:
    conn.info[_WRITES] = set()
    conn.info.pop(_LAZY_SET, None)


def _note_write(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    """Which tables the transaction changes: a DML statement's table, "*" for anything else not known harmless."""
    writes = conn.info.setdefault(_WRITES, set())
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        writes.add(getattr(table, "name", "*"))
    elif not statement.lstrip().upper().startswith(_NEUTRAL):
        writes.add("*")


class Prebuilt:
    """A Core statement compiled once per dialect and run on the driver's own connection (the in-loop SQLite driver's
    or asyncpg's), its parameters and result columns converted by their SQLAlchemy types as SQLAlchemy would.

    For the hot path's few statements: SQLAlchemy's execution around a statement (cache key, execution context,
    result object, the greenlet hand-over) costs ≈0.1 ms of CPU, several times the statement's own work on SQLite
    (a look at a chat: ≈110 µs through `AsyncConnection.execute`, ≈13 µs through the driver). Only where nothing
    else watches the statement: SQLite (the driver's own implicit transaction, which SQLAlchemy's commit ends), a
    PostgreSQL connection in autocommit, or a session's connection on which SQLAlchemy has begun nothing yet (asyncpg
    would not be inside SQLAlchemy's lazily begun transaction: the statement commits by itself, as
    `catalog/sessions.py`'s `PendingWrite` wants) or has begun its transaction already (the statement runs inside
    it). The tables a transaction writes are noted from SQLAlchemy's events, which do not see these statements: the
    caller notes its own (`note_written`). Rows come back as named tuples."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._built: dict[str, tuple[str, tuple[tuple[str, Any, Any], ...], tuple[Any, ...], Any]] = {}

    def _build(self, dialect: Any) -> tuple[str, tuple[tuple[str, Any, Any], ...], tuple[Any, ...], Any]:
        compiled = self.statement.compile(dialect=dialect)
        binds = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            default = bind.value if not bind.required else _REQUIRED
            binds.append((name, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        columns = self.statement.exported_columns
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        row = namedtuple("Row", list(columns.keys()), rename=True)  # type: ignore[misc]  # noqa: PYI024
        built = (compiled.string, tuple(binds), results, row)
        self._built[dialect.name] = built
        return built

    async def rows(self, conn: AsyncConnection | Turn, params: dict[str, Any]) -> list[Any]:
        """The statement's rows (or RETURNING rows), run on `conn`'s driver connection (a `Turn`'s: see there)."""
        dialect = conn.dialect
        sql, binds, results, row = self._built.get(dialect.name) or self._build(dialect)
        args = []
        for name, default, process in binds:
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(name)
            args.append(process(value) if process is not None else value)
        if isinstance(conn, Turn):
            driver = conn.driver  # its implicit transaction is the turn's, which the turn commits
        else:
            if self.statement.is_dml and not conn.in_transaction():
                await conn.begin()  # SQLite: so that SQLAlchemy's commit ends the driver's implicit transaction
            driver = await driver_connection(conn)
        if dialect.name == "sqlite":
            cursor = await driver.execute(sql, args)  # type: ignore[union-attr]
            fetched = await cursor.fetchall()
        else:
            fetched = await driver.fetch(sql, *args)  # type: ignore[union-attr]
        return [row(*[value if process is None else process(value) for process, value in zip(results, raw, strict=True)])
                for raw in fetched]


async def driver_connection(conn: AsyncConnection) -> Any:
    """The driver's own connection under `conn` (asyncpg's, or the in-loop SQLite driver's). Taken from the
    connection at hand when it has one, as it does once checked out: `AsyncConnection.get_raw_connection` would
    spend a greenlet hand-over (≈20 µs of CPU) on every hot statement for it."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection.driver_connection  # no I/O: the pooled connection is there
    return (await conn.get_raw_connection()).driver_connection


_REQUIRED = object()
_PREBUILT: dict[int, Prebuilt] = {}


def prebuilt(statement: Any) -> Prebuilt:
    """The statement's `Prebuilt`, made on first use (the hot path's statements are built once and kept, so this
    stays as small as they are few)."""
    found = _PREBUILT.get(id(statement))
    if found is None or found.statement is not statement:
        found = _PREBUILT[id(statement)] = Prebuilt(statement)
    return found


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


_LAZY_SET = "ocop_commit_lazy"
# A session of `Database.session` on PostgreSQL may leave its chat state's write and its inbox entry's handled mark to
# its end (`catalog/sessions.py`'s `PendingWrite`), to send them as one statement.
_DEFERRABLE = "ocop_deferrable"
PENDING_WRITE = "ocop_pending_write"


def may_defer(session: AsyncSession | Turn) -> bool:
    """Whether `session` writes what was left to its end (`PENDING_WRITE`) before it commits: a session of
    `Database.session` on PostgreSQL."""
    return bool(session.info.get(_DEFERRABLE))


def in_driver_transaction(raw_driver: Any) -> bool:
    """Whether the driver connection (asyncpg) has a transaction open: SQLAlchemy begins one lazily, with the first
    statement it sends, so a session that sent nothing yet has none."""
    return bool(raw_driver.is_in_transaction())


def note_written(conn: AsyncConnection, table: str) -> None:
    """A statement run on the driver directly (`Prebuilt`, which SQLAlchemy's events do not see) wrote `table`."""
    conn.info.setdefault(_WRITES, set()).add(table)


def writes_only_chat_state(conn: AsyncConnection) -> bool:
    """Whether the transaction on `conn` has written nothing but chat state so far (PostgreSQL only)."""
    return conn.info.get(_WRITES, set()) <= CHAT_STATE_TABLES


def lazy_commit_set(conn: AsyncConnection, *, also_written: str = "") -> None:
    """The caller has turned the commit asynchronous already, inside its own statement (`set_config(
    'synchronous_commit', 'off', true)` in the RETURNING of the chat state's UPDATE, or of the inbox's handled
    mark): no round trip for it. `also_written`: the table that statement wrote, which may commit lazily too
    (the inbox's handled mark); any other table written later still makes the commit synchronous."""
    conn.info[_LAZY_SET] = True
    if also_written:
        conn.info.get(_WRITES, set()).discard(also_written)


async def _commit_chat_state_lazily(session: AsyncSession) -> None:
    """A transaction that changed only chat state commits without waiting for the WAL flush
    (`SET LOCAL synchronous_commit = off`): a crash of the database server — not of the bot — may lose its
    last ~0.2–0.6 s of such commits (a language choice, a page of results, a form answer). Leads, the
    outbox, the inbox and staff actions always wait: any other table written keeps the commit synchronous
    (turned back on when the chat state's UPDATE had already turned it off)."""
    conn = await session.connection()  # the one in use; no round trip
    writes = conn.info.get(_WRITES) or set()
    lazy_already = conn.info.pop(_LAZY_SET, False)
    if writes <= CHAT_STATE_TABLES:
        if writes and not lazy_already:
            await conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    elif lazy_already:
        await conn.exec_driver_sql("SET LOCAL synchronous_commit = on")


def _alembic_head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


@cache
def quick_head_revision(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The newest migration's revision, read from the `revision = "…"` and `down_revision = "…"` lines of the
    scripts in migrations/versions without importing Alembic; None whenever that reading is not certain (a
    script without both lines, a merge, several heads): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        if path.name == "__init__.py":
            continue
        lines = {name: revision for name, _, revision in _REVISION_LINE.findall(path.read_text(encoding="utf-8"))}
        if set(lines) != {"revision", "down_revision"} or not lines["revision"]:
            return None
        revisions.add(lines["revision"])
        if lines["down_revision"]:
            parents.add(lines["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _end_session(sync: Session, transaction: SessionTransaction, error: BaseException | None) -> None:
    """`Database.session`'s end on SQLite (and a `Turn`'s session's), in one greenlet hop: the transaction's end as
    `async with session.begin()` ends it (commit, or rollback on `error`; a failed commit rolled back and raised), then
    the session closed."""
    try:
        if error is None:
            transaction.__exit__(None, None, None)
        else:
            transaction.__exit__(type(error), error, error.__traceback__)
    finally:
        sync.close()


async def session_connection(session: AsyncSession | Turn) -> AsyncConnection | Turn:
    """The connection the hot statements (`Prebuilt`) of `session`'s transaction run on: a `Turn` itself while it
    has no ORM session open (its statements go to its driver connection), else its session's connection.

    For a session: `await session.connection()`, without its greenlet hand-over when this transaction of the session
    has taken its connection already (the hot path asks for it twice a message: the chat state's write, the inbox's
    mark).
    Kept in `session.info` with the transaction it belongs to: a session committed or rolled back meanwhile
    begins another transaction, which takes its connection through SQLAlchemy again."""
    if isinstance(session, Turn):
        if session.lean:
            return session
        session = session.session
    kept = session.info.get(_CONNECTION)
    transaction = session.sync_session.get_transaction()
    if kept is not None and kept[0] is transaction and transaction is not None and transaction.is_active:
        conn: AsyncConnection = kept[1]
        sync = conn.sync_connection
        if sync is not None and not sync.closed and not sync.invalidated and sync.in_transaction():
            return conn
    conn = await session.connection()
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), conn)
    return conn


_CONNECTION = "ocop_connection"


class Turn:
    """The router's transaction for one message, SQLAlchemy's ORM session opened in it only when something asks.

    Most messages need no ORM: their statements (the chat state's UPDATE, the inbox's marks, through `Prebuilt`) run on
    the driver connection the turn took from the pool. An ORM session with its connection costs ≈85 µs of CPU a message
    on SQLite in a tight loop (≈135 µs on PostgreSQL, with no round trip), against ≈20 µs for SQLite's statement and
    commit themselves. On SQLite they run in the driver's implicit transaction, which the turn commits (or rolls back)
    at its end; on PostgreSQL they are left to the turn's end (`PendingWrite`), where they go as one statement on the
    driver in autocommit, as `Database.session` sends them when nothing else went through its session.

    When something asks for `session` (a handler's query, a lead, the chat's row read afresh, the catalogue's version)
    it is opened on that same connection (bound to a SQLAlchemy `Connection` made on it): everything the message does
    still commits or rolls back together, whatever came first (on PostgreSQL what was left to the end goes to the
    session's end), and from then on the hot statements go through the session's connection, as without a turn.

    An in-memory SQLite database (one shared connection, which its pool rolls back when handed back) has
    `Database.session`'s session as its turn, opened at once.

    A *lent* turn (PostgreSQL on asyncpg, `Database.lending`) runs on the connection that holds the chat's turn in
    bot/inbox.py, idle while the chat's entry is handled, instead of one of its own from the pool: its one write goes
    there, in autocommit, and nothing is handed back at its end (the lender keeps the connection). Its ORM session, when
    asked for, is a session of its own on a pooled connection (`Database.session`'s kind): nothing ran on the lent
    connection before (on PostgreSQL what a lean turn writes waits for its end), so the message's writes still commit
    or roll back together, in the session, and the lent connection is left as it was lent."""

    __slots__ = ("db", "dialect", "info", "_fairy", "_session", "_transaction", "_discarded", "_lent")

    def __init__(self, db: Database, *, fairy: Any = None, session: AsyncSession | None = None,
                 lent: bool = False) -> None:
        self.db = db
        self.dialect = db.engine.dialect
        self.info: dict[str, Any] = {}  # as a connection's and a session's (`note_written`, `PENDING_WRITE`)
        self._fairy = fairy  # the pool's connection, or None (the session's, given)
        self._session = session
        self._transaction: SessionTransaction | None = None
        self._discarded = False  # `discard`: the connection is closed, not handed back to the pool
        self._lent = lent  # `_fairy` is lent (`Database.lending`): never closed nor handed back by this turn
        if fairy is not None and self.dialect.name == "postgresql":
            self.info[_DEFERRABLE] = True

    @property
    def lean(self) -> bool:
        """Whether no ORM session is open: the hot statements go to the driver connection directly."""
        return self._session is None

    @property
    def driver(self) -> Any:
        """The driver's connection (the in-loop SQLite driver's, or asyncpg's) the turn holds."""
        return self._fairy.driver_connection

    @property
    def session(self) -> AsyncSession:
        """The message's ORM session, in the turn's transaction (opened on first use)."""
        if self._session is None:
            engine = self.db.engine
            if self._lent:  # a session of its own, on a pooled connection taken with its first statement
                session = AsyncSession(bind=engine, expire_on_commit=False)
            else:
                conn = AsyncConnection(engine, Connection(engine.sync_engine, connection=self._fairy))
                session = AsyncSession(bind=conn, expire_on_commit=False)
            transaction = session.sync_session.begin()  # no I/O: the connection's begins with its first statement
            transaction.__enter__()
            if self.dialect.name == "postgresql":  # what was left to the end now goes with the session's
                session.info[_DEFERRABLE] = True
                pending = self.info.pop(PENDING_WRITE, None)
                if pending is not None:
                    session.info[PENDING_WRITE] = pending
            self._session, self._transaction = session, transaction
        return self._session

    async def discard(self) -> None:
        """Close the turn's connection instead of handing it back to the pool at the turn's end: what it holds is not
        known (a statement that may have taken a session-level advisory lock failed or was cancelled halfway, or the
        release of one did). The lock ends with the connection's backend. For a lean turn (no ORM session open): the
        chat's turn in bot/inbox.py opens none."""
        if self._discarded:
            return
        self._discarded = True
        if self._lent:  # the lender decides about its connection; the session's own is rolled back and closed at the end
            return
        if self._session is not None:
            await self._session.bind.invalidate()  # type: ignore[union-attr]
        else:
            await greenlet_spawn(self._fairy.invalidate)

    def hot(self) -> AsyncSession | Turn:
        """What the hot statements' functions (`save_chat`, `mark_handled`, `write_done`) take: the turn while it is
        lean, its session once opened."""
        return self if self._session is None else self._session

    async def _end(self, error: BaseException | None) -> None:
        """Commit (or, on `error`, roll back) what went through the session and what went to the driver directly,
        then hand the connection back to the pool. On PostgreSQL what was left to the end is written first; when it
        fails (`StaleChat`, `AlreadyHandled`), the rest is rolled back and that error raised."""
        postgresql = self.dialect.name == "postgresql"
        session = self._session
        left_failed: BaseException | None = None
        try:
            if error is None and postgresql:
                try:
                    await self._write_left(session)
                except BaseException as failed:
                    left_failed = error = failed
            if session is not None:  # commit (or roll back) and close, as `Database.session` does
                await greenlet_spawn(_end_session, session.sync_session, self._transaction, error)
            if error is None and not postgresql:
                await self.driver.commit()  # what ran on the driver only (nothing is open when the session committed it)
        except BaseException as failed:
            error = failed
            raise
        finally:
            if error is not None and not postgresql and not self._discarded:
                await self.driver.rollback()
            # the pool's connection handed back (on PostgreSQL its reset awaits: a ROLLBACK if a transaction is open)
            owner = self._fairy if session is None or self._lent else session.bind.sync_connection  # type: ignore[union-attr]
            close = owner.close
            if self._discarded or self._lent:
                pass  # closed already (`discard`), the pool's record given back with it; or lent: the lender's
            elif postgresql:
                await greenlet_spawn(close)
            else:
                close()
        if left_failed is not None:
            raise left_failed

    async def _write_left(self, session: AsyncSession | None) -> None:
        """PostgreSQL: what was left to the turn's end (`PendingWrite`), then the commit made asynchronous when only
        chat state was written, as `Database.session` does before its commit."""
        owner: AsyncSession | Turn = session if session is not None else self
        pending = owner.info.pop(PENDING_WRITE, None)
        if pending is not None:
            await pending.write(owner)
        if session is not None:
            await _commit_chat_state_lazily(session)


def bound_engine(session: AsyncSession) -> AsyncEngine | None:
    """The engine `session` works on: its bind, or its bind's engine when bound to a connection (a `Turn`'s)."""
    bind = session.bind
    return bind.engine if isinstance(bind, AsyncConnection) else bind


def orm_session(session: AsyncSession | Turn) -> AsyncSession:
    """The ORM session of `session` (a turn's, opened if need be, or the session itself)."""
    return session.session if isinstance(session, Turn) else session


class _Lent:
    """A connection lent to `Database.turn` (`Database.lending`): to whom (the task that lends it: a task it starts
    inherits the context but may outlive the loan), and whether a turn is using it now."""

    __slots__ = ("db", "fairy", "task", "busy")

    def __init__(self, db: Database, fairy: Any, task: asyncio.Task[Any] | None) -> None:
        self.db = db
        self.fairy = fairy
        self.task = task
        self.busy = False


_LENT: ContextVar[_Lent | None] = ContextVar("ocop_lent_connection", default=None)


class Database:
    """One engine and session factory per process; every layer gets it passed in."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:"):
                # One shared connection, or every session would see its own empty database.
                kwargs["poolclass"] = StaticPool
                kwargs["async_creator"] = sqlite_driver.async_creator(parsed)
            else:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                kwargs["async_creator"] = sqlite_driver.async_creator(parsed)
                # Sessions always end in commit or rollback, so the pool's extra ROLLBACK on return
                # would be a wasted statement on every message.
                kwargs["pool_reset_on_return"] = None
        else:
            # Up to 8 chats handled at once, each with its turn (bot/inbox.py) and its transaction: 16 connections,
            # 2 more chats' turns looked ahead while they wait for a slot (`InboxProcessor.ahead`), plus the webhook's
            # accepts (one transaction at a time), the outbox and the reorder checks. The pool
            # keeps that many open: a connection closed when handed back and opened again costs the connect, a new
            # backend on the server and its statements prepared again (a pool of 10 did so every few updates).
            # Last in, first out: the connection handed back last is the next one taken, so a process keeps reusing
            # the few it needs at its usual pace, each with its statements prepared (asyncpg prepares a statement
            # once per connection) and its server backend's caches warm; the others wait idle for a burst. (First
            # in, first out, the default, took every kept connection in turn, and each prepared every statement.)
            kwargs.update(pool_recycle=POOL_RECYCLE, pool_size=POOL_SIZE, max_overflow=POOL_MAX - POOL_SIZE,
                          pool_use_lifo=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        elif parsed.get_backend_name() == "postgresql":
            event.listen(self.engine.sync_engine.pool, "checkout", _replace_closed)
            event.listen(self.engine.sync_engine, "begin", _forget_writes)
            event.listen(self.engine.sync_engine, "before_cursor_execute", _note_write)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # The router's turns open the ORM session only when asked (`Turn`); not on an in-memory SQLite database (one
        # shared connection, which its pool rolls back when it is handed back).
        self._lean_turns = parsed.get_driver_name() == "asyncpg" or (
            parsed.get_backend_name() == "sqlite" and (parsed.database or "") not in ("", ":memory:"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def lean_turns(self) -> bool:
        """Whether `turn` hands out a pooled connection whose statements go to the driver (`Turn.lean`) until a
        session is asked for: asyncpg, and SQLite in a file."""
        return self._lean_turns

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        session = self.sessionmaker()
        if self.dialect == "sqlite":
            # `async with session.begin()` and then `session.close()`, with one greenlet hand-over instead of three
            # (each ≈8 µs of CPU, more with the caches cold between messages): the begin runs here, as it does no
            # I/O (SQLite's transaction begins with the first statement, and no `after_transaction_create` listener
            # does any), and the commit or rollback and the close share one hop. Closing only hands the connection
            # back to the pool, without suspending (the SQLite driver runs on this thread), so nothing can cancel it
            # halfway (SQLAlchemy's `async with` would spend a task of its own on that, a loop turn per message).
            sync = session.sync_session
            transaction = sync.begin()
            transaction.__enter__()
            try:
                yield session
            except BaseException as error:
                await greenlet_spawn(_end_session, sync, transaction, error)
                raise
            await greenlet_spawn(_end_session, sync, transaction, None)
            return
        try:
            async with session.begin():
                if self.dialect == "postgresql":
                    session.info[_DEFERRABLE] = True
                yield session
                if self.dialect == "postgresql":
                    pending = session.info.pop(PENDING_WRITE, None)
                    if pending is not None:  # the chat state and the handled mark, as one statement
                        await pending.write(session)
                    await _commit_chat_state_lazily(session)
        finally:
            await session.__aexit__(None, None, None)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[Turn]:
        """The router's transaction for one message (`Turn`): committed on success, rolled back on any error."""
        if not self._lean_turns:
            async with self.session() as session:
                yield Turn(self, session=session)
            return
        lent = _LENT.get()
        if lent is not None and lent.db is self and not lent.busy and lent.task is asyncio.current_task():
            # the connection holding the chat's turn, idle while its entry is handled (`lending`): no checkout
            lent.busy = True
            turn = Turn(self, fairy=lent.fairy, lent=True)
        else:
            lent = None
            turn = Turn(self, fairy=await greenlet_spawn(self.engine.sync_engine.raw_connection))
        try:
            try:
                yield turn
            except BaseException as error:
                await turn._end(error)
                raise
            await turn._end(None)
        finally:
            if lent is not None:
                lent.busy = False

    @contextmanager
    def lending(self, turn: Turn) -> Iterator[None]:
        """While the block runs in this task (not in tasks it starts), `turn`'s connection (a lean turn of PostgreSQL on
        asyncpg, idle meanwhile: bot/inbox.py's chat's turn while the chat's entry is handled) serves `Database.turn`
        instead of a connection from the pool, for one turn at a time (another one meanwhile takes its own). The router's
        message then writes on the backend that holds the chat's turn, without a checkout and a check-in of its own
        (≈28 µs of CPU a message in a tight loop). Nothing is lent on SQLite or through another driver."""
        if not (self._lean_turns and self.dialect == "postgresql" and turn.lean and not turn._lent):
            yield
            return
        token = _LENT.set(_Lent(self, turn._fairy, asyncio.current_task()))
        try:
            yield
        finally:
            _LENT.reset(token)

    async def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

    def head_revision(self) -> str | None:
        return quick_head_revision() or _alembic_head_revision(self.url)

    async def _stored_revision(self) -> str | None:
        """The revision in `alembic_version` with one plain SELECT (None without the table or a row)."""
        async with self.engine.connect() as conn:
            if not await conn.run_sync(lambda c: c.dialect.has_table(c, "alembic_version")):
                return None
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        return rows[0] if len(rows) == 1 else None

    async def upgrade(self) -> bool:
        """Apply pending migrations; returns True when anything was applied.

        An up-to-date database is recognised without Alembic (≈0.3 s of imports and script loading at every
        start): the stored revision against the head read from the migration files' own lines."""
        head = quick_head_revision()
        if head is not None and await self._stored_revision() == head:
            return False
        if await self.current_revision() == self.head_revision():
            return False
        from alembic import command

        cfg = alembic_config(self.url)

        def run(connection: Any) -> None:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

        async with self.engine.begin() as conn:
            await conn.run_sync(run)
        return True

    async def is_empty(self) -> bool:
        async with self.sessionmaker() as session:
            return (await session.scalar(select(Product.id).limit(1))) is None

    async def prepare(self, *, seed: bool = True) -> None:
        """Bring the schema up to date and, on an empty catalogue, load the demo catalogue."""
        if await self.upgrade():
            log.info("database migrated to %s", self.head_revision())
        if seed and await self.is_empty():
            from catalog.importer import seed_demo_catalog

            await seed_demo_catalog(self)

    async def dispose(self) -> None:
        await self.engine.dispose()
