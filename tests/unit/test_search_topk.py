"""Bounded work for common words (issue 14): the best of many products found without scoring all of them
gives the very answer of scoring all of them."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest

from catalog.search import ProductDoc, SearchIndex
from catalog.search import index as search_index
from catalog.search.matching import Matcher
from catalog.search.model import ACCENT_MISMATCH, Unit

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_catalog.json"

PRODUCTS = [
    ("Mật ong", "honey", "food", ("gift",)),
    ("Mật ong rừng", "forest honey", "food", ("health", "gift")),
    ("Vải thiều", "lychee", "food", ()),
    ("Rượu nếp", "sticky rice wine", "beverage", ("tet", "gift")),
    ("Rượu men lá", "leaf yeast wine", "beverage", ()),
    ("Chè xanh", "green tea", "beverage", ("gift",)),
    ("Gạo nếp cái hoa vàng", "golden flower sticky rice", "food", ("tet",)),
    ("Mỳ gạo", "rice noodles", "food", ()),
    ("Bánh chưng", "chung cake", "food", ("tet",)),
    ("Nón lá", "conical hat", "handicraft", ()),
]
PLACES = ["An Phú", "Tân Đông", "Hòa Bình", "Yên Sơn", "Đông Hưng", "Phú Lộc", "Minh Đức", "Quang Trung"]
MAKERS = ["HTX Nông nghiệp", "HTX Dịch vụ", "Công ty TNHH", "Hộ kinh doanh", "HTX Sản xuất và Tiêu thụ"]
PROVINCES = ["Lạng Sơn", "Thái Nguyên", "Hưng Yên", "Nam Định"]


def catalogue(size: int, seed: int = 14) -> list[ProductDoc]:
    """The demo catalogue and `size` products whose producer and place words most of them share."""
    rng = random.Random(seed)
    with DEMO.open(encoding="utf-8") as fh:
        docs = [ProductDoc.from_row(r) for r in json.load(fh)["products"]]
    for n in range(size):
        vi, en, category, uses = rng.choice(PRODUCTS)
        place = rng.choice(PLACES)
        docs.append(
            ProductDoc(
                slug=f"t-{n}",
                name_vi=f"{vi} {place}",
                name_en=f"{place} {en}",
                aliases=(vi,),
                category=category,
                stars=rng.choice([3, 3, 4, 4, 5, None]),
                producer=f"{rng.choice(MAKERS)} {rng.choice(PLACES)}",
                commune=f"xã {rng.choice(PLACES)}",
                district=rng.choice(PLACES),
                province=rng.choice(PROVINCES),
                uses=uses if rng.random() < 0.5 else (),
            )
        )
    return docs


QUERIES = [
    "htx",
    "HTX Sản xuất và Tiêu thụ An Phú",
    "HTX Nông nghiệp Tân Đông",
    "nông nghiệp",
    "công ty TNHH",
    "Công ty TNHH Hòa Bình",
    "hộ kinh doanh",
    "An Phú Tân Đông",
    "mật ong",
    "mat ong",
    "mật ong làm quà",
    "rượu nếp Đông Hưng",
    "rượu biếu tết",
    "gạo",
    "honey",
    "rice",
    "đông",
    "an phú",
    "nón lá Minh Đức",
    "chè xanh Thái Nguyên",
    "bánh chưng ngày tết",
    "where can I buy Hoa Binh wine",
]


@pytest.fixture(scope="module")
def docs() -> list[ProductDoc]:
    return catalogue(6_000)


def answers(index: SearchIndex, limit: int) -> list[tuple[str, list[tuple[str, float]]]]:
    out = []
    for q in QUERIES:
        found = index.search(q, limit)
        out.append((q, [(h.doc.slug, h.score) for h in found.results + found.suggestions]))
    return out


@pytest.mark.parametrize("limit", [3, 10, 40])
def test_the_best_of_many_are_those_of_ranking_all(
    docs: list[ProductDoc], limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[bool] = []
    for name in ("_top_by_coverage", "_cover_top"):
        walk = getattr(SearchIndex, name)

        def spy(self: SearchIndex, *args: object, walk: object = walk) -> object:
            found = walk(self, *args)  # type: ignore[operator]
            taken.append(found is not None)
            return found

        monkeypatch.setattr(SearchIndex, name, spy)
    bounded = answers(SearchIndex(docs), limit)
    # A bounded walk (of the products matched, or of the matching itself) served most of these queries (each
    # finds hundreds to thousands of products)...
    assert sum(taken) >= 10
    monkeypatch.setattr(search_index, "TOP_K_FROM", len(docs) + 1)
    taken.clear()
    full = answers(SearchIndex(docs), limit)
    assert not any(taken)
    # ... and gave the answers of scoring every product, in the same order with the same scores.
    assert bounded == full
    assert all(found for _q, found in full)


def test_a_walk_that_grows_long_ranks_every_product(
    docs: list[ProductDoc], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With almost no walk allowed, the walk gives up and every product is ranked: the same answers again.
    full = answers(SearchIndex(docs), 10)
    monkeypatch.setattr(search_index, "WALK_SHARE", 0)
    gave_up: list[bool] = []
    walk = SearchIndex._top_by_coverage

    def spy(self: SearchIndex, *args: object) -> object:
        found = walk(self, *args)  # type: ignore[arg-type]
        gave_up.append(found is None)
        return found

    monkeypatch.setattr(SearchIndex, "_top_by_coverage", spy)
    assert answers(SearchIndex(docs), 10) == full
    assert any(gave_up)


@pytest.mark.parametrize("rare_word", [0, 1_000, 10**9])
def test_matching_that_stops_early_finds_what_matching_all_finds(
    docs: list[ProductDoc], rare_word: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Matching walks the products having a product word in a name, then the others, best first, and stops
    # when none left can make the best (SearchIndex._cover_top): the answers of matching every product, with
    # the same scores, however many products of a rare word it takes first.
    monkeypatch.setattr(search_index, "RARE_WORD", rare_word)
    served: list[str] = []
    cover_top = SearchIndex._cover_top

    def spy(self: SearchIndex, content: list[object], *args: object) -> object:
        found = cover_top(self, content, *args)  # type: ignore[arg-type]
        if found is not None:
            served.append(" ".join(u.text for u in content))  # type: ignore[attr-defined]
        return found

    monkeypatch.setattr(SearchIndex, "_cover_top", spy)
    index = SearchIndex(docs)
    bounded = [answers(index, limit) for limit in (1, 10, 40)]
    assert {"htx", "nong nghiep", "ho kinh doanh"} <= set(served)
    # A stored index (catalog/search/stored.py pickles it) has its named products too.
    restored = pickle.loads(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
    served.clear()
    assert [answers(restored, limit) for limit in (1, 10, 40)] == bounded
    assert "nong nghiep" in served
    monkeypatch.setattr(SearchIndex, "_cover_top", lambda *args: None)
    assert [answers(index, limit) for limit in (1, 10, 40)] == bounded


@pytest.mark.parametrize("query", ["mang mật ong về cho bố mẹ vợ", "bring my host family some rice wine"])
def test_a_need_only_implied_ranks_alike_either_way(
    docs: list[ProductDoc], query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gift only implied (a way of giving and a person it is for) is no preference among the products named:
    # _bonus gives it no points, and neither may the bounded walk over many products (_top_by_coverage).
    index = SearchIndex(docs)
    parsed = index.parser.parse(query)
    assert parsed.implied and parsed.implied <= set(parsed.uses)
    walked: list[int] = []
    walk = SearchIndex._top_by_coverage

    def spy(self: SearchIndex, scores: dict[int, float], *args: object) -> object:
        found = walk(self, scores, *args)  # type: ignore[arg-type]
        if found is not None:
            walked.append(len(scores))
        return found

    monkeypatch.setattr(SearchIndex, "_top_by_coverage", spy)
    for limit in (3, 10, 40):
        walked.clear()
        bounded = index.search(query, limit)
        assert walked and walked[0] > search_index.TOP_K_FROM  # many products, the walk served
        monkeypatch.setattr(search_index, "TOP_K_FROM", 10**9)
        ranked_all = index.search(query, limit)
        monkeypatch.setattr(search_index, "TOP_K_FROM", 1_000)
        assert [(h.doc.slug, h.score) for h in bounded.results] == [
            (h.doc.slug, h.score) for h in ranked_all.results
        ]
        assert bounded.results


@pytest.mark.parametrize("after", [0, 1, search_index.TIER_AFTER])
def test_walks_split_by_points_find_the_answers_of_ranking_all(
    docs: list[ProductDoc], after: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A walk that grows long goes on by the most ranking points each product left can have (the words', kinds'
    # and needs' products it is among, most first: search_index._by_points), and stops when no part left can beat
    # the best found: the answers of matching and ranking every product, in the same order with the same scores.
    queries = QUERIES + [
        "HTX Dịch vụ Tân Đông",
        "HTX Dịch vụ An Phú mật ong",
        "rượu nếp Hòa Bình công ty",
        "where can I get Phu Loc wine",
        "nón lá làm quà",
    ]
    monkeypatch.setattr(search_index, "TIER_AFTER", after)
    split: list[int] = []
    by_points = search_index._by_points

    def spy(*args: object) -> object:
        for most, part in by_points(*args):  # type: ignore[arg-type]
            split.append(len(part))
            yield most, part

    monkeypatch.setattr(search_index, "_by_points", spy)
    index = SearchIndex(docs)
    bounded = [[(h.doc.slug, h.score) for h in index.search(q, 10).results] for q in queries]
    if after <= 1:
        assert len(split) >= 5  # (parts walked)
    monkeypatch.setattr(search_index, "TOP_K_FROM", len(docs) + 1)
    monkeypatch.setattr(SearchIndex, "_cover_top", lambda *args: None)
    full = [[(h.doc.slug, h.score) for h in index.search(q, 10).results] for q in queries]
    assert bounded == full
    assert sum(bool(found) for found in full) >= len(queries) - 2


def test_listings_kept_for_other_queries_change_no_answer(docs: list[ProductDoc]) -> None:
    # An alternative's listing that took a pass over its products is kept (Matcher.alt_map) and reused by the
    # next query that reads the same alternative: each query answers as it does first in a fresh index.
    index = SearchIndex(docs)
    fresh = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)  # (pickled without its caches)
    shared = answers(index, 10)
    kept = [key for key in index.matcher.map_cache if len(key) == 2]
    assert kept and all(isinstance(penalty, float) for _alt, penalty in kept)
    alone = []
    for q in QUERIES:
        found = pickle.loads(fresh).search(q, 10)
        alone.append((q, [(h.doc.slug, h.score) for h in found.results + found.suggestions]))
    assert shared == alone


def test_covering_finds_the_products_and_coverages_of_asking_every_product(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Matcher.cover lists few products and drops candidates early (and sums its first part within its second's
    # pass when no candidate can fall below the first's floor); asking every product for every unit must give
    # the same products with the same coverage.
    docs = catalogue(1_500)
    index = SearchIndex(docs)
    calls: list[tuple[list[Unit], list[Unit], frozenset[str], float, set[int] | None, dict[int, float]]] = []
    cover = Matcher.cover

    def spy(
        self: Matcher,
        content: list[Unit],
        soft: list[Unit],
        qkeys: frozenset[str],
        threshold: float,
        max_candidates: int | None = None,
        within: set[int] | None = None,
    ) -> dict[int, float]:
        found = cover(self, content, soft, qkeys, threshold, max_candidates, within)
        if not max_candidates:  # (did-you-mean keeps only the first candidates: not a full answer)
            calls.append((content, soft, qkeys, threshold, within, found))
        return found

    monkeypatch.setattr(Matcher, "cover", spy)
    for q in QUERIES:
        index.search(q)
    matcher = index.matcher
    several = 0
    for content, soft, qkeys, threshold, within, found in calls:
        total = sum(u.weight for u in content)
        expected: dict[int, float] = {}
        for d in range(len(docs)) if within is None else within:
            got = sum(u.weight * matcher.unit_q(u, d, qkeys) for u in content)
            extra = sum(u.weight * matcher.unit_q(u, d, qkeys) for u in soft)
            if got + (1.0 - threshold) * extra >= threshold * total - 1e-9:
                expected[d] = min((got + extra) / (total + extra), 1.0)
        assert found.keys() == expected.keys()
        assert found == pytest.approx(expected)
        several += len(content) > 1 and bool(found)
    assert several >= 3  # products covering several product words, not one word's listing


@pytest.mark.parametrize("way", ["listed", "asked"])
def test_a_unit_listed_or_asked_product_by_product_scores_alike(
    way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Matcher.lookup lists a unit's products (cached per index) or asks the few candidates one by one, by cost
    # alone (a unit only partly listed for candidates is asked: "tao" is "apple" at 0.95 but thao, tân, thọ…
    # at 0.2). Either way every product gets the same quality: the same answers, with the same scores.
    docs = catalogue(1_500)
    queries = [
        "htx an phu",
        "mật ong",
        "mat ong rung tao",
        "dong hung ruou tao",
        "nón lá Minh Đức",
        "chè xanh",
    ]
    usual = [answers_to(SearchIndex(docs), q) for q in queries]
    assert sum(bool(found) for found in usual) >= 4
    if way == "listed":

        def lookup(self: Matcher, unit: Unit, qkeys: frozenset[str], budget: int) -> object:
            return self.unit_map(unit, qkeys, ACCENT_MISMATCH)
    else:

        def lookup(self: Matcher, unit: Unit, qkeys: frozenset[str], budget: int) -> object:
            if unit.found is not None:  # (as Matcher.lookup: a listing kept on the unit is used)
                return unit.found
            return self.asker(unit, qkeys, ACCENT_MISMATCH)

    monkeypatch.setattr(Matcher, "lookup", lookup)
    assert [answers_to(SearchIndex(docs), q) for q in queries] == usual


def answers_to(index: SearchIndex, query: str) -> list[tuple[str, float]]:
    found = index.search(query, 10)
    return [(h.doc.slug, h.score) for h in found.results + found.suggestions]
