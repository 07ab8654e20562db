"""The search quality bar: dev and extra query sets scored as shared/eval/score_search.py scores them."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from catalog.search import SearchIndex

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
BAR = {"hit3": 0.97, "top1": 0.90, "filter": 0.90, "nomatch": 0.90}
# Chat-style messages (tests/data/README.md): the part tuned on. Its held-out third is scored by hand, once.
CHAT_BAR = {"hit3": 0.90, "top1": 0.85, "filter": 0.90, "nomatch": 0.90}


def fold(text: str | None) -> str:
    """The scorer's own folding (kept separate from catalog.text on purpose: this is the judge's view)."""
    text = unicodedata.normalize("NFD", (text or "").lower()).replace("đ", "d")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def result_tokens(result: dict[str, Any]) -> set[str]:
    fields = ("name_vi", "name_en", "producer", "commune", "district")
    return set(" ".join(fold(str(result.get(f) or "")) for f in fields).split())


def matches(result: dict[str, Any], patterns: list[str]) -> bool:
    have = result_tokens(result)
    return any(set(fold(p).split()) <= have for p in patterns)


def satisfies(result: dict[str, Any], filt: dict[str, Any]) -> bool:
    if "stars" in filt and result.get("stars") != filt["stars"]:
        return False
    if "district" in filt and fold(filt["district"]) not in fold(result.get("district")):
        return False
    return not ("category" in filt and (result.get("category") or "").lower() != filt["category"])


def score(index: SearchIndex, cases: list[dict[str, Any]]) -> tuple[dict[str, float], list[str]]:
    totals = {"pos": 0, "hit3": 0, "top1": 0, "filt": 0, "filt_ok": 0, "none": 0, "none_ok": 0}
    misses: list[str] = []
    for case in cases:
        results = index.search(case["q"]).to_json()["results"]
        if "any" in case:
            ranks = [i for i, r in enumerate(results[:10]) if matches(r, case["any"])]
            totals["pos"] += 1
            totals["hit3"] += bool(ranks and ranks[0] < 3)
            totals["top1"] += bool(ranks and ranks[0] == 0)
            ok = bool(ranks and ranks[0] < 3)
        elif "filt" in case:
            ok = bool(results) and all(satisfies(r, case["filt"]) for r in results[:3])
            totals["filt"] += 1
            totals["filt_ok"] += ok
        else:
            ok = not results
            totals["none"] += 1
            totals["none_ok"] += ok
        if not ok:
            misses.append(f"[{case.get('kind')}] {case['q']!r} -> {[r['name_vi'] for r in results[:3]]}")

    def ratio(a: str, b: str) -> float:
        return totals[a] / totals[b] if totals[b] else 1.0

    figures = {
        "hit3": ratio("hit3", "pos"),
        "top1": ratio("top1", "pos"),
        "filter": ratio("filt_ok", "filt"),
        "nomatch": ratio("none_ok", "none"),
    }
    return figures, misses



@pytest.mark.parametrize("name", ["search_dev.jsonl", "search_extra.jsonl"])
def test_quality_bar(demo: SearchIndex, name: str) -> None:
    with open(DATA / name, encoding="utf-8") as fh:
        cases = [json.loads(line) for line in fh if line.strip()]
    assert len(cases) >= 60
    figures, misses = score(demo, cases)
    short = {k: round(v, 3) for k, v in figures.items() if v < BAR[k]}
    assert not short, f"{name}: {short} below {BAR}; misses:\n" + "\n".join(misses)


def test_chat_quality_bar(demo: SearchIndex) -> None:
    with open(DATA / "search_chat.jsonl", encoding="utf-8") as fh:
        cases = [json.loads(line) for line in fh if line.strip()]
    assert len(cases) >= 200
    figures, misses = score(demo, cases)
    short = {k: round(v, 3) for k, v in figures.items() if v < CHAT_BAR[k]}
    assert not short, f"search_chat.jsonl: {short} below {CHAT_BAR}; misses:\n" + "\n".join(misses)


def test_every_kind_of_query_is_in_the_extra_set() -> None:
    with open(DATA / "search_extra.jsonl", encoding="utf-8") as fh:
        kinds = {json.loads(line)["kind"] for line in fh if line.strip()}
    expected = {"exact_vi", "no_accent", "typo", "telex", "english", "dialect", "question_vi", "question_en"}
    assert expected | {"filter", "no_match"} <= kinds
