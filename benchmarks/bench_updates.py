"""Benchmark: 2,000 Telegram updates through the real Application against a local fake Bot API server.

    python benchmarks/bench_updates.py [--updates 2000] [--chats 100] [--concurrency 1,8] [--no-gate] [--database-url URL]
                                       [--no-echo] [--reference echo,durable,stateful] [--no-rate-limit] [--products 20000]
                                       [--varied-searches] [--no-answer-cache]

The fake Bot API server (tests/fakes/telegram_api.py) runs in a separate process, as Telegram would,
so its work does not share the bot's event loop; its CPU time is printed apart from the bot's. The bot runs
as `ocop-bot run` assembles it (`bot.app.running_bot`, then `freeze_startup_objects`) on a temporary SQLite
file, with the rate limiter as shipped (Telegram's ~30 messages/second for the whole bot, which alone caps the
figure near 23 updates/s); `--no-rate-limit` switches it off for ours and the echo bot alike, and every
figure printed then says so. `--products N` adds N synthetic products (benchmarks/bench_import.py's rows) to
the demo catalogue before the bot starts.

The updates are a mix — /start, product searches in Vietnamese and English, taps on product buttons
of the bot's previous answer — sent in waves of one update per chat. The searches are fourteen texts by turns,
which the search index's memory of answers (`SearchIndex.cached_search`) answers almost every time; with
`--varied-searches` they are the 840 questions of the spent labelled sets (tests/data/search_chat.jsonl,
search_extra.jsonl, search_dev.jsonl; never the sealed ones), each asked once in turn, as varied as real traffic
or more; `--no-answer-cache` turns that memory off. The share of answers that came from it is printed. Printed: updates per second
(first push to last update handled), end to end per update (from the push of its wave to the moment its last
reply was sent: the queueing before the handler included), the Bot API calls made once the run drained (the
start-up's calls not counted), and the handler time per update (router.handle + rendering,
i.e. the handling of one update from the durable inbox: router.handle with the inbox mark in its transaction, the
replies sent, the entry marked done — measured by wrapping it), plus router.handle alone. Storing each batch in the
inbox before it is confirmed is part of the updates/s figure, not of the handler time.

After each of the bot's runs the same waves go through a reference, a minimal python-telegram-bot echo bot
built like ours (benchmarks/echo_bot.py), and the ratios ours/echo are printed (`--no-echo` skips it).
`--reference echo,durable,stateful` runs the echo bot's durable variants too, in turn after ours (each update
stored in a SQLite inbox before it is confirmed and marked done after its reply; "stateful" also reads and writes the
chat's state row; all on the loop's thread, as the bot's SQLite driver; "stateful-aiosqlite" does it through plain
aiosqlite, a thread hop a statement, "stateful-thread" with one hop a transaction), printing ours / each and each /
the echo bot: what durability alone costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from benchmarks.common import FakeServer, percentile  # noqa: E402
from bot.app import freeze_startup_objects, running_bot  # noqa: E402
from bot.config import Settings  # noqa: E402
from locales import translator  # noqa: E402

SORRY = {translator(lang)._("Sorry, something went wrong on our side. Please try again in a moment.")
         for lang in ("vi", "en")}

TOKEN = "900900:BENCHMARK"
SEARCHES = [
    "mỳ chũ", "vải thiều", "mật ong", "gà đồi Yên Thế", "rượu làng Vân", "honey", "rice noodles",
    "lychee", "nấm rơm", "bánh khảo", "my chu", "sâm nam núi Dành", "cordyceps", "na Lục Nam",
]

# `--varied-searches`: the searches are the spent labelled sets' questions (never the sealed ones), shuffled once, each
# asked once before any is asked again: real traffic repeats popular questions, but not fourteen texts in a loop,
# which the search index's memory of answers (`SearchIndex.cached_search`) would answer almost every time.
SPENT_SETS = ("tests/data/search_chat.jsonl", "tests/data/search_extra.jsonl", "tests/data/search_dev.jsonl")
TEXTS: list[str] = SEARCHES  # what the waves search for (main() sets it)
ANSWERS = {"searches": 0, "kept": 0}  # the index's answers asked for, and how many came from its memory


def varied_searches() -> list[str]:
    texts = [json.loads(line)["q"] for name in SPENT_SETS
             for line in (ROOT / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(15).shuffle(texts)
    return texts


def count_kept_answers() -> None:
    """Count how often `SearchIndex.cached_search` answers from its memory (the bot's searches only: the echo bot
    searches nothing)."""
    from catalog.search.index import SearchIndex

    search = SearchIndex.cached_search

    def counted(self: Any, query: str, limit: int = 10) -> Any:
        ANSWERS["searches"] += 1
        ANSWERS["kept"] += (query, limit) in self._answers
        return search(self, query, limit)

    SearchIndex.cached_search = counted  # type: ignore[method-assign]


# The fake server's process: reads one JSON command per line, answers one JSON line; ends at end of input.
FAKE_SERVER = r"""
import asyncio, json, sys
from tests.fakes.telegram_api import FakeTelegramAPI

def product_buttons(message):
    return [b.get("callback_data", "") for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row if b.get("callback_data", "").startswith("p:")]

async def main():
    async with FakeTelegramAPI(token=sys.argv[1]) as api:
        print(json.dumps({"base_url": api.base_url}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = json.loads(line)
            if command.get("op") == "count":
                print(json.dumps({"bot_calls": len(api.sent), "failed": len(api.failed)}), flush=True)
                continue
            kinds = {}
            for action in command["wave"]:
                chat, kind, lang = action["chat"], action["kind"], action["lang"]
                if kind == "tap":
                    message = api.latest_bot_message(chat, lambda m: bool(product_buttons(m)))
                    if message:
                        api.push_callback(chat, message["message_id"], product_buttons(message)[0],
                                          language_code=lang)
                    else:
                        kind = "search"
                if kind == "start":
                    api.push_command(chat, "start", language_code=lang)
                elif kind == "search":
                    api.push_message(chat, action["text"], language_code=lang)
                kinds[kind] = kinds.get(kind, 0) + 1
            sent = len(api.sent)
            print(json.dumps({"pushed": kinds, "bot_calls": sent, "failed": len(api.failed)}), flush=True)

asyncio.run(main())
"""


def waves(total: int, chats: int) -> list[list[dict[str, Any]]]:
    """One update per chat per wave: /start first, then searches and taps on the answers."""
    plan: list[list[dict[str, Any]]] = []
    step = 0
    count = 0
    while count < total:
        wave = []
        for chat in range(chats):
            if count >= total:
                break
            lang = "en" if chat % 3 == 0 else "vi"
            kind = "start" if step == 0 else "search" if step % 2 == 1 else "tap"
            # the fourteen texts by turns (each chat another one each time); the varied ones each once in turn
            text = (TEXTS[(chat + step) % len(TEXTS)] if TEXTS is SEARCHES
                    else TEXTS[(step * chats + chat) % len(TEXTS)])
            wave.append({"chat": 10_000 + chat, "kind": kind, "lang": lang, "text": text})
            count += 1
        plan.append(wave)
        step += 1
    return plan


class GateWaits:
    """Wraps the channel's SQLite gate and records how long each update's task queued for it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.waits: dict[asyncio.Task[Any] | None, float] = {}

    async def __aenter__(self) -> Any:
        start = time.perf_counter()
        entered = await self.inner.__aenter__()
        task = asyncio.current_task()
        self.waits[task] = self.waits.get(task, 0.0) + time.perf_counter() - start
        return entered

    async def __aexit__(self, *exc: Any) -> Any:
        return await self.inner.__aexit__(*exc)

    def pop(self) -> float:
        return self.waits.pop(asyncio.current_task(), 0.0)


class OwnSteps:
    """Awaits `coro` step by step, adding to `spent` (once it ends) the process CPU time of its own steps only: not of
    what the event loop ran while it waited (other tasks' steps, I/O callbacks, the loop's own work), which the process
    CPU time around the whole await counts too. One update at a time on PostgreSQL, router.handle waits once (its
    write's round trip), and meanwhile the next chat's look and the previous chat's turn's end run: ≈0.4 ms of CPU
    that the window counted as the router's (issue 15, sixteenth session)."""

    def __init__(self, coro: Any, spent: list[float]) -> None:
        self.coro = coro
        self.spent = spent

    def __await__(self) -> Any:
        coro, total = self.coro, 0.0
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                started = time.process_time()
                try:
                    step = coro.throw(error) if error is not None else coro.send(value)
                except StopIteration as stop:
                    return stop.value
                finally:
                    total += time.process_time() - started
                try:
                    value, error = (yield step), None
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:  # (a cancellation) into the coroutine, as a task would throw it
                    value, error = None, exc
        finally:
            self.spent.append(total)


def timed(
    callback: Callable[..., Awaitable[Any]],
    into: list[float],
    done: Callable[[Any, float], None],
    cpu: list[float] | None = None,
    own_cpu: list[float] | None = None,
) -> Callable[..., Awaitable[Any]]:
    """`callback`, recording how long each call took (and the process CPU time it used, which is only
    meaningful when updates run one at a time; `own_cpu`: the CPU time of its own steps, `OwnSteps`) and handing its
    result and duration to `done`."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = None
        try:
            called = callback(*args, **kwargs)
            result = await (OwnSteps(called, own_cpu) if own_cpu is not None else called)
            return result
        finally:
            elapsed = time.perf_counter() - start
            into.append(elapsed)
            if cpu is not None:
                cpu.append(time.process_time() - cpu_start)
            done(result, elapsed)

    return wrapper


async def drained_calls(fake: FakeServer, settle: float = 0.3) -> dict[str, int]:
    """The server's call count once it stops growing (the last wave's replies and taps' answers included)."""
    last = await fake.send({"op": "count"})
    while True:
        await asyncio.sleep(settle)
        now = await fake.send({"op": "count"})
        if now == last:
            return now
        last = now


async def add_products(url: str, count: int) -> None:
    """The demo catalogue plus `count` synthetic products, as `ocop-bot catalog import` would store them."""
    from benchmarks.bench_import import synthetic_rows
    from catalog.db import Database
    from catalog.exporter import write_csv
    from catalog.importer import import_file

    db = Database(url)
    try:
        await db.prepare()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "products.csv"
            path.write_bytes(write_csv(synthetic_rows(count), "products"))
            await import_file(db, path)
    finally:
        await db.dispose()


def rate_options(rate_limit: bool) -> dict[str, Any]:
    return {} if rate_limit else {"overall_max_rate": 0}  # {}: as `ocop-bot run` ships (30 messages/s)


async def empty_database(url: str) -> None:
    """Drop the tables of a `--database-url` database (the bot migrates and seeds it again): an earlier run's inbox
    keeps its update ids, and the fake server numbers its updates from 1 again, so they would be taken for
    redeliveries and never handled."""
    from sqlalchemy import text

    from catalog.db import Database
    from catalog.models import Base

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await db.dispose()


async def run(
    concurrency: int, total: int, chats: int, *, gate: bool = True, database_url: str = "", rate_limit: bool = True,
    products: int = 0,
) -> dict[str, Any]:
    fake = await FakeServer.start(FAKE_SERVER, TOKEN)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            telegram_token=SecretStr(TOKEN),
            telegram_base_url=fake.base_url,
        )
        if database_url:
            await empty_database(database_url)
        if products:
            await add_products(settings.database_url, products)
        options = {**rate_options(rate_limit), "concurrent_updates": concurrency}
        async with running_bot(settings, channel="telegram", telegram_options=options) as bot:
            freeze_startup_objects()  # as `ocop-bot run` does once it has started
            app = bot.telegram
            assert app is not None
            handler_times: list[float] = []
            net_times: list[float] = []  # handler time less the queueing for the SQLite gate
            router_times: list[float] = []
            router_cpu: list[float] = []
            router_own_cpu: list[float] = []  # of its own steps (`OwnSteps`)
            channel = app.bot_data["channel"]
            gate_waits = GateWaits(channel.db_gate if gate else contextlib.nullcontext())
            channel.db_gate = gate_waits
            handled = 0
            wave_done = asyncio.Event()
            expected = 0
            pushed_at = 0.0
            end_to_end: list[float] = []

            failures = 0

            def done(_result: Any, elapsed: float) -> None:
                nonlocal handled
                net_times.append(elapsed - gate_waits.pop())
                end_to_end.append(time.perf_counter() - pushed_at)
                handled += 1
                if handled >= expected:
                    wave_done.set()

            def count_failures(replies: Any, _elapsed: float) -> None:
                nonlocal failures
                failures += any(r.text in SORRY for r in replies or ())

            by_kind: dict[str, list[float]] = {}
            # Each update is handled from the durable inbox: the handler time is the whole of it (router.handle
            # with the inbox mark in its transaction, the replies sent, the entry marked done).
            processor = bot.telegram_inbox.processor if bot.telegram_inbox is not None else None
            assert processor is not None
            inner = processor.handler

            async def handle(entry: Any) -> None:
                kind = "callbackquery" if "callback_query" in entry.payload else "message"
                times = by_kind.setdefault(kind, [])

                def both(result: Any, elapsed: float) -> None:
                    times.append(elapsed)
                    done(result, elapsed)

                await timed(inner, handler_times, both)(entry)

            processor.handler = handle
            channel.router.handle = timed(channel.router.handle, router_times, count_failures, router_cpu,
                                          router_own_cpu)

            kinds: Counter[str] = Counter()
            at_start = await drained_calls(fake)  # the start-up's calls (getMe, deleteWebhook, …)
            started = time.perf_counter()
            cpu_started = time.process_time()
            server_cpu_started = fake.cpu_seconds()
            for wave in waves(total, chats):
                expected += len(wave)
                wave_done.clear()
                pushed_at = time.perf_counter()
                result = await fake.send({"op": "push", "wave": wave})
                kinds.update(result["pushed"])
                await asyncio.wait_for(wave_done.wait(), timeout=600)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            server_cpu = fake.cpu_seconds() - server_cpu_started
            drained = await drained_calls(fake)
            result = {"bot_calls": drained["bot_calls"] - at_start["bot_calls"],
                      "failed": drained["failed"] - at_start["failed"]}
    await fake.stop()
    return {
        "mode": ("sequential" if concurrency == 1 else f"concurrent {concurrency}") + ("" if gate else " no gate"),
        "sorry": failures,
        "cpu_ms": cpu / max(handled, 1) * 1000,
        "server_cpu_ms": server_cpu / max(handled, 1) * 1000,
        "router_cpu_ms": sum(router_cpu) / max(len(router_cpu), 1) * 1000 if concurrency == 1 else float("nan"),
        "router_own_cpu_ms": sum(router_own_cpu) / max(len(router_own_cpu), 1) * 1000,
        "updates": handled,
        "seconds": elapsed,
        "rate": handled / elapsed,
        "p50": percentile(handler_times, 50) * 1000,
        "p99": percentile(handler_times, 99) * 1000,
        "net_p50": percentile(net_times, 50) * 1000,
        "net_p99": percentile(net_times, 99) * 1000,
        "e2e_p50": percentile(end_to_end, 50) * 1000,
        "e2e_p99": percentile(end_to_end, 99) * 1000,
        "router_p50": percentile(router_times, 50) * 1000,
        "router_p99": percentile(router_times, 99) * 1000,
        "kinds": dict(kinds),
        "p99_by_kind": {k: percentile(v, 99) * 1000 for k, v in by_kind.items() if v},
        "bot_calls": result.get("bot_calls", 0),
        "failed": result.get("failed", 0),
    }


async def run_echo(
    concurrency: int, total: int, chats: int, *, rate_limit: bool = True, variant: str = "echo"
) -> dict[str, Any]:
    """The same waves through the reference echo bot (benchmarks/echo_bot.py) or its durable `variant`, rate limit
    as for ours."""
    with tempfile.TemporaryDirectory() as tmp:
        inbox = None
        if variant != "echo":
            from benchmarks.echo_bot import open_inbox

            inbox = await open_inbox(variant, str(Path(tmp) / "echo-inbox.db"))
        try:
            return await _run_echo(concurrency, total, chats, rate_limit=rate_limit, inbox=inbox)
        finally:
            if inbox is not None:
                await inbox.close()


async def _run_echo(concurrency: int, total: int, chats: int, *, rate_limit: bool, inbox: Any) -> dict[str, Any]:
    from benchmarks.echo_bot import build_echo_bot

    fake = await FakeServer.start(FAKE_SERVER, TOKEN)
    handled = expected = 0
    wave_done = asyncio.Event()
    pushed_at = 0.0
    end_to_end: list[float] = []

    def done() -> None:
        nonlocal handled
        end_to_end.append(time.perf_counter() - pushed_at)
        handled += 1
        if handled >= expected:
            wave_done.set()

    app = build_echo_bot(TOKEN, fake.base_url, concurrent_updates=concurrency,
                         overall_max_rate=30 if rate_limit else 0, done=done, inbox=inbox)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0)
    gc.collect()
    gc.freeze()  # as ours does once started
    at_start = await drained_calls(fake)
    started, cpu_started, server_cpu_started = time.perf_counter(), time.process_time(), fake.cpu_seconds()
    for wave in waves(total, chats):
        expected += len(wave)
        wave_done.clear()
        pushed_at = time.perf_counter()
        await fake.send({"op": "push", "wave": wave})
        await asyncio.wait_for(wave_done.wait(), timeout=600)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_cpu = fake.cpu_seconds() - server_cpu_started
    result = {"bot_calls": (await drained_calls(fake))["bot_calls"] - at_start["bot_calls"]}
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    await fake.stop()
    return {"rate": handled / elapsed, "cpu_ms": cpu / max(handled, 1) * 1000,
            "server_cpu_ms": server_cpu / max(handled, 1) * 1000, "bot_calls": result.get("bot_calls", 0),
            "updates": handled, "e2e_p50": percentile(end_to_end, 50) * 1000,
            "e2e_p99": percentile(end_to_end, 99) * 1000}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--concurrency", default="1,8",
                        help="comma-separated concurrent_updates values to run (1 = one update at a time)")
    parser.add_argument("--no-gate", action="store_true",
                        help="also run without the SQLite one-transaction-at-a-time gate (to see what it costs)")
    parser.add_argument("--database-url", default="",
                        help="benchmark another database (a PostgreSQL one of the benchmark's own: its tables are "
                             "dropped before each run) instead of a temp SQLite file")
    parser.add_argument("--no-echo", action="store_true",
                        help="skip the reference echo bot (benchmarks/echo_bot.py) and the ratios to it")
    parser.add_argument("--reference", default="echo",
                        help="comma-separated references to run after each of ours: echo (the echo bot), durable (it "
                             "with a SQLite inbox), stateful (also a chat state row read and written per update), "
                             "stateful-aiosqlite (stateful through aiosqlite), stateful-thread (stateful with one hop "
                             "to a database thread a transaction)")
    parser.add_argument("--no-rate-limit", action="store_true",
                        help="switch the 30 messages/s rate limiter off (ours and the echo bot's), unlike `ocop-bot run`")
    parser.add_argument("--varied-searches", action="store_true",
                        help=f"search the spent labelled sets' questions ({', '.join(SPENT_SETS)}), each once in "
                             "turn, instead of fourteen texts by turns")
    parser.add_argument("--no-answer-cache", action="store_true",
                        help="search every message in full (SearchIndex.cached_search keeps no answer)")
    parser.add_argument("--products", type=int, default=0,
                        help="add this many synthetic products to the demo catalogue (e.g. 20000)")
    args = parser.parse_args()
    rate_limit = not args.no_rate_limit
    global TEXTS
    if args.varied_searches:
        TEXTS = varied_searches()
    if args.no_answer_cache:
        from catalog.search import index as search_index

        search_index.ANSWERS_KEPT = 0
    count_kept_answers()
    runs = [(int(c), True) for c in args.concurrency.split(",")]
    if args.no_gate:
        runs += [(c, False) for c, _ in runs if c > 1]
    references = [] if args.no_echo else [v.strip() for v in args.reference.split(",") if v.strip()]
    from benchmarks.echo_bot import VARIANTS

    if unknown := set(references) - set(VARIANTS):
        parser.error(f"--reference: unknown {', '.join(sorted(unknown))} (choose among {', '.join(VARIANTS)})")
    rows: list[dict[str, Any]] = []
    echoes: dict[tuple[str, int], dict[str, Any]] = {}
    for c, gate in runs:  # ours and the references take turns, so a change of load hits all alike
        rows.append(await run(c, args.updates, args.chats, gate=gate, database_url=args.database_url,
                              rate_limit=rate_limit, products=args.products))
        for variant in references:
            if (variant, c) not in echoes:
                echoes[variant, c] = await run_echo(c, args.updates, args.chats, rate_limit=rate_limit,
                                                    variant=variant)

    backend = args.database_url.split(":", 1)[0] if args.database_url else "SQLite (temp file)"
    limiter = "rate limiter as shipped (30 messages/s)" if rate_limit else "RATE LIMITER OFF (--no-rate-limit)"
    catalogue = f"demo catalogue + {args.products} synthetic products" if args.products else "demo catalogue"
    print(f"\n{args.updates} updates from {args.chats} chats, {backend}, {catalogue}, {limiter}, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"mix: {rows[0]['kinds']}")
    searched = (f"{len(TEXTS)} texts of the spent labelled sets, each once in turn (--varied-searches)"
                if TEXTS is not SEARCHES else f"{len(SEARCHES)} texts by turns")
    memory = ("NOT kept (--no-answer-cache)" if args.no_answer_cache else
              f"{ANSWERS['kept']} of {ANSWERS['searches']} from the index's memory "
              f"({ANSWERS['kept'] / max(ANSWERS['searches'], 1):.0%})")
    print(f"searches: {searched}; search answers: {memory}")
    head = (f"{'mode':<22} {'updates':>7} {'seconds':>8} {'updates/s':>10} {'end-to-end p50':>15} {'p99':>10} "
            f"{'handler p50':>12} {'p99':>10} "
            f"{'excl. gate p50':>15} {'p99':>10} {'router p50':>11} {'p99':>10} {'bot CPU/update':>15} "
            f"{'of it router':>13} {'router own':>11} {'server CPU/update':>18} {'API calls':>10} {'sorry':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['mode']:<22} {r['updates']:>7} {r['seconds']:>8.2f} {r['rate']:>10.0f} {r['e2e_p50']:>12.1f} ms "
              f"{r['e2e_p99']:>7.1f} ms {r['p50']:>9.2f} ms "
              f"{r['p99']:>7.2f} ms {r['net_p50']:>12.2f} ms {r['net_p99']:>7.2f} ms {r['router_p50']:>8.2f} ms "
              f"{r['router_p99']:>7.2f} ms {r['cpu_ms']:>12.2f} ms {r['router_cpu_ms']:>10.2f} ms "
              f"{r['router_own_cpu_ms']:>8.2f} ms {r['server_cpu_ms']:>15.2f} ms {r['bot_calls']:>10} {r['sorry']:>6}")
    for r in rows:
        print(f"{r['mode']}: handler p99 by update kind: "
              + ", ".join(f"{kind} {p99:.2f} ms" for kind, p99 in r["p99_by_kind"].items()))
    print("end-to-end = from the push of the update's wave (one update per chat) to its last reply sent, the "
          "queueing behind the wave's other updates included;\n"
          "API calls = the Bot API calls the run made, counted once the server saw no more (start-up's excluded);\n"
          "handler = one update handled from the durable inbox (router.handle + rendering, incl. the Bot API round "
          "trips, + the inbox marks);\n"
          "excl. gate = the same less the time an update queued for the SQLite one-transaction-at-a-time gate;\n"
          "bot CPU/update = CPU time of the bot process (all threads) per update, less sensitive to other load;\n"
          "of it router = the process CPU time from router.handle's start to its end (one update at a time: what else\n"
          "  ran on the loop while it waited for the database counted in, as on PostgreSQL the next chat's look);\n"
          "router own = the CPU time of router.handle's own steps only (its waits left out);\n"
          "server CPU/update = CPU time of the fake Bot API server process per update (it has the other core);\n"
          "sorry = updates answered with the polite error reply")
    names = {"echo": "echo bot", "durable": "durable echo", "stateful": "stateful echo",
             "stateful-aiosqlite": "stateful echo on aiosqlite", "stateful-thread": "stateful echo on a thread"}
    for r, (c, _gate) in zip(rows, runs, strict=True):
        for variant in references:
            echo = echoes[variant, c]
            plain = echoes.get(("echo", c))
            versus = (f"; {variant}/echo: updates/s {echo['rate'] / plain['rate']:.2f}x, "
                      f"bot CPU/update {echo['cpu_ms'] / plain['cpu_ms']:.2f}x"
                      if plain is not None and variant != "echo" else "")
            print(f"{names[variant]}, {r['mode']}: {echo['rate']:.0f} updates/s, end-to-end p50 "
                  f"{echo['e2e_p50']:.1f} ms p99 {echo['e2e_p99']:.1f} ms, bot CPU/update {echo['cpu_ms']:.2f} ms, "
                  f"server CPU/update {echo['server_cpu_ms']:.2f} ms, API calls {echo['bot_calls']} -> "
                  f"ours/{variant}: updates/s {r['rate'] / echo['rate']:.2f}x, "
                  f"end-to-end p50 {r['e2e_p50'] / echo['e2e_p50']:.2f}x, "
                  f"bot CPU/update {r['cpu_ms'] / echo['cpu_ms']:.2f}x, "
                  f"API calls {r['bot_calls'] / max(echo['bot_calls'], 1):.2f}x{versus}")
    print("targets: >= 300 updates/s, handler p99 <= 5 ms; >= 0.8x the echo bot's updates/s one at a time")


if __name__ == "__main__":
    asyncio.run(main())
