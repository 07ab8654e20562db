"""The control of `bench_workers.py --control`: a process shaped like an `ocop-bot run` webhook worker, doing a
fixed amount of work per update, so that what the machine adds per update with more processes can be told from
what the bot adds.

Run by the benchmark, not by hand:
    python benchmarks/control_worker.py --port P --pg postgresql://… --api http://127.0.0.1:N/botTOKEN
                                        [--secret S] [--work 1500] [--round-trips 5] [--table 200000]

It serves the same webhook (uvicorn and Starlette, as the bot's one web server) and does, per posted update, what
the bot's work looks like from the machine's side, but always the same amount of it:
- the post: the body read and parsed (json), one round trip to PostgreSQL (asyncpg, the bot's driver) for the
  accept, then the 200;
- then, in a task of its own: a fixed pure-Python workload (`work`: `--work` rounds of dict building, string
  formatting and look-ups at random places of a table of `--table` entries, so that the process has a working set
  of tens of megabytes, as the bot's catalogue and search index give it), `--round-trips` more round trips to
  PostgreSQL one after the other (`SELECT $1`: the server's share of the work as small as it can be; with
  `--server-work N` each counts N rows, so that the backends compete for the cores as the bot's do), and one
  `sendMessage` to the fake Bot API (aiohttp, as the bot's client).
The Python code run per update is the same whatever the number of processes: its CPU per update can grow only
from the machine (scheduling, caches, the kernel's share of more processes on the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # (--workload libraries: the bot's packages)
WORDS = ("mỳ", "chũ", "vải", "thiều", "mật", "ong", "gà", "đồi", "rượu", "làng", "vân", "honey", "lychee")


def build_table(size: int) -> dict[str, tuple[int, str, list[str]]]:
    return {f"p{n:07d}": (n, f"product {n}", [WORDS[n % len(WORDS)], WORDS[(n * 7) % len(WORDS)]])
            for n in range(size)}


class Libraries:
    """The other workload (`--workload libraries`): the bot's own libraries doing fixed work, so that the code and
    data an update runs through are as many and as large as the bot's: the update read into python-telegram-bot's
    objects, the catalogue searched for its text (catalog/search, the index the bot loads), two SQLAlchemy
    statements compiled from scratch (no cache) and the answer written as JSON; `--work` times per update."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.index: Any = None

    async def load(self) -> None:
        from catalog.db import Database
        from catalog.snapshot import load_search_index

        db = Database(self.url)
        try:
            async with db.session() as session:
                self.index = await load_search_index(session)
        finally:
            await db.dispose()

    def work(self, update: dict[str, Any], rounds: int) -> str:
        from sqlalchemy import select
        from sqlalchemy.dialects import postgresql
        from telegram import Update

        from catalog.models import ChatSession, InboxEntry

        dialect = postgresql.dialect()
        text = str(update.get("message", {}).get("text", ""))
        found: list[str] = []
        for _ in range(rounds):
            parsed = Update.de_json(update, None)
            answer = self.index.search(text, limit=5)
            found = [hit.doc.name_vi for hit in answer.results]
            look = (select(InboxEntry).where(InboxEntry.chat_key == str(parsed.effective_chat.id),
                                             InboxEntry.status.in_(["pending", "handled"]))
                    .order_by(InboxEntry.seq).limit(2))
            state = select(ChatSession).where(ChatSession.chat_id == str(parsed.effective_chat.id))
            found.append(str(look.compile(dialect=dialect))[:10] + str(state.compile(dialect=dialect))[:10])
        return json.dumps({"text": text, "found": found}, ensure_ascii=False)


def work(update: dict[str, Any], table: dict[str, tuple[int, str, list[str]]], rounds: int) -> str:
    """A fixed pure-CPU workload, its amount set by `rounds` and the same for every update."""
    text = str(update.get("message", {}).get("text", ""))
    rng = random.Random(update.get("update_id", 0))
    size = len(table)
    scores: dict[str, float] = {}
    for n in range(rounds):
        key = f"p{rng.randrange(size):07d}"
        number, name, words = table[key]
        hits = sum(1 for word in words if word in text)
        scores[key] = scores.get(key, 0.0) + hits + number % 3 / (n + 1)
        if len(scores) > 64:
            best = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:16]
            scores = dict(best)
    best = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:5]
    return json.dumps({"text": text, "found": [table[key][1] for key, _ in best]}, ensure_ascii=False)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # (SIGTERM is handled by `serve`)
        yield


async def serve(args: argparse.Namespace) -> None:
    libraries = None
    if args.workload == "libraries":
        libraries = Libraries(args.url)
        await libraries.load()
        table = {}
    else:
        table = build_table(args.table)
    pool = await asyncpg.create_pool(args.pg, min_size=4, max_size=18)
    client = aiohttp.ClientSession()
    tasks: set[asyncio.Task[None]] = set()

    async def handle(update: dict[str, Any]) -> None:
        answer = libraries.work(update, args.work) if libraries is not None else work(update, table, args.work)
        async with pool.acquire() as conn:
            for _ in range(args.round_trips):
                if args.server_work:  # the server's share of the work too, as the bot's statements give it
                    await conn.fetchval("SELECT count(*) FROM generate_series(1, $1::int)", args.server_work)
                else:
                    await conn.fetchval("SELECT $1::int", 0)
        chat = update.get("message", {}).get("chat", {}).get("id")
        async with client.post(f"{args.api}/sendMessage", json={"chat_id": chat, "text": answer[:200]}) as r:
            await r.read()

    async def hook(request: Request) -> PlainTextResponse | JSONResponse:
        if request.headers.get("x-telegram-bot-api-secret-token", "") != args.secret:
            return PlainTextResponse("forbidden", status_code=403)
        update = json.loads(await request.body())
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT $1::bigint", update.get("update_id", 0))
        task = asyncio.create_task(handle(update))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/telegram/hook", hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                            lifespan="off")
    server = _Server(config)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    try:
        await server.serve()
    finally:
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pg", required=True, help="postgresql://… (asyncpg's form)")
    parser.add_argument("--api", required=True, help="the fake Bot API's base URL with the token")
    parser.add_argument("--secret", default="")
    parser.add_argument("--workload", choices=("synthetic", "libraries"), default="synthetic")
    parser.add_argument("--url", default="", help="the database's SQLAlchemy URL (--workload libraries: the "
                        "catalogue's search index is loaded from it)")
    parser.add_argument("--work", type=int, default=1500, help="rounds of the fixed workload per update")
    parser.add_argument("--round-trips", type=int, default=5, help="round trips to PostgreSQL per update, "
                        "besides the accept's")
    parser.add_argument("--server-work", type=int, default=0, help="each round trip counts this many rows "
                        "on the server (generate_series), so that PostgreSQL's backends work as the bot's do; 0: none")
    parser.add_argument("--table", type=int, default=200_000, help="entries of the table the workload reads")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
