"""Several `ocop-bot run` processes in webhook mode on one PostgreSQL database, behind a round-robin proxy.

"Telegram" here posts every update at once (as it does with many webhook connections), each to the next
process in turn, so consecutive messages of one chat reach different processes at the same moment. What
must hold: every chat's replies come out in the order of its messages, a Confirm tapped twice (the two
taps at two processes) makes one lead, and the Bot API receives no more than the configured 30 requests in
any second of the clock (the limit shared through Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import secrets
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.shared_rate import UNCOUNTED
from catalog.db import Database
from catalog.models import InboxEntry, Lead
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import ChatHarness
from tests.leads.helpers import count, fill_form
from tests.leads.test_crash import child_env
from tests.leads.test_inbox_crash import WebhookBot, free_port

# The bot's id is the shared limit's key in Redis: one of its own per run, so two runs at once (two people, one
# Redis database) never share a count, and one run's count never leaks into the next one's first seconds.
TOKEN = f"{secrets.randbelow(10**9) + 10**9}:PROCESSES"
SECRET = "processes_secret"
QUERIES = ("mỳ chũ", "mật ong", "gà đồi yên thế", "rượu làng vân", "bánh")  # each answer quotes its query
CHATS = 40
CONFIRM_CHATS = 10
RATE_LIMIT = 30  # the bot's configured overall limit (messages per second)
CEILING = 240.0
CONNECTIONS = 40  # Telegram's most webhook connections at once
QUOTED = re.compile(r"“([^”]*)”")
# The Redis the processes share their rate limit through (a database index of one's own when several people
# run the tests on one machine)
REDIS_URL = os.environ.get("OCOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


class RoundRobinProxy:
    """What sits in front of the processes: each request goes to the next one; an update that gets no 200 is
    posted again (to the next process), as Telegram does."""

    def __init__(self, ports: list[int]) -> None:
        self.urls = itertools.cycle([f"http://127.0.0.1:{port}/telegram/hook" for port in ports])
        self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=CONNECTIONS), timeout=30.0)

    async def deliver(self, updates: list[dict[str, Any]]) -> None:
        """As Telegram does: the updates in order, over up to CONNECTIONS connections at once (so the next
        update of a chat may be posted, to another process, before the previous one got its 200)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for update in updates:
            queue.put_nowait(update)

        async def connection() -> None:
            while not queue.empty():
                await self.post(queue.get_nowait())

        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))

    async def post(self, update: dict[str, Any]) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                answer = await self.client.post(
                    next(self.urls), json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                )
                if answer.status_code == 200:
                    return
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        await self.client.aclose()


def answered_queries(api: FakeTelegramAPI, chat: int) -> list[str]:
    return [found.group(1) for m in api.bot_messages(chat) if (found := QUOTED.search(m.get("text", "")))]


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.parametrize("processes", [2, 4])
async def test_round_robin_processes_keep_order_make_one_lead_and_share_the_rate(
    db: Database, db_url: str, api: FakeTelegramAPI, tmp_path: Path, processes: int
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several processes share one PostgreSQL database (set OCOP_TEST_DATABASE_URL)")
    settings_env = {
        **child_env(db_url, api),
        "OCOP_TELEGRAM_TOKEN": TOKEN,
        "OCOP_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "OCOP_REDIS_URL": REDIS_URL,
    }
    # Forms waiting for their Confirm, filled in through the chat core (as earlier messages would have).
    from bot.config import Settings

    settings = Settings(
        database_url=db_url, staff_chat_id=-1000, staff_user_ids=frozenset({9001}), enquiries_per_day=100
    )
    confirm_chats = [80_000 + n for n in range(CONFIRM_CHATS)]
    for chat in confirm_chats:
        harness = ChatHarness(
            db, settings, channel="telegram", chat_id=str(chat), user_id=str(chat), language_hint="en"
        )
        await fill_form(harness, "en", phone=f"09123456{chat % 100:02d}")

    bots = [WebhookBot(settings_env, tmp_path / f"bot{n}.log", free_port()) for n in range(processes)]
    for bot in bots:
        await bot.start(api)
    proxy = RoundRobinProxy([bot.port for bot in bots])
    sent: dict[int, list[str]] = {}
    try:
        updates: list[int] = []
        for chat in range(CHATS):
            chat_id = 70_000 + chat
            order = [QUERIES[(chat + k) % len(QUERIES)] for k in range(len(QUERIES))]
            sent[chat_id] = order
            updates += [api.push_message(chat_id, q, user_id=chat_id, language_code="en") for q in order]
        for chat in confirm_chats:  # the double tap: two taps, one after the other, to two processes
            updates += [
                api.push_callback(chat, 1, "enq:confirm", user_id=chat, language_code="en") for _ in range(2)
            ]
        await proxy.deliver([api.updates[u] for u in updates])

        try:
            await api.wait_for(
                lambda: all(len(answered_queries(api, c)) >= len(QUERIES) for c in sent),
                CEILING,
                message="messages left unanswered",
            )
        except TimeoutError:  # which chats, and where their updates stand in the inbox
            waiting = [c for c in sent if len(answered_queries(api, c)) < len(QUERIES)]
            async with db.session() as session:
                for c in waiting[:3]:
                    entries = (await session.scalars(select(InboxEntry).where(InboxEntry.chat_key == str(c))
                                                     .order_by(InboxEntry.seq))).all()
                    print(c, answered_queries(api, c), *[(e.seq, e.status, e.attempts, e.owner[-4:],
                                                          e.last_error[:120]) for e in entries], sep="\n  ")
            raise
        rows: dict[int, str] = {}
        for _ in range(int(CEILING / 0.2)):
            async with db.session() as session:
                rows = {
                    int(e.key): e.status
                    for e in (
                        await session.scalars(select(InboxEntry).where(InboxEntry.channel == "telegram"))
                    ).all()
                }
            if all(rows.get(u) == "done" for u in updates):
                break
            await asyncio.sleep(0.2)
    finally:
        await proxy.aclose()
        for bot in bots:
            await bot.stop()

    out_of_order = [c for c, order in sent.items() if answered_queries(api, c) != order]
    async with db.session() as session:  # when each update of a misordered chat was stored and finished
        stored = {
            c: [
                (e.seq, e.owner[-4:], e.created_at.strftime("%S.%f"), e.updated_at.strftime("%S.%f"))
                for e in (
                    await session.scalars(
                        select(InboxEntry).where(InboxEntry.chat_key == str(c)).order_by(InboxEntry.seq)
                    )
                ).all()
            ]
            for c in out_of_order[:3]
        }
    leads = await count(db, Lead)
    per_second = Counter(int(c.time) for c in api.calls() if c.method not in UNCOUNTED)
    busiest = max(per_second.values())
    print(
        f"\n{processes} processes: {len(sent)} chats x {len(QUERIES)} messages, {len(out_of_order)} out of order; "
        f"{CONFIRM_CHATS} double-tapped Confirms, {leads} leads; busiest second {busiest} Bot API requests "
        f"(limit {RATE_LIMIT})"
    )
    for c in out_of_order[:3]:
        print(c, answered_queries(api, c), sent[c], *stored[c], sep="\n  ")
    if busiest > RATE_LIMIT:
        print("requests per second:", sorted(per_second.items()))
    assert not out_of_order
    assert leads == CONFIRM_CHATS
    assert Counter(rows.get(u) for u in updates) == Counter({"done": len(updates)})
    # Above the limit, say whether a process gave up on Redis (a call slower than its 0.5 s timeout, as under
    # heavy load, counts as Redis down: that process then keeps the limit on its own for 30 s)
    fell_back = [n for n, bot in enumerate(bots) if "Redis is not reachable" in bot.log.read_text(errors="replace")]
    assert busiest <= RATE_LIMIT, (f"processes that fell back to their own limit: {fell_back}",
                                   sorted(per_second.items()))
    for bot in bots:
        assert "Traceback" not in bot.log.read_text(errors="replace")
