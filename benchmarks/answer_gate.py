"""The answer gate (catalog/search/gate.py): how well a learned answer-or-not check does, and the model shipped (issue 10).

The search answers a chat message when its rules place enough of the message's product words. On the blind sets its
weakest figure is no-match: messages about goods the catalogue lacks that still get a product. For every chat message
the rules answer, this script takes the gate's features (`gate.features`: placed, stray and kind words and their
weights, needs, places, groups, questions, marks, English, the first scores, how much of the first results' names the
message says, how unlike they are), the message's word keys, and whether the answer is right. A gradient-boosted
classifier over the features, and a logistic regression over the words and word pairs (tf-idf), are trained on all
sealed sets but one and applied to the one left out, for each in turn; an answer is taken away where its probability
of being right (the trees', or the two models' averaged) is below a threshold. It prints, per model and threshold, how
many no-match messages that fixes and how many right answers it loses. `--write` trains the shipped models on every
set not left out, checks that the plain-Python evaluation gives scikit-learn's probabilities, and writes them.

    pip install -e ".[analysis]"
    PYTHONPATH=. python benchmarks/answer_gate.py [--exclude search_chat_sealed55.jsonl ...]
    PYTHONPATH=. python benchmarks/answer_gate.py --exclude … --write catalog/data/answer_gate.json \
        --threshold 0.5 --blend 0.5

`--exclude` keeps sets out altogether (sets still sealed, kept to judge the gate blind). The features come from rules
tuned on these very sets, so the gate is judged on fresh blind sets, against the same rules ungated
(`ocop-bot search --ungated`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.bench_search import demo_docs
from catalog.search import SearchIndex
from catalog.search.gate import FEATURES, AnswerGate, features, text_grams
from catalog.text import fold

ROOT = Path(__file__).resolve().parent.parent
LABELLED = [
    *sorted((ROOT / "tests" / "data").glob("search_*.jsonl")),
    ROOT.parent / "shared" / "eval" / "search_dev.jsonl",
]
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
BLENDED = (0.4, 0.45, 0.5, 0.55)  # thresholds of the trees and the text model blended


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

        return bool(results) and all(fits(h.doc) for h in results[:3])
    return False  # a no-match message answered


def text_model() -> tuple[Any, Any]:
    """The text model shipped: words and pairs seen in three answered messages or more, tf-idf, logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    return TfidfVectorizer(analyzer=text_grams, min_df=3, sublinear_tf=True), LogisticRegression(C=2.0, max_iter=2000)


def fit_text(keys: list[list[str]], y: Any) -> tuple[Any, Any]:
    vectorizer, regression = text_model()
    regression.fit(vectorizer.fit_transform(keys), y)
    return vectorizer, regression


def export_text(vectorizer: Any, regression: Any) -> dict[str, Any]:
    """A fitted vectorizer and regression as the plain data TextModel evaluates: each gram's idf and weight."""
    idf, coef = vectorizer.idf_, regression.coef_[0]
    grams = {g: [_short(idf[i]), _short(coef[i])] for g, i in sorted(vectorizer.vocabulary_.items())}
    return {"intercept": float(regression.intercept_[0]), "grams": grams}


def _short(x: float) -> float:
    """Seven significant digits: the probabilities move by less than 1e-6, and the file is 40 % smaller."""
    return float(f"{x:.7g}")


def export(model: Any, threshold: float) -> dict[str, Any]:
    """A trained HistGradientBoostingClassifier as the plain data AnswerGate evaluates."""
    trees = []
    for (predictor,) in model._predictors:  # one tree per iteration (binary: one per class column)
        trees.append([
            [-1, 0.0, 0, 0, float(n["value"])] if n["is_leaf"]
            else [int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]), 0.0]
            for n in predictor.nodes
        ])
    return {"features": list(FEATURES), "threshold": threshold, "base": float(model._baseline_prediction[0][0]),
            "trees": trees}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exclude", action="append", default=[], help="a labelled file's name to leave out")
    ap.add_argument("--write", type=Path, help="train the shipped models on every set not left out and write them here")
    ap.add_argument("--threshold", type=float, default=0.5, help="the written gate's threshold")
    ap.add_argument("--blend", type=float, default=0.5, help="the text model's share of the written gate's probability")
    args = ap.parse_args()
    try:
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:
        print('this analysis needs scikit-learn: pip install -e ".[analysis]"', file=sys.stderr)
        return 2
    index = SearchIndex(demo_docs())
    rows: list[tuple[str, str, bool, list[float], list[str]]] = []
    for path in LABELLED:
        if path.name in args.exclude or not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            answer, parsed = index.ruled(case["q"])
            if answer.results and parsed.long:  # the gate can only take an answer away, and only in chat
                kind = "none" if "any" not in case and "filt" not in case else "asks"
                rows.append(
                    (path.name, kind, right(case, answer.results), features(index, parsed, answer), list(parsed.keys))
                )
    X = np.array([r[3] for r in rows])
    y = np.array([r[2] for r in rows], dtype=int)
    files = np.array([r[0] for r in rows])
    kinds = np.array([r[1] for r in rows])
    keys = [r[4] for r in rows]

    def shipped() -> Any:  # the model catalog/search/gate.py evaluates: 100 trees of up to 31 leaves
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, early_stopping=False, random_state=0)

    if args.write:
        model = shipped().fit(X, y)
        vectorizer, regression = fit_text(keys, y)
        data = {**export(model, args.threshold), "text": export_text(vectorizer, regression), "blend": args.blend}
        gate = AnswerGate.from_dict(data)
        ours = np.array([gate.probability(list(x), k) for x, k in zip(X, keys, strict=True)])
        theirs = (1 - args.blend) * model.predict_proba(X)[:, 1] + args.blend * regression.predict_proba(
            vectorizer.transform(keys)
        )[:, 1]
        if not np.allclose(ours, theirs, rtol=0, atol=1e-6):
            print(f"the plain evaluation differs from scikit-learn's by {abs(ours - theirs).max()}", file=sys.stderr)
            return 1
        args.write.write_text(json.dumps(data) + "\n", encoding="utf-8")
        print(f"trained on {len(rows)} answered messages; wrote {args.write} (threshold {args.threshold}); "
              f"in sample it would take away {int((ours < args.threshold).sum())} answers")
        return 0
    held_out = sorted({f for f in files if "sealed" in f})
    print(f"{len(rows)} answered messages; each of {len(held_out)} sealed sets held out in turn")
    models = {
        "boosting, 100 trees of 31 leaves (shipped)": shipped,
        "boosting, 100 trees of depth 4": lambda: HistGradientBoostingClassifier(
            max_iter=100, max_depth=4, learning_rate=0.1, early_stopping=False, random_state=0
        ),
    }
    scored = np.isin(files, held_out)  # the messages of the sets held out in turn
    wrong = int(((kinds == "none") & scored).sum())
    text = np.zeros(len(y))
    for held in held_out:  # the text model alone, each set held out in turn
        train, test = files != held, files == held
        vectorizer, regression = fit_text([k for k, t in zip(keys, train, strict=True) if t], y[train])
        text[test] = regression.predict_proba(vectorizer.transform([k for k, t in zip(keys, test, strict=True) if t]))[
            :, 1
        ]
    for name, make in models.items():
        trees = np.zeros(len(y))
        for held in held_out:
            train, test = files != held, files == held
            trees[test] = make().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        runs = [(name, trees, THRESHOLDS), (f"{name} and the text model, half each", (trees + text) / 2, BLENDED)]
        for label, p, thresholds in runs:
            for t in thresholds:
                gone = scored & (p < t)
                fixed = int(((kinds == "none") & gone).sum())
                lost = int(((kinds != "none") & (y == 1) & gone).sum())
                print(f"{label}, threshold {t}: {fixed} of {wrong} no-match fixed, {lost} right answers lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
