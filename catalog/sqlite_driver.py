"""SQLite for SQLAlchemy's async engine, run on the event loop's own thread.

SQLAlchemy's `sqlite+aiosqlite` dialect drives aiosqlite, which runs each connection in a thread of its
own and hands every cursor(), execute(), fetchall(), close() and commit() across to it and back: about
0.1–0.4 ms of thread wake-ups each, and a chat message made a dozen or more of them. A statement on a
local SQLite file takes microseconds, so the hand-over cost far more than the work it moved (router p50
4.9 → 2.3 ms in benchmarks/bench_updates.py from this change alone).

This module gives the dialect (through `create_async_engine(async_creator=…)`) a connection with
aiosqlite's interface whose coroutines call `sqlite3` directly. The dialect, the URL
(`sqlite+aiosqlite://…`), the pool and every query stay as they are.

Waiting for a lock must not block the event loop, so SQLite's own busy handler is off (timeout 0) and
the wait happens here instead: a statement refused with SQLITE_BUSY (another connection, in this process
or another, holds the write lock) is retried after an `asyncio.sleep` that doubles from 1 ms to 50 ms,
until `busy_timeout` seconds have passed; then the error is raised as SQLite's would be. A refused
statement has changed nothing, so running it again is safe. SQLITE_BUSY_SNAPSHOT (the transaction read
an older version of the database than the one it would write to) can never succeed by waiting and is
raised at once. While waiting, the coroutine yields to the loop and every other chat goes on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL

FIRST_WAIT = 0.001
LONGEST_WAIT = 0.05


def _busy(error: sqlite3.OperationalError) -> bool:
    """Refused for a lock someone else holds, in a way that waiting can cure."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself, not by SQLite
        return False
    return code & 0xFF == sqlite3.SQLITE_BUSY and code != sqlite3.SQLITE_BUSY_SNAPSHOT


async def _patiently(busy_timeout: float, call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`, retried with an asynchronous back-off while SQLite answers SQLITE_BUSY."""
    deadline: float | None = None
    wait = FIRST_WAIT
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + busy_timeout
            if now >= deadline:
                raise
            await asyncio.sleep(min(wait, deadline - now))
            wait = min(wait * 2, LONGEST_WAIT)


class Cursor:
    """An aiosqlite-style cursor over a `sqlite3.Cursor`."""

    __slots__ = ("_cursor", "_busy_timeout")

    def __init__(self, cursor: sqlite3.Cursor, busy_timeout: float) -> None:
        self._cursor = cursor
        self._busy_timeout = busy_timeout

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        await _patiently(self._busy_timeout, self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> Cursor:
        rows = list(parameters)  # an iterator could not be replayed after a refusal
        await _patiently(self._busy_timeout, self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunNow:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation level:
    the request runs at once, on this thread."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future, as aiosqlite does
            future.set_exception(error)


class Connection:
    """An aiosqlite-style connection whose coroutines run `sqlite3` calls on the calling thread."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = connection
        self._busy_timeout = busy_timeout
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor(), self._busy_timeout)

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        return await Cursor(self._conn.cursor(), self._busy_timeout).execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._busy_timeout, self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        """Close without awaiting (SQLAlchemy's terminate when a connection is invalidated)."""
        self._conn.close()


def async_creator(url: URL, *, busy_timeout: float = 10.0) -> Callable[[], Any]:
    """The `async_creator` for `create_async_engine`: opens the database the URL names, with the same
    file name and URI handling as SQLAlchemy's own SQLite dialects; waits up to `busy_timeout` seconds
    for another connection's write lock, without blocking the loop."""
    args, kwargs = SQLiteDialect_pysqlite().create_connect_args(url)
    # SQLite's own busy handler would wait inside the call, blocking the loop: the wait is ours instead.
    kwargs["timeout"] = 0
    # SQLAlchemy may close a connection from the garbage collector's thread; it is never used by two
    # threads at once.
    kwargs["check_same_thread"] = False

    async def connect() -> Connection:
        return Connection(sqlite3.connect(*args, **kwargs), busy_timeout)

    return connect
