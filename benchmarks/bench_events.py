"""Benchmark: what recording demand-insight events costs one message, measured in one process, taking turns.

    python benchmarks/bench_events.py [--messages 3000] [--block 100]

On this shared 2-core VM, bench_updates.py's updates/s moves by a factor of 2–3 between runs with the load of
other work, far more than the few per cent measured here. So this script sends the same mix of messages
(searches, product taps, where-to-buy, contacts) through `Router.handle` on a temporary SQLite file and
alternates blocks of `--block` messages with recording on and off (`handlers.observe` short-circuited, the
buffer never fed, Telegram's link buttons left as links), so both sides see the same load. With recording on, the buffer writes its batches as in
`ocop-bot run` (every 200 events, on its own task), and that time is included. Printed: the median time per
message of each side over all blocks, the difference and the bot's CPU per message.

    python benchmarks/bench_events.py --updates-ab 3 [--updates 2000] [--concurrency 1,8] [--rate-limit]

runs bench_updates.py's whole bot (the real Application, the fake Bot API server, the durable inbox) instead,
recording on and off taking turns, `--updates-ab` rounds of each, and prints each run and the medians of
updates/s, handler p50 and bot CPU per update, with the difference on − off. Without `--rate-limit` the
30 messages/s limiter is off (it alone caps updates/s near 23 and would hide any cost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from catalog.db import Database  # noqa: E402
from handlers import links, observe  # noqa: E402
from handlers.context import Context, Services  # noqa: E402
from handlers.messages import Incoming  # noqa: E402
from handlers.router import Router  # noqa: E402

SEARCHES = ["mỳ chũ", "vải thiều", "mật ong", "gà đồi Yên Thế", "honey", "lychee", "cam bố hạ", "bánh pía",
            "sâm nam núi Dành", "na Lục Nam", "mua vải thiều ở đâu", "rice noodles"]


def messages(count: int) -> list[tuple[str, str]]:
    """(chat, text or payload): a search, then a tap on a product, where to buy or contacts for it."""
    out = []
    slugs = ["vai-thieu-hong-xuan", "ga-doi-yen-the", "my-gao-chu-xuan-truong", "mat-ong-rung-son-dong"]
    for n in range(count):
        chat = str(100 + n % 50)
        kind = n % 4
        if kind == 0:
            out.append((chat, SEARCHES[(n // 4) % len(SEARCHES)]))
        else:
            prefix = ("p", "where", "contact")[kind - 1]
            out.append((chat, f"{prefix}:{slugs[(n // 4) % len(slugs)]}"))
    return out


REAL = (observe.before, observe.after, links.track, Context.record)


def recording(on: bool) -> None:
    """Switch recording on (as shipped) or off (nothing observed, noted, buffered; link buttons left as links)."""
    if on:
        observe.before, observe.after, links.track, Context.record = REAL
    else:
        observe.before = lambda ctx: None  # type: ignore[assignment,return-value]
        observe.after = lambda ctx, was: []  # type: ignore[assignment]
        links.track = lambda ctx, replies: None  # type: ignore[assignment]
        Context.record = lambda self, kind, **fields: None  # type: ignore[method-assign]


async def updates_ab(rounds: int, total: int, concurrency: list[int], rate_limit: bool) -> None:
    """bench_updates.run with recording on and off, taking turns; medians per side."""
    from benchmarks.bench_updates import run

    results: dict[tuple[int, bool], list[dict]] = {}
    for n in range(rounds):
        for c in concurrency:
            for on in ((True, False) if n % 2 == 0 else (False, True)):  # alternate who goes first
                recording(on)
                r = await run(c, total, 100, rate_limit=rate_limit)
                results.setdefault((c, on), []).append(r)
                print(f"round {n + 1}, concurrency {c}, events {'on ' if on else 'off'}: {r['rate']:.1f} updates/s, "
                      f"handler p50 {r['p50']:.2f} ms, bot CPU/update {r['cpu_ms']:.2f} ms, sorry {r['sorry']}",
                      flush=True)
    recording(True)
    limiter = "rate limiter as shipped" if rate_limit else "rate limiter off"
    print(f"\n{total} updates per run, 100 chats, SQLite, {limiter}, medians of {rounds} runs per side "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"{'concurrency':<12} {'updates/s off → on':>22} {'change':>8} {'handler p50 off → on':>24} "
          f"{'bot CPU/update off → on':>26} {'change':>8}")
    for c in concurrency:
        off, on = results[(c, False)], results[(c, True)]
        med = {key: (statistics.median(r[key] for r in off), statistics.median(r[key] for r in on))
               for key in ("rate", "p50", "cpu_ms")}
        rate, p50, cpu = med["rate"], med["p50"], med["cpu_ms"]
        print(f"{c:<12} {rate[0]:>10.1f} → {rate[1]:>8.1f} {(rate[1] / rate[0] - 1) * 100:>+7.1f}% "
              f"{p50[0]:>10.2f} → {p50[1]:>7.2f} ms {cpu[0]:>11.2f} → {cpu[1]:>7.2f} ms "
              f"{(cpu[1] / cpu[0] - 1) * 100:>+7.1f}%")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--updates-ab", type=int, default=0, metavar="ROUNDS",
                        help="run bench_updates.py's bot with recording on and off, this many rounds each")
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--rate-limit", action="store_true", help="keep the 30 messages/s limiter (as shipped)")
    args = parser.parse_args()
    if args.updates_ab:
        await updates_ab(args.updates_ab, args.updates, [int(c) for c in args.concurrency.split(",")],
                         args.rate_limit)
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.db", events_secret=SecretStr("bench"),
                            _env_file=None)  # type: ignore[call-arg]
        db = Database(settings.database_url)
        await db.prepare()
        services = Services(db, settings)
        router = Router(services)
        mix = messages(args.messages)
        for chat, what in mix[:200]:  # warm up: snapshot, index, sessions
            await router.handle(_incoming(chat, what))
        per_message: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, float] = {True: 0.0, False: 0.0}
        count: dict[bool, int] = {True: 0, False: 0}
        on = True
        for start in range(0, len(mix), args.block):
            recording(on)
            block = mix[start:start + args.block]
            wall, proc = time.perf_counter(), time.process_time()
            for chat, what in block:
                await router.handle(_incoming(chat, what))
            await asyncio.sleep(0)  # let a scheduled batch write run inside this side's block
            per_message[on].append((time.perf_counter() - wall) / len(block))
            cpu[on] += time.process_time() - proc
            count[on] += len(block)
            on = not on
        recording(True)
        await services.events.stop()
        await db.dispose()
    on, off = statistics.median(per_message[True]), statistics.median(per_message[False])
    print(f"{args.messages} messages through Router.handle on SQLite, blocks of {args.block} taking turns "
          f"({len(per_message[True])} blocks recording, {len(per_message[False])} not); "
          f"{services.events.written} events written")
    print(f"  per message, median of blocks: recording {on * 1000:.3f} ms, not recording {off * 1000:.3f} ms, "
          f"difference {(on - off) * 1000:+.3f} ms ({(on / off - 1) * 100:+.1f} %)")
    cpu_on, cpu_off = cpu[True] / count[True], cpu[False] / count[False]
    print(f"  CPU per message: recording {cpu_on * 1000:.3f} ms, not recording {cpu_off * 1000:.3f} ms "
          f"({(cpu_on / cpu_off - 1) * 100:+.1f} %)")


def _incoming(chat: str, what: str) -> Incoming:
    if ":" in what and " " not in what:
        return Incoming(channel="telegram", chat_id=chat, user_id=chat, payload=what, message_id="1")
    return Incoming(channel="telegram", chat_id=chat, user_id=chat, text=what)


if __name__ == "__main__":
    asyncio.run(main())
