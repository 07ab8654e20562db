"""Dump what the search answers to every labelled query (demo catalogue) and to the benchmark's queries on
synthetic national catalogues, one JSON line per query, so two versions of the search can be diffed.

Run from the project root:  PYTHONPATH=. python benchmarks/search_answers.py OUT.jsonl [--size 20000 ...]

Each line: the catalogue size, the query, the results (slug and score, best first), the suggestions, and
the CPU milliseconds of the query's first sight (not compared: the diff ignores "ms").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.bench_search import GENERIC, demo_docs, load_cases, producer_queries, synthetic_catalogue
from catalog.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", type=int, action="append", default=[])
    args = ap.parse_args(argv)
    # (Never the sealed sets: they are scored once, blind, by their own procedure.)
    labelled = sorted(p for p in (ROOT / "tests" / "data").glob("search_*.jsonl") if "sealed" not in p.name)
    queries = [c["q"] for path in labelled for c in load_cases(path)]
    demo = demo_docs()
    runs = [(len(demo), demo, queries)]
    for size in args.size:
        docs = demo + synthetic_catalogue(size - len(demo))
        extra = producer_queries(docs) + GENERIC
        runs.append((size, docs, queries + extra))
    with args.out.open("w", encoding="utf-8") as out:
        for size, docs, qs in runs:
            index = SearchIndex(docs)
            for q in qs:
                t = time.thread_time_ns()
                answer = index.search(q)
                ms = (time.thread_time_ns() - t) / 1e6
                line = {
                    "size": size,
                    "q": q,
                    "results": [[h.doc.slug, h.score] for h in answer.results],
                    "suggestions": [[h.doc.slug, h.score] for h in answer.suggestions],
                    "filters": answer.filters,
                    "ms": round(ms, 3),
                }
                out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
