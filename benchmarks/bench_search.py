"""Benchmark catalogue search against SQLite FTS5 and plain rapidfuzz: latency at demo and national size, quality.

Run from the project root:  PYTHONPATH=. python benchmarks/bench_search.py [--rounds 20] [--size 20000]
                                [--size 100000] [--cases tests/data/search_chat.jsonl ...]

Latency is per query, on one core (the process is pinned when the OS allows), over three kinds of query:
the dev and extra labelled sets ("labelled"), producer names taken from the synthetic catalogue ("producer":
"HTX Nông nghiệp An Phú", whose words occur in most products) and bare generic words ("generic": "mật ong",
"htx", "nông sản"). "cold" is each query's first run on a fresh index (token caches empty), the others warm
runs. The figures are CPU time of the searching thread, so a busy shared machine does not inflate them;
wall-clock p99 is printed beside them. Each row also gives the build time (CPU seconds) and how much the
process's resident memory grew while building (RSS, MB). "ocop stored" is the same search as a process
starts it once the index is kept on disk (catalog/search/stored.py): its "build" is loading the file.
Quality is the dev set's hit@3 / top-1 / filter / no-match on the demo catalogue, scored like
shared/eval/score_search.py; each `--cases` file is scored for every searcher too, and its queries join the
timed set.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process, utils

from catalog.search import ProductDoc, SearchIndex, stored
from catalog.search.stored import IndexKey
from catalog.text import fold

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "catalog" / "data" / "demo_catalog.json"
DEV = ROOT / "tests" / "data" / "search_dev.jsonl"
EXTRA = ROOT / "tests" / "data" / "search_extra.jsonl"

Searcher = Callable[[str], list[dict[str, Any]]]

# ------------------------------------------------------------------------------------- synthetic catalogue

PRODUCTS = [  # (Vietnamese, English, category)
    ("Mật ong", "honey", "food"),
    ("Mật ong rừng", "forest honey", "food"),
    ("Vải thiều", "lychee", "food"),
    ("Nhãn lồng", "longan", "food"),
    ("Bưởi da xanh", "green-skin pomelo", "food"),
    ("Cam sành", "king orange", "food"),
    ("Chè xanh", "green tea", "beverage"),
    ("Trà hoa vàng", "golden flower tea", "beverage"),
    ("Rượu nếp", "sticky rice wine", "beverage"),
    ("Rượu men lá", "leaf yeast wine", "beverage"),
    ("Gạo nếp cái hoa vàng", "golden flower sticky rice", "food"),
    ("Gạo tám thơm", "fragrant rice", "food"),
    ("Mỳ gạo", "rice noodles", "food"),
    ("Bún khô", "dried vermicelli", "food"),
    ("Miến dong", "arrowroot noodles", "food"),
    ("Bánh đa nem", "spring roll rice paper", "food"),
    ("Bánh chưng", "chung cake", "food"),
    ("Giò lụa", "pork roll", "food"),
    ("Chả cá", "fish cake", "food"),
    ("Nước mắm", "fish sauce", "food"),
    ("Tương bần", "soybean paste", "food"),
    ("Cà phê rang xay", "ground coffee", "beverage"),
    ("Hạt điều rang muối", "salted cashews", "food"),
    ("Tiêu đen", "black pepper", "food"),
    ("Xoài cát", "cat mango", "food"),
    ("Thanh long ruột đỏ", "red dragon fruit", "food"),
    ("Sầu riêng", "durian", "food"),
    ("Dừa sáp", "wax coconut", "food"),
    ("Kẹo dừa", "coconut candy", "food"),
    ("Chuối sấy", "dried banana", "food"),
    ("Gà đồi", "hill chicken", "food"),
    ("Vịt cỏ", "grass duck", "food"),
    ("Thịt trâu gác bếp", "smoked buffalo meat", "food"),
    ("Lạp xưởng", "Chinese sausage", "food"),
    ("Nem chua", "fermented pork roll", "food"),
    ("Đông trùng hạ thảo", "cordyceps", "herbal"),
    ("Cao đinh lăng", "polyscias extract", "herbal"),
    ("Sâm Ngọc Linh", "Ngoc Linh ginseng", "herbal"),
    ("Trà atiso", "artichoke tea", "herbal"),
    ("Tinh dầu sả", "lemongrass oil", "herbal"),
    ("Nấm linh chi", "lingzhi mushroom", "herbal"),
    ("Nấm hương", "shiitake", "food"),
    ("Măng khô", "dried bamboo shoots", "food"),
    ("Mơ muối", "salted apricot", "food"),
    ("Mận hậu", "hau plum", "food"),
    ("Na dai", "custard apple", "food"),
    ("Ổi lê", "pear guava", "food"),
    ("Chổi đót", "broom", "handicraft"),
    ("Mây tre đan", "rattan and bamboo weaving", "handicraft"),
    ("Gốm", "pottery", "handicraft"),
    ("Thổ cẩm", "brocade", "textile"),
    ("Lụa tơ tằm", "silk", "textile"),
    ("Khăn dệt", "woven scarf", "textile"),
    ("Du lịch sinh thái", "eco-tourism", "tourism"),
    ("Homestay bản", "village homestay", "tourism"),
    ("Bánh gai", "gai leaf cake", "food"),
    ("Bánh cốm", "green rice cake", "food"),
    ("Chè lam", "che lam sweets", "food"),
    ("Dầu lạc", "peanut oil", "food"),
    ("Dầu vừng", "sesame oil", "food"),
]


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


SYLLABLES = _words(
    "An Bình Phú Tân Hòa Thạnh Long Hưng Thành Đông Tây Nam Bắc Yên Lạc Sơn Hải Minh Quang Xuân Vĩnh Phước "
    "Đức Thái Hồng Kim Ngọc Thiện Mỹ Lộc Thuận Hiệp Trung Cẩm Gia Lâm Hà Cao Văn Quý Lương Châu Định Khánh "
    "Tiến Thịnh Hợp Nghĩa Phong Vân Tường Hậu Lập Hiển Quế Đồng Trường"
)
PROVINCES = _words(
    "Lào Cai|Yên Bái|Phú Thọ|Thái Nguyên|Lạng Sơn|Quảng Ninh|Hải Dương|Hưng Yên|Thái Bình|Nam Định|Ninh Bình|"
    "Thanh Hóa|Nghệ An|Hà Tĩnh|Quảng Bình|Quảng Nam|Bình Định|Khánh Hòa|Lâm Đồng|Đắk Lắk|Gia Lai|Đồng Nai|"
    "Long An|Tiền Giang|Bến Tre|Đồng Tháp|An Giang|Cần Thơ|Sóc Trăng|Cà Mau",
    "|",
)
KINDS = ["HTX Nông nghiệp", "HTX Dịch vụ", "Công ty TNHH", "Hộ kinh doanh", "HTX Sản xuất và Tiêu thụ"]


def synthetic_catalogue(size: int, seed: int = 20240) -> list[ProductDoc]:
    """A deterministic national-scale catalogue: product words × real-looking communes, districts, provinces."""
    rng = random.Random(seed)

    def place() -> str:
        a, b = rng.sample(SYLLABLES, 2)
        return f"{a} {b}"

    districts = {p: [place() for _ in range(8)] for p in PROVINCES}
    docs: list[ProductDoc] = []
    for n in range(size):
        vi, en, category = rng.choice(PRODUCTS)
        province = rng.choice(PROVINCES)
        district = rng.choice(districts[province])
        commune = place()
        brand = rng.choice([commune, district, place()])
        docs.append(
            ProductDoc(
                slug=f"syn-{n}",
                name_vi=f"{vi} {brand}",
                name_en=f"{fold(brand).title()} {en}",
                aliases=(vi, f"{vi} {district}"),
                category=category,
                stars=rng.choice([3, 3, 3, 4, 4, 5, None]),
                producer=f"{rng.choice(KINDS)} {brand}",
                commune=f"xã {commune}",
                district=district,
                province=province,
            )
        )
    return docs


def demo_docs() -> list[ProductDoc]:
    with open(DEMO, encoding="utf-8") as fh:
        return [ProductDoc.from_row(r) for r in json.load(fh)["products"]]


# ------------------------------------------------------------------------------------------------ searchers


def as_result(doc: ProductDoc) -> dict[str, Any]:
    return {
        "name_vi": doc.name_vi,
        "name_en": doc.name_en,
        "producer": doc.producer,
        "commune": doc.commune,
        "district": doc.district,
        "stars": doc.stars,
        "category": doc.category,
    }


def ours(docs: Sequence[ProductDoc]) -> tuple[Searcher, SearchIndex]:
    index = SearchIndex(docs)
    return (lambda q: [h.to_json() for h in index.search(q).results]), index


_STORED: dict[int, tuple[Path, IndexKey]] = {}


def store(docs: Sequence[ProductDoc]) -> None:
    """Build the index of `docs` and keep it on disk as a process does (catalog/search/stored.py)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    key = IndexKey("bench", 1, "", len(docs))
    stored.save(SearchIndex(docs), folder / "index", key)
    _STORED[id(docs)] = (folder / "index", key)


def load_stored(docs: Sequence[ProductDoc]) -> Searcher:
    """This search as a process starts it once the index is stored: loaded from disk, not built."""
    if id(docs) not in _STORED:
        store(docs)
    path, key = _STORED[id(docs)]
    index = stored.load(path, key)
    assert index is not None, "the stored index did not load"
    return lambda q: [h.to_json() for h in index.search(q).results]


def fts5(docs: Sequence[ProductDoc]) -> Searcher:
    """The usual embedded baseline: SQLite FTS5, trigram tokenizer over folded text, words OR-ed, bm25 order."""
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(body, tokenize='trigram')")
    con.executemany(
        "INSERT INTO f(rowid, body) VALUES (?, ?)",
        (
            (i, fold(" ".join([d.name_vi, *d.aliases, d.name_en, d.producer, d.commune, d.district])))
            for i, d in enumerate(docs)
        ),
    )

    def search(q: str) -> list[dict[str, Any]]:
        words = [w for w in fold(q).split() if len(w) >= 3]  # a trigram index cannot look up shorter words
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        rows = con.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT 10", (match,)).fetchall()
        return [as_result(docs[r[0]]) for r in rows]

    return search


def plain_rapidfuzz(docs: Sequence[ProductDoc], cutoff: float = 75.0) -> Searcher:
    """rapidfuzz process.extract with WRatio over the raw Vietnamese names, results above a score cut."""
    names = [d.name_vi for d in docs]

    def search(q: str) -> list[dict[str, Any]]:
        found = process.extract(
            q, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=10, score_cutoff=cutoff
        )
        return [as_result(docs[i]) for _, _, i in found]

    return search


# ------------------------------------------------------------------------------------------------- scoring


def _tokens(result: dict[str, Any]) -> set[str]:
    fields = ("name_vi", "name_en", "producer", "commune", "district")
    return set(" ".join(fold(str(result.get(f) or "")) for f in fields).split())


def _satisfies(result: dict[str, Any], filt: dict[str, Any]) -> bool:
    if "stars" in filt and result.get("stars") != filt["stars"]:
        return False
    if "district" in filt and fold(filt["district"]) not in fold(result.get("district")):
        return False
    return not ("category" in filt and (result.get("category") or "").lower() != filt["category"])


def score(cases: list[dict[str, Any]], search: Searcher) -> dict[str, float]:
    """hit@3, top-1, filter and no-match rates, as shared/eval/score_search.py computes them."""
    n = {"pos": 0, "hit3": 0, "top1": 0, "filt": 0, "filt_ok": 0, "none": 0, "none_ok": 0}
    for case in cases:
        results = search(case["q"])
        if "any" in case:
            pats = [set(fold(p).split()) for p in case["any"]]
            ranks = [i for i, r in enumerate(results[:10]) if any(p <= _tokens(r) for p in pats)]
            n["pos"] += 1
            n["hit3"] += bool(ranks and ranks[0] < 3)
            n["top1"] += bool(ranks and ranks[0] == 0)
        elif "filt" in case:
            n["filt"] += 1
            n["filt_ok"] += bool(results) and all(_satisfies(r, case["filt"]) for r in results[:3])
        else:
            n["none"] += 1
            n["none_ok"] += not results
    return {
        "hit@3": n["hit3"] / max(n["pos"], 1),
        "top-1": n["top1"] / max(n["pos"], 1),
        "filter": n["filt_ok"] / max(n["filt"], 1),
        "no-match": n["none_ok"] / max(n["none"], 1),
    }


def load_cases(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ------------------------------------------------------------------------------------------------- latency


@dataclass
class Timing:
    build_s: float  # CPU seconds to build the searcher (to load it, for a persisted index)
    rss_mb: float  # resident memory of the process after building
    rss_growth_mb: float  # how much building grew it
    cpu_median: float  # ms of CPU per query, warm
    cpu_p99: float
    cpu_cold_p99: float  # first run of each query on a fresh index
    wall_median: float
    wall_p99: float
    cold_by_kind: dict[str, float]  # cold p99 per kind of query
    slowest: list[tuple[float, str]]  # the slowest first sights


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc; NaN elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def latency(
    make: Callable[[], Searcher], queries: list[tuple[str, str]], rounds: int, budget_s: float
) -> Timing:
    """Per-query latency of one searcher: CPU time (what the code costs) and wall time (what a user waits).

    `queries` are (kind, query). On a shared machine wall time also counts the moments the process waits for
    the core, so CPU time is the figure to compare; both are printed. The garbage collector is paused while
    timing, as timeit does.
    """
    gc.collect()
    before = rss_mb()
    t0 = time.process_time()
    search = make()
    build = time.process_time() - t0
    gc.collect()
    after = rss_mb()
    gc.disable()
    try:
        cold: list[tuple[float, str, str]] = []
        for kind, q in queries:  # first sight of every query: caches are empty
            c = time.thread_time_ns()
            search(q)
            cold.append(((time.thread_time_ns() - c) / 1e6, kind, q))
        cpu: list[float] = []
        wall: list[float] = []
        rng = random.Random(7)
        order = [q for _, q in queries]
        started = time.perf_counter()
        for _ in range(rounds):
            rng.shuffle(order)
            for q in order:
                c, w = time.thread_time_ns(), time.perf_counter_ns()
                search(q)
                wall.append((time.perf_counter_ns() - w) / 1e6)
                cpu.append((time.thread_time_ns() - c) / 1e6)
            if time.perf_counter() - started > budget_s:  # slow baselines: fewer rounds, same queries
                break
    finally:
        gc.enable()
    kinds = dict.fromkeys(kind for kind, _ in queries)
    by_kind = {k: _p99([t for t, kind, _ in cold if kind == k]) for k in kinds}
    slowest = sorted(((t, q) for t, _, q in cold), reverse=True)[:5]
    return Timing(
        build,
        after,
        after - before,
        statistics.median(cpu),
        _p99(cpu),
        _p99([t for t, *_ in cold]),
        statistics.median(wall),
        _p99(wall),
        by_kind,
        slowest,
    )


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


GENERIC = [  # bare generic words: each is in a large share of a national catalogue
    "mật ong",
    "mat ong",
    "htx",
    "HTX",
    "nông sản",
    "nông nghiệp",
    "xã",
    "công ty",
    "công ty TNHH",
    "rượu",
    "gạo",
    "trà",
    "chè",
    "bánh",
    "sản phẩm",
    "hộ kinh doanh",
    "dịch vụ",
    "hợp tác xã",
    "OCOP",
    "đặc sản",
    "honey",
    "rice",
    "tea",
    "3 sao",
    "4 sao",
    "thực phẩm",
    "đồ uống",
]


def producer_queries(docs: Sequence[ProductDoc], n: int = 60, seed: int = 11) -> list[str]:
    """Producer names as a buyer would type them: most of their words occur in most products."""
    rng = random.Random(seed)
    names = sorted({d.producer for d in docs if d.producer})
    picked = rng.sample(names, min(n, len(names)))
    # One the catalogue does not have, all its words common ones (issue 14's slowest query).
    return [*picked, "HTX Nông lâm nghiệp Tây Bắc Xanh", "Công ty TNHH Nông sản Sạch Hòa Bình"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20, help="warm passes over the query set")
    ap.add_argument(
        "--size",
        type=int,
        action="append",
        default=[],
        help="products in a synthetic national catalogue (repeatable; default 20000)",
    )
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of warm rounds per searcher and size")
    ap.add_argument("--cases", type=Path, action="append", default=[], help="more labelled queries to score")
    ap.add_argument(
        "--only", action="append", default=[], help="run only these searchers (ocop, stored, fts5, rapidfuzz)"
    )
    ap.add_argument("--no-demo", action="store_true", help="skip the demo-size rows and the quality scores")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the issue asks
    demo = demo_docs()
    sizes = args.size or [20_000]
    catalogues = [] if args.no_demo else [demo]
    catalogues += [demo + synthetic_catalogue(size - len(demo)) for size in sizes]
    dev, extra = load_cases(DEV), load_cases(EXTRA)
    more = {path.name: load_cases(path) for path in args.cases}
    # A --cases file may be a held-out set: its messages are timed and scored, never printed.
    sealed = {c["q"] for cases in more.values() for c in cases}
    labelled = [("labelled", c["q"]) for c in dev + extra + [c for cases in more.values() for c in cases]]
    national = demo + synthetic_catalogue(max(sizes) - len(demo))
    queries = (
        labelled + [("producer", q) for q in producer_queries(national)] + [("generic", q) for q in GENERIC]
    )
    del national
    print(
        f"{len(queries)} queries (dev {len(dev)} + extra {len(extra)}"
        + "".join(f" + {name} {len(cases)}" for name, cases in more.items())
        + f" labelled, {sum(k == 'producer' for k, _ in queries)} producer names,"
        f" {len(GENERIC)} generic words), {args.rounds} warm rounds, one core\n"
    )

    makers: dict[str, Callable[[Sequence[ProductDoc]], Searcher]] = {
        "ocop search": lambda docs: ours(docs)[0],
        "ocop stored": load_stored,
        "sqlite fts5 trigram": fts5,
        "rapidfuzz WRatio": plain_rapidfuzz,
    }
    if args.only:
        makers = {name: make for name, make in makers.items() if any(o in name for o in args.only)}
    kinds = list(dict.fromkeys(kind for kind, _ in queries))
    head = (
        f"{'searcher':<20} {'products':>8} {'build s':>7} {'RSS MB':>7} {'+MB':>6} {'median':>7} {'p99':>7}"
        f" {'cold p99':>8} {'wall p99':>8} "
        + " ".join(f"{'cold ' + k[:4]:>9}" for k in kinds)
        + f"   {'hit@3':>5} {'top-1':>5} {'filter':>6} {'no-match':>8}"
    )
    print("latency in ms per query (CPU time of the searching thread; wall p99 for reference);")
    print("build in CPU seconds; RSS of the process after building, and its growth while building\n")
    print(head)
    print("-" * len(head))
    slow: list[str] = []
    for name, make in makers.items():
        quality = None if args.no_demo else score(dev, make(demo))
        for docs in catalogues:
            if make is load_stored:
                store(docs)  # built and written beforehand: the row times loading it
            t = latency(lambda docs=docs, make=make: make(docs), queries, args.rounds, args.budget)
            figures = ""
            if docs is demo and quality is not None:
                q = quality
                figures = (
                    f"   {q['hit@3']:>5.3f} {q['top-1']:>5.3f} {q['filter']:>6.3f} {q['no-match']:>8.3f}"
                )
            print(
                f"{name:<20} {len(docs):>8} {t.build_s:>7.2f} {t.rss_mb:>7.0f} {t.rss_growth_mb:>6.0f}"
                f" {t.cpu_median:>7.3f} {t.cpu_p99:>7.3f} {t.cpu_cold_p99:>8.3f} {t.wall_p99:>8.3f} "
                + " ".join(f"{t.cold_by_kind[k]:>9.3f}" for k in kinds)
                + figures
            )
            if docs is not demo:
                slow.append(
                    f"{name}, {len(docs)}: "
                    + "; ".join(f"{ms:.1f} ms {'(a --cases message)' if q in sealed else repr(q)}" for ms, q in t.slowest)
                )
    print("\nslowest first sights:\n" + "\n".join(slow))
    if not args.no_demo:
        extra_quality = score(extra, ours(demo)[0])
        print(
            "\nocop search on the extra set (demo catalogue): "
            + "  ".join(f"{k} {v:.3f}" for k, v in extra_quality.items())
        )
        for name, cases in more.items():
            for searcher, make in makers.items():
                q = score(cases, make(demo))
                print(
                    f"{name} ({len(cases)}), {searcher}: " + "  ".join(f"{k} {v:.3f}" for k, v in q.items())
                )
    for path, _key in _STORED.values():  # after the scores: "ocop stored" loads its file for them too
        shutil.rmtree(path.parent, ignore_errors=True)
    print(
        "targets (issue 14): cold p99 <= 2 ms and <= 0.1 x FTS5's at 20,000 products, <= 10 ms at 100,000;"
        " build <= 10 s and index memory <= 300 MB at 100,000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
