"""Benchmark: the router alone (no Telegram, no network), as the durable inbox runs it, on a temporary SQLite file.

    python benchmarks/bench_router.py [--messages 2000] [--chats 50] [--rounds 3] [--no-answer-cache]

Each message goes through `Router.handle` with the inbox's `finish` (its entry marked handled in the message's
transaction), as `bot/channels/telegram_inbox.py` does: /start first, then product searches (benchmarks/
bench_updates.py's words) and taps on product buttons, in both languages, one chat after another. Printed per
round: the process CPU time per message (what `bench_updates.py` reports as "of it router", without the fake Bot
API server, the inbox's look or the sending around it), and the load average. `--no-answer-cache` makes every
search run in full (`SearchIndex.cached_search` keeps nothing), to see what the kept answers save: the bench's
searches repeat fourteen texts, so the cache helps here more than with real traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_updates import SEARCHES  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.database import open_database  # noqa: E402
from catalog import inbox  # noqa: E402
from catalog.search import index as search_index  # noqa: E402
from handlers.context import Services  # noqa: E402
from handlers.messages import Incoming  # noqa: E402
from handlers.router import Finish, Router  # noqa: E402

TAPPED = ("p:my-chu", "p:vai-thieu-luc-ngan")


def messages(count: int, chats: int) -> list[Incoming]:
    """/start for each chat, then searches and taps by turns, a third of the chats in English."""
    out = []
    for i in range(count):
        chat, step = str(1000 + i % chats), i // chats
        text, payload = ("/start", None) if step == 0 else (SEARCHES[i % len(SEARCHES)], None) if step % 2 else (
            None, TAPPED[i % 2])
        out.append(Incoming(channel="telegram", chat_id=chat, user_id=chat, display_name="Khách",
                            language_hint="en" if i % 3 == 0 else "vi", text=text, payload=payload,
                            message_id="5" if payload else None))
    return out


def finish_for(entry: inbox.Accepted) -> Finish:
    async def finish(session: Any, replies: list[Any]) -> None:
        await inbox.mark_handled(session, entry.id, [])

    return finish


async def one_round(count: int, chats: int) -> float:
    """CPU seconds per message of one round, on a database of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'router.db'}",
                            telegram_token=SecretStr("900900:ROUTER"))
        db = await open_database(settings)
        services = Services(db, settings)
        services.events.start()  # demand-insight events written in batches, as `ocop-bot run` does
        try:
            router = Router(services)
            async with db.session() as session:
                await services.catalog.get(session)  # the catalogue and its index, built before the clock starts
            total = count + chats
            items = [(str(i), str(1000 + i % chats), {"update_id": i}, i) for i in range(total)]
            entries = [entry for start in range(0, total, 500)
                       for entry in await inbox.accept(db, "telegram", items[start:start + 500], "bench")]
            incoming = messages(total, chats)
            for i in range(chats):  # each chat's first message (its row created) before the clock starts
                await router.handle(incoming[i], finish=finish_for(entries[i]))
            gc.collect()
            gc.freeze()
            started = time.process_time()
            for i in range(chats, total):
                await router.handle(incoming[i], finish=finish_for(entries[i]))
            return (time.process_time() - started) / count
        finally:
            gc.unfreeze()
            await services.events.stop()
            await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-answer-cache", action="store_true",
                        help="search every message in full (SearchIndex.cached_search keeps no answer)")
    args = parser.parse_args()
    if args.no_answer_cache:
        search_index.ANSWERS_KEPT = 0
    cache = "answers NOT kept (--no-answer-cache)" if args.no_answer_cache else "answers kept"
    print(f"{args.messages} messages from {args.chats} chats, SQLite (temp file), {cache}, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for number in range(1, args.rounds + 1):
        cpu = await one_round(args.messages, args.chats)
        print(f"round {number}: router CPU per message {cpu * 1000:.3f} ms, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
