"""Benchmark what one chat message costs the database: round trips and time, on PostgreSQL (and SQLite).

Run from the project root:  PYTHONPATH=. python benchmarks/bench_roundtrips.py --pg URL [--messages 300]
                                [--sqlite] [--rounds 3]

The URL must name a database of the benchmark's own: its tables are dropped first. A scripted conversation
(searches, a product card, stores near a district, a language switch, the menu) is sent by 10 chats, one
message at a time, straight to the router (no Telegram, no network but the database's), two ways:
  chat    `Router.handle` alone, as the terminal chat does: lock, load and save chat state;
  inbox   as a Telegram update goes with the durable inbox: accepted (one transaction), handled with the
          inbox entry marked in the handler's transaction, then marked done once "sent" (a third one).
Round trips are counted with SQLAlchemy events: every statement sent, plus the BEGIN and COMMIT/ROLLBACK
of each transaction that sent one (asyncpg sends BEGIN lazily, with the first statement), plus three for
each pool pre-ping (BEGIN, ";" and ROLLBACK); a connection in autocommit sends neither BEGIN nor COMMIT.
Statements run on the driver directly (catalog/db.py's `Prebuilt`: on SQLite the chat state's UPDATE and the
inbox's marks) pass no SQLAlchemy event and are not counted: SQLite's figures are a lower bound.
On PostgreSQL the engine reaches the server through a local proxy that counts what really crosses the wire
(`tests/fakes/pg_wire.py`): "on the wire" is the round trips of every layer, the driver's own included (the
statements run on asyncpg directly too), "parsed" the statements the server was asked to prepare (none once every
connection has its statements prepared). Printed per message, medians of the rounds: wall-clock p50 (it includes the database server's WAL flushes, so
a busy disk moves it) and the bot process's CPU.
Run it with another checkout on PYTHONPATH to compare (e.g. main, which pings on every checkout).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import fresh_database  # noqa: E402
from bot.config import Settings
from catalog import inbox
from catalog.db import Database
from handlers.context import Services
from handlers.messages import Incoming
from handlers.router import Router
from tests.fakes.pg_wire import PgWireCounter

SCRIPT: list[dict[str, str]] = [
    {"text": "/start"},
    {"text": "mật ong"},
    {"text": "vải thiều Lục Ngạn"},
    {"payload": "p:vai-thieu-hong-xuan"},
    {"text": "mua ở đâu tại Lục Ngạn"},
    {"text": "rượu làng Vân"},
    {"text": "English please"},
    {"text": "honey from Bac Giang"},
    {"text": "Tiếng Việt"},
    {"text": "gạo nếp"},
]


class RoundTrips:
    """Counts what the engine sends: statements, lazily sent BEGINs, COMMIT/ROLLBACK, pre-ping round trips."""

    def __init__(self, db: Database) -> None:
        self.statements = self.begins = self.ends = self.pings = self.lazy_commits = 0
        engine = db.engine.sync_engine
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        dialect = db.engine.dialect
        ping = dialect.do_ping

        def counted(dbapi_connection: Any) -> bool:
            self.pings += 1
            return ping(dbapi_connection)

        dialect.do_ping = counted  # type: ignore[method-assign]

    def _begin(self, conn: Any) -> None:
        # a connection in autocommit sends no BEGIN and no COMMIT: each statement commits by itself
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.info["bench_sent"] = False

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements += 1
        # SET LOCAL synchronous_commit = off, or set_config('synchronous_commit', …) in the chat state's UPDATE
        self.lazy_commits += "synchronous_commit" in statement or "set_config(" in statement
        if conn.info.get("bench_sent") is False:
            conn.info["bench_sent"] = True
            self.begins += 1

    def _end(self, conn: Any) -> None:
        if conn.info.pop("bench_sent", None):
            self.ends += 1

    def total(self) -> int:
        return self.statements + self.begins + self.ends + 3 * self.pings

    def snapshot(self) -> dict[str, int]:
        return {
            "round trips": self.total(),
            "statements": self.statements,
            "BEGIN": self.begins,
            "COMMIT/ROLLBACK": self.ends,
            "pings": self.pings,
            "async commits": self.lazy_commits,
        }




async def run(url: str, mode: str, messages: int) -> tuple[dict[str, float], float, float]:
    if not url.startswith("postgresql"):
        return await _run(url, mode, messages, None)
    async with PgWireCounter(url) as wire:
        return await _run(wire.url, mode, messages, wire)


async def _run(url: str, mode: str, messages: int, wire: PgWireCounter | None) -> tuple[dict[str, float], float, float]:
    db = await fresh_database(url)
    try:
        settings = Settings(database_url=url, staff_chat_id=-1000, staff_user_ids=frozenset({9001}))
        router = Router(Services(db, settings))
        for chat in range(10):  # warm up: chats exist, statements prepared, the search index built
            for warm_up in ("/start", "mật ong"):
                await router.handle(
                    Incoming(channel="telegram", chat_id=str(chat), user_id=str(chat), text=warm_up)
                )
        counter = RoundTrips(db)
        on_wire = wire.counts.snapshot() if wire is not None else None
        update_id = 0
        times = []
        cpu = time.process_time()
        for n in range(messages):
            chat = str(n % 10)
            incoming = Incoming(
                channel="telegram",
                chat_id=chat,
                user_id=chat,
                message_id="1",
                **SCRIPT[(n // 10) % len(SCRIPT)],
            )
            started = time.perf_counter()
            if mode == "chat":
                await router.handle(incoming)
            else:
                update_id += 1
                (entry,) = await inbox.accept(db, "telegram", [(str(update_id), chat, {"n": n}, update_id)], "bench")

                async def finish(session: Any, replies: list[Any], entry_id: int = entry.id) -> None:
                    await inbox.mark_handled(session, entry_id, [])

                await router.handle(incoming, finish=finish)
                await inbox.mark_done(db, entry.id)
            times.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu) / messages
        figures = {k: v / messages for k, v in counter.snapshot().items()}
        if wire is not None and on_wire is not None:
            trips, sent, _ = wire.counts.since(on_wire)
            figures["on the wire"] = trips / messages
            figures["parsed"] = sent["P"] / messages
        return figures, statistics.median(times) * 1000, cpu * 1000
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", help="PostgreSQL URL of a database of its own (its tables are dropped)")
    parser.add_argument("--sqlite", action="store_true", help="also on a SQLite file")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=("chat", "inbox"), default=["chat", "inbox"])
    parser.add_argument(
        "--sync-commit",
        action="store_true",
        help="labelled A/B: every commit waits for the WAL flush (no SET LOCAL synchronous_commit)",
    )
    args = parser.parse_args()
    if args.sync_commit:
        import catalog.db

        catalog.db.CHAT_STATE_TABLES = frozenset()  # no transaction qualifies for an asynchronous commit
        print("A/B: asynchronous commit of chat state turned OFF")
    with tempfile.TemporaryDirectory() as tmp:
        urls = {}
        if args.pg:
            urls["PostgreSQL"] = args.pg
        if args.sqlite or not args.pg:
            urls["SQLite"] = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(
            f"{args.messages} messages by 10 chats, one at a time; per message, medians of {args.rounds} rounds"
        )
        for name, url in urls.items():
            for mode in args.modes:
                rounds = []
                for _ in range(args.rounds):
                    if name == "SQLite":
                        for leftover in Path(tmp).glob("bench.db*"):
                            leftover.unlink()
                    rounds.append(asyncio.run(run(url, mode, args.messages)))
                figures = {k: statistics.median(r[0][k] for r in rounds) for k in rounds[0][0]}
                ms = statistics.median(r[1] for r in rounds)
                cpu = statistics.median(r[2] for r in rounds)
                cells = "  ".join(f"{k} {v:.2f}" for k, v in figures.items())
                print(f"  {name:<10} {mode:<5}  p50 {ms:6.2f} ms  bot CPU {cpu:5.2f} ms   {cells}")


if __name__ == "__main__":
    main()
