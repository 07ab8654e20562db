"""What the benchmarks share: the fake Bot API server in a child process, and percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from catalog.db import Database
from catalog.models import Base

ROOT = Path(__file__).resolve().parent.parent


class FakeServer:
    """The fake Bot API (tests/fakes/telegram_api.py) in a child process, so its work does not share the
    measured process's event loop or CPU time. `script` runs there with the bot token as its argument; it
    prints {"base_url": …} once listening, then may answer JSON commands line by line (`send`), and
    stops when its standard input is closed (`stop`)."""

    def __init__(self, process: asyncio.subprocess.Process, base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    @classmethod
    async def start(cls, script: str, token: str) -> FakeServer:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, token, cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert process.stdout is not None
        hello = json.loads(await process.stdout.readline())
        return cls(process, hello["base_url"])

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (Linux /proc; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def send(self, command: dict[str, Any]) -> dict[str, Any]:
        """One command line to the script, its one-line JSON answer back."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps(command, ensure_ascii=False) + "\n").encode())
        await self.process.stdin.drain()
        return dict(json.loads(await self.process.stdout.readline()))

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def fresh_database(url: str) -> Database:
    """A database with the current schema and nothing else (SQLite: a new file; PostgreSQL: tables dropped)."""
    db = Database(url)
    if db.dialect != "sqlite":
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await db.prepare()
    return db
