"""Time how a process gets its national-size search index from the database: loading the products, then
building the index (issue 14's bar: build ≤ 10 s at 100,000 products, loading included).

Run from the project root:  PYTHONPATH=. python benchmarks/bench_search_load.py [--size 100000] [--rounds 3]

The synthetic catalogue of benchmarks/bench_import.py (exporter CSV layout, every row marked SYNTHETIC) is
imported once into a fresh SQLite file with `catalog.importer.import_file`; then, each round, in a fresh
connection: `load_search_docs` (what `ocop-bot search` reads when no index is stored), `load_catalog`'s
products query as a chat process runs it (products with their producer and stores, the index left out), and
`SearchIndex(docs)`. Seconds of wall clock and of this process's CPU, medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload, raiseload, selectinload

from catalog.db import Database
from catalog.exporter import write_csv
from catalog.importer import import_file
from catalog.models import Product
from catalog.repository import load_search_docs, product_doc
from catalog.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_import import synthetic_rows  # noqa: E402
from common import fresh_database  # noqa: E402


def timed(label: str, figures: dict[str, list[tuple[float, float]]], started: tuple[float, float]) -> None:
    wall, cpu = started
    figures.setdefault(label, []).append((time.perf_counter() - wall, time.process_time() - cpu))


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


async def one_round(url: str, figures: dict[str, list[tuple[float, float]]]) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            started = clock()
            docs = await load_search_docs(session)
            timed("load_search_docs", figures, started)
        async with db.session() as session:
            started = clock()
            products = (
                (
                    await session.scalars(
                        select(Product)
                        .order_by(Product.id)
                        .options(
                            joinedload(Product.producer).raiseload("*"),
                            selectinload(Product.stores).raiseload("*"),
                            raiseload("*"),
                        )
                    )
                )
                .unique()
                .all()
            )
            snapshot_docs = [product_doc(p) for p in products]
            timed("load_catalog products", figures, started)
            assert len(snapshot_docs) == len(docs)
        started = clock()
        SearchIndex(docs)
        timed("SearchIndex build", figures, started)
    finally:
        await db.dispose()
    return len(docs)


async def prepare(url: str, size: int, folder: Path) -> None:
    db = await fresh_database(url)
    try:
        path = folder / "products.csv"
        path.write_bytes(write_csv(synthetic_rows(size), "products"))
        started = clock()
        await import_file(db, path)
        print(f"imported {size} products in {time.perf_counter() - started[0]:.1f} s")
    finally:
        await db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(prepare(url, args.size, Path(tmp)))
        figures: dict[str, list[tuple[float, float]]] = {}
        products = 0
        for _ in range(args.rounds):
            products = asyncio.run(one_round(url, figures))
        print(f"{products} products (SQLite), medians of {args.rounds} rounds: wall s / this process's CPU s")
        for label, values in figures.items():
            wall = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            print(f"  {label:<22} {wall:7.2f} / {cpu:7.2f}")
        load = statistics.median(v[1] for v in figures["load_search_docs"])
        build = statistics.median(v[1] for v in figures["SearchIndex build"])
        print(f"  load_search_docs + build, CPU: {load + build:.2f} s (bar: 10 s at 100,000)")


if __name__ == "__main__":
    main()
