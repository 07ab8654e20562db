"""Benchmark `catalog import` of a national-size catalogue: first import, re-import unchanged, a 1 % edit.

Run from the project root:  PYTHONPATH=. python benchmarks/bench_import.py [--size 20000] [--rounds 3]
                                [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/bench] [--keep FILE]

The file is SYNTHETIC (every row is marked "SYNTHETIC BENCHMARK ROW" and its slug starts with `syn-`): product
kinds × made-up communes, placed half in the real former districts of Bắc Giang (catalog/data/places.json) and
half in other provinces, about three products per producer, written with the exporter's own CSV writer, so it
is exactly the layout `ocop-bot catalog export` gives. No phone, e-mail, address or price appears in it.

Each round starts from a fresh database holding the demo catalogue (migrated and seeded as `ocop-bot` does),
then times, in seconds of wall clock and of this process's CPU, through `catalog.importer.import_file`:
  import     the 20,000-product file replacing the demo catalogue,
  re-import  the same file again (nothing changes),
  edit 1 %   the file with 1 % of the rows renamed and 1 % left out.
Medians over the rounds are printed per database (SQLite file; PostgreSQL when --pg or OCOP_BENCH_PG_URL
is given: its tables are dropped first, so point it at a database of its own, never one that holds data).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from catalog.exporter import write_csv
from catalog.importer import import_file
from catalog.rows import TABLES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_search import KINDS, PRODUCTS, PROVINCES, SYLLABLES  # noqa: E402  (word lists shared with search)
from common import fresh_database  # noqa: E402

MARK = "SYNTHETIC BENCHMARK ROW, not a real product"
BLANK = {c.name: [] if c.is_list else "" for c in TABLES["products"]}


def bac_giang_districts() -> list[str]:
    places = json.loads((ROOT / "catalog" / "data" / "places.json").read_text(encoding="utf-8"))
    return [d["district"] for d in places["districts"]]


def synthetic_rows(size: int, seed: int = 15) -> list[dict[str, Any]]:
    """`size` product rows in the exporter's row shape, deterministic for a seed."""
    rng = random.Random(seed)

    def place() -> str:
        a, b = rng.sample(SYLLABLES, 2)
        return f"{a} {b}"

    bac_giang = bac_giang_districts()
    other = {p: [place() for _ in range(6)] for p in PROVINCES}
    producers: list[tuple[str, str, str, str]] = []  # name, kind, district, province
    rows = []
    for n in range(size):
        if not producers or rng.random() < 0.34:
            if rng.random() < 0.5:
                province, district = "Bắc Giang", rng.choice(bac_giang)
            else:
                province = rng.choice(PROVINCES)
                district = rng.choice(other[province])
            label = rng.choice(KINDS)
            kind = (
                "cooperative" if label.startswith("HTX") else "company" if "Công ty" in label else "household"
            )
            producers.append((f"{label} {place()} {len(producers) + 1}", kind, district, province))
        producer, kind, district, province = rng.choice(producers[-50:])
        vi, en, category = rng.choice(PRODUCTS)
        commune = place()
        rows.append(
            {
                **BLANK,  # columns the benchmark leaves empty (certificates, seasons, photos…)
                "slug": f"syn-{n}",
                "name_vi": f"{vi} {commune} {district}",
                "name_en": f"{en.capitalize()} ({commune}, {district})",
                "aliases": [vi, f"{vi} {district}"],
                "uses": rng.choice([[], [], ["gift"], ["gift", "tet"]]),
                "category": category,
                "stars": rng.choice([3, 3, 3, 4, 4, 5, None]),
                "year": rng.choice([2021, 2022, 2023, 2024, 2025]),
                "producer": producer,
                "producer_kind": kind,
                "producer_address": "",
                "producer_phone": "",
                "producer_email": "",
                "producer_website": "",
                "commune": f"xã {commune}",
                "district": district,
                "province": province,
                "description_vi": f"{MARK} (dữ liệu tổng hợp để đo tốc độ).",
                "description_en": f"{MARK}.",
                "sources": [],
            }
        )
    return rows


def edited(rows: list[dict[str, Any]], seed: int = 16) -> list[dict[str, Any]]:
    """1 % of the rows renamed and another 1 % left out."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        roll = rng.random()
        if roll < 0.01:
            continue
        out.append(dict(row, name_en=row["name_en"] + " (renamed)") if roll < 0.02 else row)
    return out




async def one_round(url: str, files: dict[str, Path]) -> dict[str, float]:
    db = await fresh_database(url)
    times: dict[str, float] = {}
    try:
        for label, path in files.items():
            started, cpu = time.perf_counter(), time.process_time()
            await import_file(db, path)
            times[label] = time.perf_counter() - started
            times[f"{label} CPU"] = time.process_time() - cpu
    finally:
        await db.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pg",
        default=os.environ.get("OCOP_BENCH_PG_URL", ""),
        help="PostgreSQL URL of a database of its own (its tables are dropped)",
    )
    parser.add_argument("--keep", metavar="FILE", help="also write the generated CSV here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rows = synthetic_rows(args.size)
        files = {
            "import": Path(tmp) / "products.csv",
            "re-import": Path(tmp) / "products.csv",
            "edit 1 %": Path(tmp) / "edited.csv",
        }
        files["import"].write_bytes(write_csv(rows, "products"))
        files["edit 1 %"].write_bytes(write_csv(edited(rows), "products"))
        if args.keep:
            Path(args.keep).write_bytes(files["import"].read_bytes())
        producers = len({r["producer"] for r in rows})
        print(
            f"{args.size} synthetic products, {producers} producers, "
            f"{files['import'].stat().st_size / 1e6:.1f} MB CSV; medians of {args.rounds} rounds, seconds"
        )
        urls = {"SQLite": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"}
        if args.pg:
            urls["PostgreSQL"] = args.pg
        for name, url in urls.items():
            results: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                if name == "SQLite":
                    for leftover in Path(tmp).glob("bench.db*"):
                        leftover.unlink()
                for label, seconds in asyncio.run(one_round(url, files)).items():
                    results.setdefault(label, []).append(seconds)
            print(f"  {name}")
            for label in files:
                wall, cpu = results[label], results[f"{label} CPU"]
                print(
                    f"    {label:<10} {statistics.median(wall):6.2f} s ({min(wall):.2f}–{max(wall):.2f})"
                    f"   this process's CPU {statistics.median(cpu):6.2f} s"
                )
        print(f"load average {os.getloadavg()[0]:.1f} (CPU of the PostgreSQL server not included)")


if __name__ == "__main__":
    main()
