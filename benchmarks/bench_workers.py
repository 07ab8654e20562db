"""Benchmark several `ocop-bot run` workers in webhook mode on one PostgreSQL, behind a round-robin proxy.

Run from the project root:
    PYTHONPATH=. python benchmarks/bench_workers.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/<own db>
                                                    [--workers 1,2,4] [--updates 1200] [--chats 97] [--no-rate-limit]
                                                    [--control] [--pin] [--sched-batch] [--rounds N]

The URL must name a database of the benchmark's own: its tables are dropped before each worker count.
For each worker count, N real `ocop-bot run --webhook-url … --port P` processes start (as in production:
Telegram posts every update to one URL, a reverse proxy spreads the posts over the workers; see
docs/deployment.md), a small round-robin proxy (aiohttp, in this process) listens in front of them, and the
fake Bot API server (tests/fakes/telegram_api.py, also in this process) takes the replies. The updates —
/start, then searches in Vietnamese and English, each chat in order — are posted to the proxy with at most
40 in flight (Telegram's default `max_connections`), as Telegram would, after a warm-up of 30 updates per
worker (not measured: a long-running worker has compiled its statements and done its lazy imports). The
chats take turns, so with a number of chats no worker count divides (97 by default) a chat's messages reach
every worker in turn, as Telegram's posts would: with 100 chats and 1, 2 or 4 workers the round robin would
send each chat to one worker only, which hides what a chat moving between workers costs. The run
ends when every inbox entry is done. Printed per worker count: updates/s, the workers' CPU per update (all workers together, from
/proc; and the kernel's part of it), this process's CPU per update (fake server, proxy and poster: not the bot's),
PostgreSQL's transactions per update (pg_stat_database), the database sessions that ended during the run (a pool
closing and opening connections) and a worker's CPU per second while idle (measured for 3 s after the warm-up). (That each chat's
replies keep its order across workers is tested, not measured: tests/leads/test_processes.py.)

`--control` runs, after the workers at each count, as many control processes (benchmarks/control_worker.py) in
their place, posted to and measured the same way: they do a fixed amount of work per update whatever their number,
so their growth from 1 to 4 processes is what the machine adds (more processes sharing the cores), and the bot's
growth beyond it is the bot's. `--pin` puts process n on CPU n mod CPUs, `--sched-batch` runs each under
SCHED_BATCH, `--rounds N` repeats the whole set taking turns.

The rate limiter is as shipped (30 messages/s per process, or shared through OCOP_REDIS_URL when set in the
environment), which caps updates/s near 23 per worker; `--no-rate-limit` sets OCOP_TELEGRAM_RATE_LIMIT=0 for
the workers, and the figures printed say so. On a 2-core machine the totals cannot scale with the workers;
what must not grow is the CPU each update costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.db import Database  # noqa: E402
from catalog.models import Base, InboxEntry  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

TOKEN = "515151:WORKERS"
SECRET = "bench-workers_secret"
SEARCHES = ["mỳ chũ", "vải thiều", "mật ong", "gà đồi Yên Thế", "rượu làng Vân", "honey", "rice noodles",
            "lychee", "nấm rơm", "bánh khảo", "my chu", "na Lục Nam"]
IN_FLIGHT = 40
IDLE_SECONDS = 3.0
WARM_UP = 30  # updates per worker before the measured ones


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int, *, kernel_only: bool = False) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[12]) + (0 if kernel_only else int(fields[11]))) / os.sysconf("SC_CLK_TCK")


async def fresh(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await db.prepare()
    finally:
        await db.dispose()


class Proxy:
    """Round robin over the workers' webhook ports, as an nginx upstream would do."""

    def __init__(self, ports: list[int]) -> None:
        self.targets = itertools.cycle([f"http://127.0.0.1:{p}/telegram/hook" for p in ports])
        self.port = free_port()
        self.client: ClientSession | None = None
        self.runner: web.AppRunner | None = None

    async def forward(self, request: web.Request) -> web.Response:
        assert self.client is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("x-telegram", "content-type"))}
        try:
            async with self.client.post(next(self.targets), data=body, headers=headers) as answer:
                return web.Response(status=answer.status, body=await answer.read(),
                                    content_type=answer.content_type)
        except ClientError:  # (a kept-alive connection the worker closed just then): the poster posts it again
            return web.Response(status=502)

    async def start(self) -> None:
        self.client = ClientSession(timeout=ClientTimeout(total=60))
        app = web.Application()
        app.router.add_post("/telegram/hook", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.client is not None:
            await self.client.close()


def sched_batch(pid: int) -> None:
    """The process under SCHED_BATCH: the scheduler takes it for a CPU-bound one and lets a waking process preempt it
    less often (fewer involuntary context switches, longer runs on a warm cache)."""
    os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0))


def pin(pid: int, n: int) -> None:
    """Process number `n` on one CPU of its own while there are enough, else sharing them in turn."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(pid, {cpus[n % len(cpus)]})


async def start_workers(count: int, url: str, api: FakeTelegramAPI, log_dir: Path,
                        rate_limit: bool, *, pinned: bool = False) -> tuple[list[asyncio.subprocess.Process], list[int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_") or k == "OCOP_REDIS_URL"}
    env.update({"PYTHONPATH": str(ROOT), "OCOP_DATABASE_URL": url, "OCOP_TELEGRAM_TOKEN": TOKEN,
                "OCOP_TELEGRAM_BASE_URL": api.base_url, "OCOP_TELEGRAM_WEBHOOK_SECRET": SECRET})
    if not rate_limit:
        env["OCOP_TELEGRAM_RATE_LIMIT"] = "0"
    processes, ports = [], []
    for n in range(count):
        port = free_port()
        registered = len(api.calls("setWebhook"))
        with (log_dir / f"worker{n}.log").open("ab") as log:
            profile = os.environ.get("BENCH_PY_SPY")  # a directory: each worker under `py-spy record` (raw)
            prefix = ["py-spy", "record", "-r", "200", "-f", "raw", "-o", f"{profile}/worker{n}.txt", "--"] if profile else []
            processes.append(await asyncio.create_subprocess_exec(
                *prefix, sys.executable, "-m", "bot.cli", "run", "--channel", "telegram",
                "--webhook-url", "https://bot.example.org/telegram/hook", "--port", str(port),
                cwd=log_dir, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            ))
        if pinned:
            pin(processes[-1].pid, n)
        if os.environ.get("BENCH_SCHED_BATCH"):
            sched_batch(processes[-1].pid)
        ports.append(port)
        # one at a time: the first one migrates and seeds the database
        await api.wait_for(lambda r=registered: len(api.calls("setWebhook")) > r, 120.0,
                           message=f"worker {n} did not start (see {log_dir}/worker{n}.log)")
    return processes, ports


async def start_controls(count: int, url: str, api: FakeTelegramAPI, log_dir: Path, options: argparse.Namespace,
                         *, pinned: bool = False) -> tuple[list[asyncio.subprocess.Process], list[int]]:
    """`count` control processes (benchmarks/control_worker.py) in the workers' place."""
    processes, ports = [], []
    dsn = url.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")
    for n in range(count):
        port = free_port()
        with (log_dir / f"control{n}.log").open("ab") as log:
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "benchmarks" / "control_worker.py"), "--port", str(port), "--pg", dsn,
                "--api", f"{api.base_url}{TOKEN}", "--secret", SECRET, "--work", str(options.control_work),
                "--workload", options.control_workload, "--url", url, "--server-work", str(options.control_server_work),
                "--round-trips", str(options.control_round_trips), cwd=log_dir, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            ))
        if pinned:
            pin(processes[-1].pid, n)
        if os.environ.get("BENCH_SCHED_BATCH"):
            sched_batch(processes[-1].pid)
        ports.append(port)
        deadline = time.monotonic() + 60
        while True:  # listening yet?
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if time.monotonic() > deadline or processes[-1].returncode is not None:
                    raise RuntimeError(f"control {n} did not start (see {log_dir}/control{n}.log)") from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
    return processes, ports


def runtime(pid: int) -> float:
    """Seconds the process's live threads have run, from the scheduler's own clock (/proc/PID/task/*/schedstat,
    nanoseconds), not sampled at the timer tick as /proc/PID/stat's user and system time are."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of the process so far, all its threads together."""
    counts = [0, 0]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                counts[0] += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                counts[1] += int(line.split()[1])
    return counts[0], counts[1]


async def stop_workers(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            # (py-spy writes its profile on SIGINT; the bot stops on either)
            process.send_signal(signal.SIGINT if os.environ.get("BENCH_PY_SPY") else signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def server_counts(db: Database) -> tuple[int, int]:
    """(transactions committed or rolled back, sessions ended) in this database, as PostgreSQL counts them: a
    backend reports its transactions at most once a second and its session when it ends."""
    async with db.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT xact_commit + xact_rollback, sessions FROM pg_stat_database WHERE datname = current_database()"
        ))).one()
        await conn.commit()
    return int(row[0]), int(row[1])


async def done_count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(InboxEntry)
                                     .where(InboxEntry.status == "done")) or 0)


async def backends_cpu(db: Database) -> dict[int, float]:
    """The CPU seconds so far of this database's server backends (the same machine), by process id."""
    async with db.engine.connect() as conn:
        pids = (await conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))).scalars().all()
        await conn.commit()
    spent = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            spent[int(pid)] = cpu_seconds(int(pid))
    return spent


async def one_count(workers: int, url: str, total: int, chats: int, rate_limit: bool, *, control: bool = False,
                    options: argparse.Namespace | None = None, pinned: bool = False) -> dict[str, Any]:
    """One run of `workers` bot workers (or, with `control`, control processes) and its figures."""
    await fresh(url)
    db = Database(url)
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramAPI(token=TOKEN) as api:
            if control:
                processes, ports = await start_controls(workers, url, api, Path(tmp), options, pinned=pinned)
            else:
                processes, ports = await start_workers(workers, url, api, Path(tmp), rate_limit, pinned=pinned)
            proxy = Proxy(ports)
            await proxy.start()
            try:
                def make(chat: int, step: int) -> dict[str, Any]:
                    words = "/start" if step == 0 else SEARCHES[(chat + step) % len(SEARCHES)]
                    return api.updates[api.push_message(chat, words, user_id=chat, language_code="vi")]

                # Warm-up, not measured: every worker has its first updates behind it (statements compiled,
                # lazy imports done), as a long-running worker has.
                per_worker = options.warm_up if options is not None else WARM_UP
                warm = [make(90_000 + n % (10 * workers + 1), n // (10 * workers + 1))
                        for n in range(per_worker * workers)]
                bodies = []
                for n in range(total):
                    chat, step = 40_000 + n % chats, n // chats
                    bodies.append(make(chat, step))
                slots = asyncio.Semaphore(IN_FLIGHT)
                target = f"http://127.0.0.1:{proxy.port}/telegram/hook"
                sent_before = len(api.sent)

                async def finished() -> int:
                    # the control sends one message per update; the bot's inbox says what is done
                    return len(api.sent) - sent_before if control else await done_count(db)

                async with ClientSession(timeout=ClientTimeout(total=60)) as client:

                    async def post(body: dict[str, Any]) -> None:
                        async with slots:
                            while True:  # as Telegram: again until a 200
                                async with client.post(target, json=body,
                                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                                    if r.status == 200:
                                        return
                                await asyncio.sleep(0.05)

                    async def deliver(batch: list[dict[str, Any]], done_before: int) -> None:
                        await asyncio.gather(*(post(b) for b in batch))
                        while await finished() < done_before + len(batch):  # noqa: ASYNC110 (other processes)
                            await asyncio.sleep(0.05)

                    await deliver(warm, 0)
                    await asyncio.sleep(1.1)  # the workers' backends report the warm-up's transactions
                    idle_from = {p.pid: runtime(p.pid) for p in processes}
                    idle_switches = [switches(p.pid) for p in processes]
                    await asyncio.sleep(IDLE_SECONDS)  # what the workers spend with nothing to do
                    idle = sum(runtime(p.pid) - idle_from[p.pid] for p in processes) / len(processes)
                    idle_wakes = sum(switches(p.pid)[0] - w[0] for p, w in zip(processes, idle_switches, strict=True))
                    counted = await server_counts(db)
                    calls_before = len(api.sent)
                    server_before = await backends_cpu(db)
                    switches_before = [switches(p.pid) for p in processes]
                    before = {p.pid: cpu_seconds(p.pid) for p in processes}
                    ran_before = {p.pid: runtime(p.pid) for p in processes}
                    kernel_before = sum(cpu_seconds(p.pid, kernel_only=True) for p in processes)
                    own_before = time.process_time()
                    load = os.getloadavg()[0]
                    started = time.perf_counter()
                    await deliver(bodies, len(warm))
                elapsed = time.perf_counter() - started
                own = time.process_time() - own_before
                spent = {p.pid: cpu_seconds(p.pid) - before[p.pid] for p in processes}
                ran = sum(runtime(p.pid) - ran_before[p.pid] for p in processes)
                kernel = sum(cpu_seconds(p.pid, kernel_only=True) for p in processes) - kernel_before
                switched = [(a - b0, c - d) for (a, c), (b0, d)
                            in zip((switches(p.pid) for p in processes), switches_before, strict=True)]
                server_after = await backends_cpu(db)
                calls = len(api.sent) - calls_before
                await asyncio.sleep(1.1)  # (the last transactions reported; sessions only count once ended)
                after = await server_counts(db)
            finally:
                await proxy.stop()
                await stop_workers(processes)
    await db.dispose()
    server = sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server_after.items())
    return {
        "kind": "control" if control else "bot", "pinned": pinned, "load": load,
        "workers": workers, "updates": total, "seconds": elapsed, "rate": total / elapsed,
        "cpu_ms": sum(spent.values()) / total * 1000, "ran_ms": ran / total * 1000,
        "per_worker": [round(v / total * 1000, 2) for v in spent.values()],
        "own_ms": own / total * 1000, "server_ms": server / total * 1000,
        "idle_ms": idle / IDLE_SECONDS * 1000, "idle_wakes": idle_wakes / len(processes) / IDLE_SECONDS,
        "kernel_ms": kernel / total * 1000,
        "voluntary": sum(v for v, _ in switched) / total, "involuntary": sum(i for _, i in switched) / total,
        "calls": calls / total,
        "xacts": (after[0] - counted[0]) / total, "sessions": after[1] - counted[1],
    }


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    head = (f"{'workers':>7} {'load':>5} {'updates/s':>10} {'CPU/update':>11} {'in kernel':>10} {'vs 1 worker':>12} "
            f"{'ran/update':>11} {'vs 1':>5} "
            f"{'per worker':>24} {'ctx sw vol/invol':>17} {'API calls':>10} {'PG CPU/upd':>11} {'bench CPU':>10} "
            f"{'xacts/upd':>10} {'conns closed':>13} {'idle CPU':>11} {'idle wakes':>11}")
    print(head)
    print("-" * len(head))
    base, ran = rows[0]["cpu_ms"], rows[0]["ran_ms"]
    for r in rows:
        print(f"{r['workers']:>7} {r['load']:>5.1f} {r['rate']:>10.1f} {r['cpu_ms']:>8.2f} ms {r['kernel_ms']:>7.2f} ms "
              f"{(r['cpu_ms'] / base - 1) * 100:>+11.0f}% {r['ran_ms']:>8.2f} ms {(r['ran_ms'] / ran - 1) * 100:>+4.0f}% "
              f"{str(r['per_worker']):>24} "
              f"{r['voluntary']:>8.1f}/{r['involuntary']:<8.1f} {r['calls']:>10.2f} {r['server_ms']:>8.2f} ms "
              f"{r['own_ms']:>7.2f} ms {r['xacts']:>10.1f} {r['sessions']:>13} {r['idle_ms']:>6.1f} ms/s "
              f"{r['idle_wakes']:>9.1f}/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("OCOP_BENCH_PG_URL", ""),
                        help="PostgreSQL URL of a database of the benchmark's own (its tables are dropped)")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--updates", type=int, default=1200)
    parser.add_argument("--chats", type=int, default=97,
                        help="chats taking turns (no worker count should divide it: see above)")
    parser.add_argument("--no-rate-limit", action="store_true",
                        help="OCOP_TELEGRAM_RATE_LIMIT=0 for the workers (unlike production)")
    parser.add_argument("--control", action="store_true",
                        help="after each worker count, the same number of control processes "
                             "(benchmarks/control_worker.py: a fixed workload per update) in the same way")
    parser.add_argument("--only-control", action="store_true", help="the control alone, not the bot")
    parser.add_argument("--control-workload", choices=("synthetic", "libraries"), default="synthetic",
                        help="the control's fixed work: a pure-Python loop over a large table, or the bot's own "
                             "libraries (python-telegram-bot's objects, the catalogue's search, SQLAlchemy's compiler)")
    parser.add_argument("--control-work", type=int, default=0,
                        help="the control's rounds of work per update (default: 600 synthetic, 3 libraries)")
    parser.add_argument("--control-round-trips", type=int, default=5,
                        help="the control's round trips to PostgreSQL per update besides the accept's")
    parser.add_argument("--control-server-work", type=int, default=0,
                        help="rows each of the control's round trips counts on the server (0: a bare SELECT)")
    parser.add_argument("--pin", action="store_true", help="each process on one CPU (worker n on CPU n mod CPUs)")
    parser.add_argument("--sched-batch", action="store_true",
                        help="each process under SCHED_BATCH (less preemption by waking processes)")
    parser.add_argument("--warm-up", type=int, default=WARM_UP,
                        help="updates per worker before the measured ones (each worker's first messages of each kind "
                             "pay its one-time costs: statements compiled, lazy imports, caches)")
    parser.add_argument("--rounds", type=int, default=1, help="the whole set this many times, taking turns")
    args = parser.parse_args()
    if args.sched_batch:
        os.environ["BENCH_SCHED_BATCH"] = "1"
    if not args.control_work:
        args.control_work = 3 if args.control_workload == "libraries" else 600
    if not args.pg:
        parser.error("--pg URL (or OCOP_BENCH_PG_URL) is required: the workers share one PostgreSQL")
    rate_limit = not args.no_rate_limit
    kinds = ([] if args.only_control else [False]) + ([True] if args.control or args.only_control else [])
    counts = [int(n) for n in args.workers.split(",")]
    results: dict[bool, list[list[dict[str, Any]]]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            results[kind].append([])
        for n in counts:  # the bot and the control taking turns at each count
            for kind in kinds:
                results[kind][-1].append(await one_count(n, args.pg, args.updates, args.chats, rate_limit,
                                                         control=kind, options=args, pinned=args.pin))
    limiter = ("rate limiter as shipped (30 messages/s per process" + (", shared through Redis)"
               if os.environ.get("OCOP_REDIS_URL") else ")")) if rate_limit else "RATE LIMITER OFF (--no-rate-limit)"
    print(f"\n{args.updates} updates from {args.chats} chats posted to a round-robin proxy ({IN_FLIGHT} in flight) "
          f"after a warm-up of {args.warm_up} per worker, "
          f"one PostgreSQL, {limiter}, {os.cpu_count()} CPUs{', each process pinned to one' if args.pin else ''}"
          f"{', under SCHED_BATCH' if args.sched_batch else ''}, "
          f"load average now {os.getloadavg()[0]:.1f}")
    for number in range(args.rounds):
        for kind in kinds:
            name = (f"control ({args.control_workload}, --control-work {args.control_work}, "
                    f"{args.control_round_trips} + 1 round trips, server work {args.control_server_work})" if kind
                    else "ocop-bot run workers")
            print_rows(f"round {number + 1}: {name}", results[kind][number])
    for key, what in (("cpu_ms", "CPU per update (/proc/PID/stat)"), ("ran_ms", "ran per update (schedstat)")):
        growth = {kind: [(rows[-1][key] / rows[0][key] - 1) * 100 for rows in results[kind]] for kind in kinds}
        if len(kinds) == 2 and len(counts) > 1:
            print(f"\n{what}, {counts[0]} → {counts[-1]} workers, by round: the bot "
                  + ", ".join(f"{g:+.0f} %" for g in growth[False]) + "; the control "
                  + ", ".join(f"{g:+.0f} %" for g in growth[True]) + "; the bot's beyond the control's "
                  + ", ".join(f"{b - c:+.0f} points" for b, c in zip(growth[False], growth[True], strict=True)))
    print("CPU/update = the workers' CPU time (all of them, from /proc) per update, and the part of it in the kernel "
          "(system time: sockets, scheduling), both sampled at the timer tick;\nran/update = the same CPU time from the scheduler's "
          "own clock (/proc/PID/task/*/schedstat, nanoseconds; the threads alive at the end);\nctx sw = the workers' context switches per update, voluntary (waiting "
          "for the network: a wake-up each) and involuntary (the CPU taken away);\nAPI calls = Bot API calls per "
          "update; PG CPU = PostgreSQL's backends for this database, per update; bench CPU = this process (fake Bot "
          "API server, proxy, poster), not the bot's;\ntarget: the bot's CPU/update grows by at most 10 % from 1 to 4 "
          "workers; the control (--control) does the same fixed work per update whatever the count, so its growth "
          "is the machine's;\nxacts/upd = PostgreSQL's transactions in this database per update (pg_stat_database, "
          "the benchmark's few included); conns closed = database sessions that ended during the run (a pool "
          "opening and closing connections);\nidle CPU, idle wakes = what a worker spends per second, and how often "
          f"it wakes, with no update to handle (timers, polling), measured for {IDLE_SECONDS:.0f} s after the warm-up")


if __name__ == "__main__":
    asyncio.run(main())
