"""The in-loop SQLite driver: waiting for another connection's lock suspends the coroutine, not the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from catalog import sqlite_driver
from catalog.db import Database


async def open_pair(path: Path, busy_timeout: float) -> tuple[sqlite_driver.Connection, sqlite_driver.Connection]:
    connect = sqlite_driver.async_creator(make_url(f"sqlite+aiosqlite:///{path}"), busy_timeout=busy_timeout)
    first, second = await connect(), await connect()
    await first.execute("PRAGMA journal_mode=WAL")
    await first.execute("CREATE TABLE t (x INTEGER)")
    await first.commit()
    return first, second


class Ticker:
    """Counts event-loop turns while a test waits, to show the loop was never blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    def stop(self) -> None:
        self._task.cancel()


async def test_a_write_waits_for_the_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    holder, waiter = await open_pair(tmp_path / "a.db", busy_timeout=5.0)
    await holder.execute("INSERT INTO t VALUES (1)")  # holds the write lock until commit
    ticker = Ticker()
    write = asyncio.ensure_future(waiter.execute("INSERT INTO t VALUES (2)"))
    await asyncio.sleep(0.2)
    assert not write.done()  # still waiting for the lock…
    assert ticker.ticks >= 10  # …while the loop kept running
    await holder.commit()
    await asyncio.wait_for(write, 1.0)
    await waiter.commit()
    ticker.stop()
    rows = await (await holder.execute("SELECT x FROM t ORDER BY x")).fetchall()
    assert rows == [(1,), (2,)]


async def test_the_wait_ends_with_sqlites_own_error_after_the_busy_timeout(tmp_path: Path) -> None:
    holder, waiter = await open_pair(tmp_path / "b.db", busy_timeout=0.3)
    await holder.execute("INSERT INTO t VALUES (1)")
    ticker = Ticker()
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await waiter.execute("INSERT INTO t VALUES (2)")
    waited = time.monotonic() - started
    ticker.stop()
    assert 0.3 <= waited < 2.0 and ticker.ticks >= 20
    await holder.commit()
    await waiter.rollback()
    assert await (await waiter.execute("SELECT count(*) FROM t")).fetchall() == [(1,)]  # nothing half-written


async def test_a_stale_snapshot_fails_at_once_because_waiting_cannot_help(tmp_path: Path) -> None:
    writer, reader = await open_pair(tmp_path / "c.db", busy_timeout=5.0)
    await reader.execute("BEGIN")
    await (await reader.execute("SELECT count(*) FROM t")).fetchall()  # the reader's snapshot starts here
    await writer.execute("INSERT INTO t VALUES (1)")
    await writer.commit()
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError) as caught:
        await reader.execute("INSERT INTO t VALUES (2)")
    assert caught.value.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT
    assert time.monotonic() - started < 1.0
    await reader.rollback()


async def test_two_engines_on_one_file_take_turns_through_sqlalchemy(tmp_path: Path) -> None:
    """Like two processes: one holds a write transaction across an await, the other's write waits its turn."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    first, second = Database(url), Database(url)
    async with first.session() as session:
        await session.execute(text("CREATE TABLE counter (n INTEGER)"))
        await session.execute(text("INSERT INTO counter VALUES (0)"))
    release = asyncio.Event()

    async def hold() -> None:
        async with first.session() as session:
            await session.execute(text("UPDATE counter SET n = n + 1"))
            await release.wait()  # e.g. a network call while holding the row

    async def write() -> None:
        async with second.session() as session:
            await session.execute(text("UPDATE counter SET n = n * 10"))

    holding = asyncio.ensure_future(hold())
    await asyncio.sleep(0.05)
    writing = asyncio.ensure_future(write())
    await asyncio.sleep(0.1)
    assert not writing.done()  # waiting for the first engine's transaction
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, writing), 2.0)
    async with second.session() as session:
        assert await session.scalar(text("SELECT n FROM counter")) == 10  # (0 + 1) * 10: one after the other
    await first.dispose()
    await second.dispose()
