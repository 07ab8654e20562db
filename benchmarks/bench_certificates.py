"""What the honest count costs: the certificate states of a whole catalogue, as the browse menu and "how many"
answers work them out on every ask (`handlers.browse.certificate_breakdown`). Prints CPU milliseconds.

    python benchmarks/bench_certificates.py [--size 20000 --size 100000] [--runs 5]

Synthetic products (marked as such): decisions spread over four years of signing days, a tenth with a stated
expiry, a tenth with no decision.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog.certificates import default_expiry  # noqa: E402
from handlers.browse import certificate_breakdown  # noqa: E402
from locales import translator  # noqa: E402


def products(size: int) -> list[SimpleNamespace]:
    start = dt.date(2021, 1, 1)
    out = []
    for i in range(size):
        signed = start + dt.timedelta(days=i % 1461)
        out.append(SimpleNamespace(
            slug=f"synthetic-{i}", certificate_no="" if i % 10 == 0 else f"{i}/QĐ-UBND (synthetic)",
            certified_on=signed, certificate_level="province",
            certificate_expires_on=signed + dt.timedelta(days=900) if i % 10 == 1 else None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    t = translator("vi")
    for size in args.size or [88, 20_000, 100_000]:
        catalogue = products(size)
        default_expiry.cache_clear()
        first = time.process_time()
        certificate_breakdown(t, catalogue)
        cold = time.process_time() - first
        times = []
        for _ in range(args.runs):
            begin = time.process_time()
            certificate_breakdown(t, catalogue)
            times.append(time.process_time() - begin)
        print(f"{size:>7} products: first {cold * 1000:7.2f} ms, then median {statistics.median(times) * 1000:7.2f} ms "
              f"CPU (of {args.runs})")


if __name__ == "__main__":
    main()
