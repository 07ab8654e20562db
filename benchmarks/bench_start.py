"""Benchmark process start-up: `ocop-bot --help`, and `ocop-bot chat` to its first answer on an existing database.

Run from the project root:  python benchmarks/bench_start.py [--rounds 5] [--checkout DIR ...]

Each checkout (default: this one) is run with its own `.venv/bin/python -m bot.cli` and its own SQLite
database file, created, migrated and seeded before timing starts, so every timed chat opens an existing
database. With several checkouts (e.g. `--checkout . --checkout /path/to/main`) they take turns within each
round, so a busy machine slows them alike. Bytecode caches are written by an untimed first run (under a
temporary PYTHONPYCACHEPREFIX), as an installed program has them. Printed per checkout, medians (and ranges) in seconds of wall clock:
  --help        from spawn to exit,
  chat answer   from spawn to the first line of the answer to "mật ong Lục Ngạn" (one message, piped),
  chat exit     from spawn to exit after that one answer,
and the CPU seconds (user + system) of each whole process, which a busy machine inflates much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = "mật ong Lục Ngạn\n"


def python_of(checkout: Path) -> str:
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def env_for(checkout: Path, database: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("OCOP_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    # As an installed program runs: with bytecode caches, written on the first (untimed) run, here under a
    # temporary directory of their own so that no checkout is written to.
    env.update(
        PYTHONPATH=str(checkout),
        PYTHONPYCACHEPREFIX=str(database.parent / "pycache" / checkout.name),
        OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
    )
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_help(checkout: Path, database: Path, cwd: Path) -> tuple[float, float]:
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(
        [python_of(checkout), "-m", "bot.cli", "--help"],
        cwd=cwd,
        env=env_for(checkout, database),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started, children_cpu() - cpu


def time_chat(checkout: Path, database: Path, cwd: Path) -> tuple[float, float, float]:
    started, cpu = time.perf_counter(), children_cpu()
    with subprocess.Popen(
        [python_of(checkout), "-m", "bot.cli", "chat"],
        cwd=cwd,
        env=env_for(checkout, database),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as chat:
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write(MESSAGE.encode())
        chat.stdin.flush()
        line = chat.stdout.readline()
        answered = time.perf_counter() - started
        if not line.strip():
            raise SystemExit(f"{checkout}: no answer from ocop-bot chat")
        chat.stdin.close()
        chat.stdout.read()
        chat.wait(timeout=60)
    return answered, time.perf_counter() - started, children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--checkout", action="append", type=Path, help="a project checkout with its .venv")
    args = parser.parse_args()
    checkouts = [c.resolve() for c in (args.checkout or [ROOT])]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        databases = {c: cwd / f"ocop-{n}.db" for n, c in enumerate(checkouts)}
        for checkout, database in databases.items():  # migrate and seed: the timed runs find it ready
            subprocess.run(
                [python_of(checkout), "-m", "bot.cli", "db", "upgrade"],
                cwd=cwd,
                env=env_for(checkout, database),
                stdout=subprocess.DEVNULL,
                check=True,
            )
            time_chat(checkout, database, cwd)
        results: dict[Path, dict[str, list[float]]] = {
            c: {"--help": [], "--help CPU": [], "chat answer": [], "chat exit": [], "chat CPU": []}
            for c in checkouts
        }
        for _ in range(args.rounds):
            for checkout, database in databases.items():
                figures = results[checkout]
                wall, cpu = time_help(checkout, database, cwd)
                figures["--help"].append(wall)
                figures["--help CPU"].append(cpu)
                answered, finished, cpu = time_chat(checkout, database, cwd)
                figures["chat answer"].append(answered)
                figures["chat exit"].append(finished)
                figures["chat CPU"].append(cpu)
        load = os.getloadavg()[0]
        print(
            f"start-up, medians of {args.rounds} rounds taking turns, seconds (range); load average {load:.1f}"
        )
        for checkout, figures in results.items():
            print(f"  {checkout}")
            for label, v in figures.items():
                print(f"    {label:<12} {statistics.median(v):5.2f}  ({min(v):.2f}–{max(v):.2f})")


if __name__ == "__main__":
    main()
