"""Benchmark: the staff console's pages with many leads (SQLite file, the real Starlette app in-process).

    python benchmarks/bench_console.py [--leads 1000,10000] [--repeat 3] [--open-share 0.3]

For each size, leads are inserted straight into a fresh database (`--open-share` of them still open and
unanswered, the rest closed), then each page is fetched `--repeat` times in turns (inbox, inbox filtered
to overdue, one lead, the XLSX export) through httpx's ASGI transport with a signed-in session. Printed:
the median wall time per page and the response size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.web.server import console_app  # noqa: E402
from catalog import staff_accounts  # noqa: E402
from catalog.db import Database  # noqa: E402
from catalog.models import Lead, utcnow  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def seed(db: Database, n: int, open_share: float) -> str:
    now = utcnow()
    rows = []
    for i in range(n):
        created = now - dt.timedelta(minutes=7 * (n - i))
        is_open = i >= n * (1 - open_share)
        rows.append(dict(
            ref=f"BG-2026-{i + 1:06d}", channel="telegram", chat_id=str(10_000 + i), user_id=str(10_000 + i),
            language="vi", products=[{"slug": "", "text": f"hàng {i % 50}"}], quantity="2 tonne",
            delivery_place="Hà Nội", time_frame="asap", buyer_name=f"Người mua {i}", organisation="",
            phone="+84912345678", email="", notes="", status="new" if is_open else "won", claimed_by="",
            tags=["sỉ"] if i % 3 else [], product_group=("food", "beverage", "herbal")[i % 3],
            district=("Lục Ngạn", "Yên Thế", "Lục Nam")[i % 3], staff_chat_id="", consent_at=created,
            created_at=created, updated_at=created, closed_at=None if is_open else created))
    async with db.session() as session:
        for start in range(0, n, 1000):
            await session.execute(insert(Lead), rows[start:start + 1000])
        await staff_accounts.add_account(session, "bench", "a long enough secret")
    return rows[-1]["ref"]


async def measure(n: int, repeat: int, open_share: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        db = Database(url)
        await db.prepare(seed=False)
        ref = await seed(db, n, open_share)
        settings = Settings(database_url=url, web_secret=SecretStr("b" * 40))
        transport = httpx.ASGITransport(app=console_app(db, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = CSRF.search((await client.get("/login")).text).group(1)  # type: ignore[union-attr]
            await client.post("/login", data={"username": "bench", "password": "a long enough secret",
                                              "csrf_token": token})
            pages = {"inbox": "/leads", "inbox overdue": "/leads?overdue=1", "inbox food/page 3":
                     "/leads?group=food&page=3", "one lead": f"/leads/{ref}", "export xlsx": "/leads/export.xlsx"}
            times: dict[str, list[float]] = {name: [] for name in pages}
            sizes: dict[str, int] = {}
            for _ in range(repeat):
                for name, path in pages.items():
                    started = time.perf_counter()
                    answer = await client.get(path)
                    times[name].append(time.perf_counter() - started)
                    assert answer.status_code == 200, (path, answer.status_code)
                    sizes[name] = len(answer.content)
        await db.dispose()
    print(f"{n} leads ({int(n * open_share)} open), median of {repeat}:")
    for name in pages:
        print(f"  {name:<18} {statistics.median(times[name]) * 1000:8.1f} ms  {sizes[name] / 1024:8.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--open-share", type=float, default=0.3)
    args = parser.parse_args()
    for n in (int(x) for x in args.leads.split(",")):
        asyncio.run(measure(n, args.repeat, args.open_share))


if __name__ == "__main__":
    main()
