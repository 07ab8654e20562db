"""Would a learned gate make the search say "not in the catalogue" more often where it should? (issue 10)

The search answers a chat message when its rules place enough of the message's product words. On the blind sets its
weakest figure is no-match: messages about goods the catalogue lacks that still get a product. This script measures,
without changing the search, what a gate learned from the labelled sets would do: for every message the search answers,
30 features the parser and the answer already have (placed, stray and kind words and their weights, needs, places,
groups, questions, marks, English, the top two scores, a name said in full), and whether the answer is right. A
gradient-boosted classifier is trained on all sealed sets but one and applied to the one left out, for each in turn;
an answer is suppressed where the classifier's probability of being right is below a threshold. It prints, per model
and threshold, how many no-match messages the gate would fix and how many right answers it would lose.

    pip install -e ".[analysis]"
    PYTHONPATH=. python benchmarks/answer_gate.py [--exclude search_chat_sealed45.jsonl ...]

`--exclude` keeps sets out of the measurement altogether (sets still sealed, or kept to judge a gate once built).
The features come from rules tuned on these very sets, so a gate must be judged on fresh blind sets before use.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.bench_search import demo_docs
from catalog.search import SearchIndex
from catalog.text import fold

ROOT = Path(__file__).resolve().parent.parent
LABELLED = [
    *sorted((ROOT / "tests" / "data").glob("search_*.jsonl")),
    ROOT.parent / "shared" / "eval" / "search_dev.jsonl",
]
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.4)


def tokens_of(doc: Any) -> set[str]:
    """The scorer's tokens of a product (shared/eval/score_search.py): its names, producer and address, folded."""
    fields = (doc.name_vi, doc.name_en, doc.producer, doc.commune, doc.district)
    return set(" ".join(fold(x or "") for x in fields).split())


def right(case: dict[str, Any], results: list[Any]) -> bool:
    """Is the answer right by the scorer's rules (a pattern in the top three; every top-three result in the filter)?"""
    if "any" in case:
        return any(any(set(fold(p).split()) <= tokens_of(h.doc) for p in case["any"]) for h in results[:3])
    if "filt" in case:
        want = case["filt"]

        def fits(d: Any) -> bool:
            return (
                ("stars" not in want or d.stars == want["stars"])
                and ("district" not in want or fold(want["district"]) in fold(d.district))
                and ("category" not in want or (d.category or "").lower() == want["category"])
            )

        return all(fits(h.doc) for h in results[:3])
    return False  # a no-match message answered


def features(index: SearchIndex, query: str, results: list[Any]) -> list[float]:
    parsed = index.parser.parse(query)
    content = [u for u in parsed.units if u.role == "content"]
    placed = [u for u in content if not u.stray]
    strays = [u for u in content if u.stray]
    placed_w, stray_w = sum(u.weight for u in placed), sum(u.weight for u in strays)
    return [
        len(parsed.keys), float(parsed.long), len(content), len(placed), len(strays),
        sum(u.stray >= 0.6 for u in strays), sum(0.3 < u.stray < 0.6 for u in strays), placed_w, stray_w,
        placed_w / (placed_w + stray_w) if placed_w + stray_w else 0.0, sum(u.kind_word for u in content),
        sum(u.role == "elsewhere" for u in parsed.units), sum(u.role in ("soft", "common") for u in parsed.units),
        len(parsed.uses), len(parsed.places), len(parsed.categories), float(parsed.stars is not None), len(parsed.asks),
        float(any(parsed.marked)), float(parsed.english_words), len(results), results[0].score,
        results[1].score if len(results) > 1 else 0.0, sum(index.parser.names_kind(u) for u in placed),
        sum(" " in u.text for u in placed), float(index._said_in_full(parsed, content)), len(parsed.excluded),
        len(parsed.implied), len(parsed.use_spans),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exclude", action="append", default=[], help="a labelled file's name to leave out")
    args = ap.parse_args()
    try:
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:
        print('this analysis needs scikit-learn: pip install -e ".[analysis]"', file=sys.stderr)
        return 2
    index = SearchIndex(demo_docs())
    rows: list[tuple[str, str, bool, list[float]]] = []
    for path in LABELLED:
        if path.name in args.exclude or not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            results = index.search(case["q"]).results
            if results:  # the gate can only take an answer away
                kind = "none" if "any" not in case and "filt" not in case else "asks"
                rows.append((path.name, kind, right(case, results), features(index, case["q"], results)))
    X = np.array([r[3] for r in rows])
    y = np.array([r[2] for r in rows], dtype=int)
    files = np.array([r[0] for r in rows])
    kinds = np.array([r[1] for r in rows])
    held_out = sorted({f for f in files if "sealed" in f})
    print(f"{len(rows)} answered messages; each of {len(held_out)} sealed sets held out in turn")
    models = {
        "boosting, 50 trees of depth 3": lambda: HistGradientBoostingClassifier(
            max_iter=50, max_depth=3, learning_rate=0.1
        ),
        "boosting, 200 trees": lambda: HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05),
    }
    for name, make in models.items():
        totals = {t: Counter() for t in THRESHOLDS}
        for held in held_out:
            train, test = files != held, files == held
            p = make().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
            for t, count in totals.items():
                gone = p < t
                count["no-match fixed"] += int(((kinds[test] == "none") & gone).sum())
                count["right answers lost"] += int(((kinds[test] != "none") & (y[test] == 1) & gone).sum())
        wrong = int(((kinds == "none") & np.isin(files, held_out)).sum())
        for t, count in totals.items():
            print(f"{name}, threshold {t}: {count['no-match fixed']} of {wrong} no-match fixed, "
                  f"{count['right answers lost']} right answers lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
