"""The answer gate (catalog/search/gate.py): a learned check that offers doubtful answers as suggestions instead."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from catalog.search import SearchIndex
from catalog.search.gate import FEATURES, MODEL, AnswerGate, answer_gate, features

DATA = Path(__file__).resolve().parents[1] / "data"


def gate_data(trees: list[list[list[float]]], base: float = 0.5, threshold: float = 0.25) -> dict[str, object]:
    return {"features": list(FEATURES), "base": base, "threshold": threshold, "trees": trees}


def test_the_trees_are_walked_to_one_leaf_each_and_summed_as_log_odds() -> None:
    # Tree 1 splits on feature 0 at 2.0; tree 2 on feature 3 at 0.5, then on feature 1 at 10.
    trees = [
        [[0, 2.0, 1, 2, 0.0], [-1, 0.0, 0, 0, -1.0], [-1, 0.0, 0, 0, 0.75]],
        [[3, 0.5, 1, 2, 0.0], [-1, 0.0, 0, 0, 0.25], [1, 10.0, 3, 4, 0.0], [-1, 0.0, 0, 0, -2.0],
         [-1, 0.0, 0, 0, 1.0]],
    ]
    gate = AnswerGate.from_dict(gate_data(trees, threshold=0.4))
    x = [0.0] * len(FEATURES)  # (a gate with no text model reads no words)
    assert gate.probability(x, []) == pytest.approx(1 / (1 + math.exp(-(0.5 - 1.0 + 0.25))))  # ≈ 0.44
    assert not gate.doubts(x, [])
    x[0], x[3], x[1] = 2.5, 1.0, 10.0  # right in tree 1; right, then left (10 <= 10) in tree 2
    assert gate.probability(x, []) == pytest.approx(1 / (1 + math.exp(-(0.5 + 0.75 - 2.0))))  # ≈ 0.32
    assert gate.doubts(x, [])
    assert not AnswerGate.from_dict(gate_data(trees, threshold=0.25)).doubts(x, [])


def test_a_gate_trained_on_other_features_or_with_a_broken_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="train it again"):
        AnswerGate.from_dict({**gate_data([]), "features": list(FEATURES[:-1])})
    for broken in ([[0, 1.0, 0, 1, 0.0], [-1, 0.0, 0, 0, 1.0]],  # a branch back to itself: no end
                   [[0, 1.0, 1, 5, 0.0], [-1, 0.0, 0, 0, 1.0]],  # a branch to no node
                   [[len(FEATURES), 1.0, 1, 2, 0.0], [-1, 0.0, 0, 0, 1.0], [-1, 0.0, 0, 0, 1.0]]):  # no such feature
        with pytest.raises(ValueError, match="does not fit"):
            AnswerGate.from_dict(gate_data([broken]))


def test_the_text_model_weighs_words_and_pairs_as_tf_idf_and_is_blended_in() -> None:
    text = {"intercept": -0.5, "grams": {"mat": [2.0, 1.5], "ong": [1.0, 0.5], "mat ong": [3.0, -1.0]}}
    gate = AnswerGate.from_dict({**gate_data([], base=0.0, threshold=0.5), "text": text, "blend": 0.25})
    assert gate.text is not None
    # "mat mat ong xyz": mat twice (1 + ln 2), ong once, the pair "mat ong" once, "xyz" and other pairs unknown.
    v = {"mat": (1 + math.log(2)) * 2.0, "ong": 1.0, "mat ong": 3.0}
    z = -0.5 + (v["mat"] * 1.5 + v["ong"] * 0.5 - v["mat ong"]) / math.sqrt(sum(x * x for x in v.values()))
    keys = ["mat", "mat", "ong", "xyz"]
    assert gate.text.probability(keys) == pytest.approx(1 / (1 + math.exp(-z)))
    assert gate.text.probability(["xyz"]) == pytest.approx(1 / (1 + math.exp(0.5)))  # no word known: the intercept
    x = [0.0] * len(FEATURES)  # no trees: their probability is 0.5
    assert gate.probability(x, keys) == pytest.approx(0.75 * 0.5 + 0.25 / (1 + math.exp(-z)))
    unknown = 0.75 * 0.5 + 0.25 / (1 + math.exp(0.5))  # no word known: the text model's intercept is blended in
    assert gate.probability(x, ["xyz"]) == pytest.approx(unknown)
    with pytest.raises(ValueError, match="no share"):
        AnswerGate.from_dict({**gate_data([]), "text": text, "blend": 1.5})


def test_the_shipped_gate_reads_the_features_the_code_computes() -> None:
    gate = answer_gate()
    assert gate is not None and MODEL.exists()
    assert gate.features == FEATURES and 0 < gate.threshold < 1 and len(gate.trees) >= 10
    assert gate.text is not None and len(gate.text.grams) > 1000 and 0 < gate.blend < 1
    assert json.loads(MODEL.read_text(encoding="utf-8"))["features"] == list(FEATURES)


def labelled(*files: Path) -> list[str]:
    return [json.loads(line)["q"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_gate_only_ever_takes_answers_away_and_offers_them_as_suggestions(demo: SearchIndex) -> None:
    queries = labelled(DATA / "search_extra.jsonl", DATA / "search_chat.jsonl", DATA / "search_chat_sealed30.jsonl")
    doubted = 0
    for q in queries:
        gated, ruled = demo.search(q), demo.search(q, gated=False)
        if gated.doubted:
            doubted += 1
            assert gated.results == [] and ruled.results, q
            assert [h.doc.slug for h in gated.suggestions] == [h.doc.slug for h in ruled.results[:3]], q
            assert demo.parser.parse(q).long, q  # never a query typed short
        else:
            assert gated == ruled, q
    assert 0 < doubted < len(queries) // 20  # it does take some answers away, and few


def test_a_doubtful_answer_becomes_the_closest_products(demo: SearchIndex) -> None:
    # Cotton pads are not sold; the rules would answer Đa Mai's products for the "mai" of "mai e đi hẹn hò".
    answer = demo.search("bông tẩy trang có bán hok shop, mai e đi hẹn hò")
    assert answer.doubted and not answer.results and answer.suggestions
    assert demo.search("bông tẩy trang có bán hok shop, mai e đi hẹn hò", gated=False).results
    # Named plainly, the same products are the answer.
    assert not demo.search("bún Đa Mai").doubted and demo.search("cho mình hỏi bún Đa Mai giá bao nhiêu").results


def test_features_say_how_the_answer_came_about(demo: SearchIndex) -> None:
    answer, parsed = demo.ruled("mật ong rừng Sơn Động có ship về Hà Nội không")
    x = dict(zip(FEATURES, features(demo, parsed, answer), strict=True))
    assert x["named_in_full"] == 1 and x["name_covered"] == 1 and x["placed"] >= 1 and x["stray_first"] == 0
    answer, parsed = demo.ruled("bông tẩy trang có bán hok shop, mai e đi hẹn hò")
    x = dict(zip(FEATURES, features(demo, parsed, answer), strict=True))
    assert x["named_in_full"] == 0 and x["name_covered"] < 0.5 and x["stray_first"] == 1
