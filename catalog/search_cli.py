"""Temporary harness: run catalogue searches over the demo catalogue from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from catalog.search import ProductDoc, SearchAnswer, SearchIndex

DEMO_CATALOG = Path(__file__).parent / "data" / "demo_catalog.json"


def load_index(path: Path = DEMO_CATALOG) -> SearchIndex:
    with open(path, encoding="utf-8") as fh:
        rows = json.load(fh).get("products", [])
    return SearchIndex(ProductDoc.from_row(r) for r in rows)


def _print(answer: SearchAnswer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    print(f"{answer.query!r}  filters={answer.filters}  terms={answer.terms!r}")
    for hit in answer.results:
        d = hit.doc
        print(f"  {hit.score:5.1f}  {d.name_vi}  [{d.district}, {d.stars}★, {d.category}]")
    if not answer.results:
        guesses = "; ".join(h.doc.name_vi for h in answer.suggestions)
        print("  (no match)" + (f"  did you mean: {guesses}" if guesses else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("query", nargs="?", help="one query")
    ap.add_argument("--batch", metavar="FILE", help="one query per line; one answer per line")
    ap.add_argument("--json", action="store_true", help="print SearchAnswer.to_json() per query")
    ap.add_argument("--limit", type=int, default=10)
    args = ap.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # answers are Vietnamese whatever the terminal's locale
    index = load_index()
    if args.batch:
        with open(args.batch, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        # One query per line, blank ones included (each gets its answer line); the final newline ends a line.
        queries = [q.rstrip("\r") for q in text.split("\n")]
        if queries and queries[-1] == "":
            queries.pop()
    elif args.query is not None:
        queries = [args.query]
    else:
        ap.error("give a QUERY or --batch FILE")
    for q in queries:
        _print(index.search(q, limit=args.limit), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
