"""Goods put into buyers' chat frames: how often the search answers a product for goods it does not sell, and
finds the product for goods it does.

Run from the project root:  PYTHONPATH=. python benchmarks/search_frames.py [-v]

The labelled sets hold a few hundred messages each; this multiplies: every line of
tests/data/frames_goods_none.txt (other provinces' specialities, dishes, drinks, crafts the demo catalogue
lacks) and every demo product's name (whole, and its first two words) goes into fourteen chat frames
(Vietnamese with and without marks, Zalo shorthand, a gift, a price, an order, English). A rule that only
serves the sentences it was written from shows here as a frame that fails for many goods.

Printed: for the goods not sold, how many messages got a product (lower is better), per set and per frame;
for the products, how many messages found them in the top 3 (higher is better). `-v` lists each failure.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from benchmarks.bench_search import demo_docs
from catalog.search import SearchIndex
from catalog.text import fold

ROOT = Path(__file__).resolve().parent.parent
GOODS = ROOT / "tests" / "data" / "frames_goods_none.txt"

# (frame, how the goods are written in it: "vi" as listed, "plain" folded to ASCII)
FRAMES = [
    ("shop ơi có {x} không ạ", "vi"),
    ("cho mình hỏi mua {x} ở đâu, ship hn dc ko", "vi"),
    ("mình muốn mua {x} làm quà biếu sếp dịp Tết", "vi"),
    ("{x} giá bao nhiêu 1kg vậy shop", "vi"),
    ("e cần sll {x} cho quán, ib giá sỉ nhé", "vi"),
    ("mẹ mình thích {x}, bên bạn có bán không", "vi"),
    ("cho minh hoi mua {x} o dau ship hn dc ko", "plain"),
    ("alo shop, bên mình còn {x} ko", "vi"),
    ("mình đặt 3 phần {x} giao chiều nay được không", "vi"),
    ("{x} loại ngon nhất giá sao vậy bạn", "vi"),
    ("hôm trước ăn {x} ở nhà bạn thấy ngon quá, mua ở đâu vậy", "vi"),
    ("có {x} chính gốc không hay toàn hàng trôi nổi", "vi"),
    ("ad oi {x} con hang ko a", "plain"),
    ("do you sell {x}? I need two boxes", "plain"),
]


def goods_sets(path: Path = GOODS) -> dict[str, list[str]]:
    """The goods file's lines by set ("1", "2"), comments left out."""
    sets: dict[str, list[str]] = {"1": []}
    current = "1"
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("# set "):
            current = line.removeprefix("# set ").strip()
            sets.setdefault(current, [])
        elif line and not line.startswith("#"):
            sets[current].append(line)
    return sets


def message(frame: str, how: str, goods: str) -> str:
    return frame.format(x=fold(goods) if how == "plain" else goods)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = ap.parse_args(argv)
    docs = demo_docs()
    index = SearchIndex(docs)

    for name, goods in goods_sets().items():
        answered, by_frame = 0, Counter()
        for frame, how in FRAMES:
            for g in goods:
                q = message(frame, how, g)
                results = index.search(q, 3).results
                if results:
                    answered += 1
                    by_frame[frame] += 1
                    if args.verbose:
                        print(f"  answered {q!r} -> {[h.doc.name_vi for h in results]}")
        total = len(goods) * len(FRAMES)
        print(f"goods not sold, set {name}: {answered}/{total} messages answered with a product ({answered / total:.3f})")
        for frame, n in by_frame.most_common(3):
            print(f"    {n:4d}/{len(goods)}  {frame}")

    found = total = 0
    for doc in docs:
        short = " ".join(doc.name_vi.split()[:2])
        for goods in dict.fromkeys((doc.name_vi, short)):
            for frame, how in FRAMES:
                q = message(frame, how, goods)
                names = [fold(h.doc.name_vi) for h in index.search(q, 3).results]
                hit = fold(doc.name_vi) in names if goods == doc.name_vi else any(fold(short) in n for n in names)
                found += hit
                total += 1
                if args.verbose and not hit:
                    print(f"  missed {q!r} -> {names}")
    print(f"products sold: {found}/{total} messages found them in the top 3 ({found / total:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
