"""One outbound rate limit for all processes of a bot, through Redis (127.0.0.1:6379); per process when Redis
is down. Checked as an upper bound on the messages the fake Bot API received in each second, which a slow
machine can only lower."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections import Counter

import pytest
from telegram.ext import ExtBot

from bot.shared_rate import SharedRateLimiter
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "454545:SHARED-RATE"
PER_SECOND = 10


def redis_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


async def process(api: FakeTelegramAPI, url: str, key: str) -> ExtBot:  # type: ignore[type-arg]
    bot = ExtBot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url,
                 rate_limiter=SharedRateLimiter(url, key, per_second=PER_SECOND, max_retries=0))
    await bot.initialize()
    return bot


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_two_processes_share_one_limit(api: FakeTelegramAPI) -> None:
    key = f"test-{secrets.token_hex(4)}"  # a bot id of its own, so other runs do not share its counters
    bots = [await process(api, "redis://127.0.0.1:6379/0", key) for _ in range(2)]
    try:
        await asyncio.gather(*(bot.send_message(9000 + n % 20, f"m{n}") for n in range(35) for bot in bots))
    finally:
        for bot in bots:
            await bot.shutdown()
    assert len(api.calls("sendMessage")) == 70
    assert all(bot.rate_limiter.shared == 35 for bot in bots)  # type: ignore[union-attr]
    # The slots the two processes were granted, per second of the shared clock: never more than the limit.
    # (Arrival at Telegram can spill one message into the next second when a request granted at the end of a
    # second is slow on the network; the README says so.)
    granted = Counter(int(t) for bot in bots for t in bot.rate_limiter.granted)  # type: ignore[union-attr]
    assert sum(granted.values()) == 70 and max(granted.values()) <= PER_SECOND, granted
    seconds = max(c.time for c in api.calls("sendMessage")) - min(c.time for c in api.calls("sendMessage"))
    assert seconds >= 70 / PER_SECOND - 2.5  # 7 windows of 10: at least 5 s apart, not the 1 s of two free processes


async def test_without_redis_each_process_keeps_its_own_limit(api: FakeTelegramAPI,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here
    bot = await process(api, f"redis://127.0.0.1:{port}/0", "down")
    try:
        await asyncio.gather(*(bot.send_message(9100 + n, f"m{n}") for n in range(5)))
    finally:
        await bot.shutdown()
    assert len(api.calls("sendMessage")) == 5  # nothing held back
    assert sum("Redis is not reachable" in r.getMessage() for r in caplog.records) == 1
