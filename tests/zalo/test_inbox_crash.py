"""The Zalo webhook under SIGKILL: every event the real `ocop-bot run --channel zalo` answered 200 is handled and
answered after a restart (Zalo never resends an event it got a 200 for). No fixed waits: each kill comes once
the bot has answered part of the burst; the end waits, with a generous ceiling, for nothing to be owed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from catalog.db import Database
from catalog.models import InboxEntry
from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
KILLS = 4
USERS = 130
PER_USER = 2  # 260 events a burst, 1,040 in all
CEILING = 240.0


async def wait_until(condition, ceiling: float = CEILING) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + ceiling
    while not condition():
        assert loop.time() < end, "gave up waiting (the bot hung?)"
        await asyncio.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_sigkill_loses_no_event_that_got_a_200(db: Database, db_url: str, zalo: FakeZaloAPI,
                                                     tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update({f"OCOP_{k.upper()}": str(v) for k, v in zalo.settings_fields().items()})
    env.update({"OCOP_DATABASE_URL": db_url, "OCOP_ZALO_WEBHOOK_PORT": str(port), "PYTHONPATH": str(REPO)})
    zalo.webhook_url = f"http://127.0.0.1:{port}/zalo/webhook"
    log = tmp_path / "bot.log"
    process: asyncio.subprocess.Process | None = None

    async def start() -> asyncio.subprocess.Process:
        with log.open("ab") as out:
            bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", "--channel", "zalo",
                                                       cwd=tmp_path, env=env, stderr=out)
        async with httpx.AsyncClient() as client:
            for _ in range(1200):
                assert bot.returncode is None, log.read_text(errors="replace")[-2000:]
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        return bot
                await asyncio.sleep(0.05)
        raise AssertionError("the bot did not start")

    accepted: Counter[str] = Counter()
    numbers = itertools.count()
    keys: list[str] = []

    async def send(user: str, n: int) -> None:
        event = zalo.event("user_send_text", user, message={"text": "cảm ơn", "msg_id": f"m{user}-{n}"})
        while True:  # as Zalo does: an event without a 200 is sent again
            with contextlib.suppress(httpx.HTTPError):
                pushed = await zalo.push(event)
                if pushed.status_code == 200:
                    # "duplicate": stored before a kill that took its 200 with it
                    assert pushed.response in ({"status": "ok"}, {"status": "duplicate"}), pushed.response
                    accepted[user] += 1
                    keys.append(event["message"]["msg_id"])
                    return
            await asyncio.sleep(0.05)

    def answered() -> int:
        return sum(min(n, len(zalo.texts_to(user))) for user, n in accepted.items())

    try:
        process = await start()
        for _ in range(KILLS):
            before = sum(len(zalo.texts_to(u)) for u in accepted)
            burst = asyncio.gather(*(send(f"9{u:05d}", next(numbers)) for _ in range(PER_USER) for u in range(USERS)))
            await wait_until(lambda b=before: sum(len(zalo.texts_to(u)) for u in accepted) >= b + 20)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            process = await start()
            await burst
        await wait_until(lambda: answered() == sum(accepted.values()))
        statuses: dict[str, str] = {}
        for _ in range(int(CEILING / 0.2)):
            async with db.session() as session:
                statuses = {e.key: e.status for e in (await session.scalars(
                    select(InboxEntry).where(InboxEntry.channel == "zalo"))).all()}
            if all(statuses.get(k) == "done" for k in keys):
                break
            await asyncio.sleep(0.2)
    finally:
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    total = sum(accepted.values())
    print(f"\nzalo inbox crash test: {KILLS} SIGKILLs, {USERS * PER_USER * KILLS} events sent, {total} got a 200, "
          f"{answered()} answered after the restarts")
    assert total >= 1000
    assert answered() == total
    assert Counter(statuses.get(k) for k in keys) == Counter({"done": total})
