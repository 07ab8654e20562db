"""One outbound rate limit for all processes of a bot, through Redis (127.0.0.1:6379); per process when Redis
is down. Checked as an upper bound on the messages the fake Bot API received in each second, which a slow
machine can only lower."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections import Counter

import pytest
from telegram.ext import ExtBot

from bot.shared_rate import SharedRateLimiter
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "454545:SHARED-RATE"
PER_SECOND = 10
REDIS_URL = os.environ.get("OCOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")  # a db index of its own when shared


def redis_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


async def process(api: FakeTelegramAPI, url: str, key: str) -> ExtBot:  # type: ignore[type-arg]
    bot = ExtBot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url,
                 # a Redis slowed by a loaded test machine is not "down" here: this test is about sharing
                 rate_limiter=SharedRateLimiter(url, key, per_second=PER_SECOND, max_retries=0, redis_timeout=5.0))
    await bot.initialize()
    return bot


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_two_processes_share_one_limit(api: FakeTelegramAPI) -> None:
    key = f"test-{secrets.token_hex(4)}"  # a bot id of its own, so other runs do not share its counters
    bots = [await process(api, REDIS_URL, key) for _ in range(2)]
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


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_requests_slow_to_arrive_still_keep_the_limit_in_every_second() -> None:
    """A loaded machine: each request reaches "Telegram" 0.6 s after its slot (more than the 0.3 s a slot near a
    second's end was counted twice for). The arrivals per second of the clock must stay within the limit: the
    limiter counts a slot in the next second too when the recent round trips say it may arrive then."""
    key = f"test-{secrets.token_hex(4)}"
    limiters = [SharedRateLimiter(REDIS_URL, key, per_second=PER_SECOND, max_retries=0, redis_timeout=5.0)
                for _ in range(2)]
    arrivals: list[float] = []

    async def slow_request(n: int) -> int:
        await asyncio.sleep(0.6)
        arrivals.append(time.time())
        return n

    async def send(limiter: SharedRateLimiter, n: int) -> None:
        await limiter.process_request(slow_request, (n,), {}, "sendMessage", {"chat_id": 7000 + n}, None)

    for limiter in limiters:
        await limiter.initialize()
    try:
        # a warm-up request each (the round trips the limiter learns from), then the burst
        await asyncio.gather(*(send(limiter, 0) for limiter in limiters))
        arrivals.clear()
        await asyncio.gather(*(send(limiter, n) for n in range(1, 41) for limiter in limiters))
    finally:
        for limiter in limiters:
            await limiter.shutdown()
    per_second = Counter(int(t) for t in arrivals)
    assert len(arrivals) == 80 and max(per_second.values()) <= PER_SECOND, sorted(per_second.items())


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_more_requests_than_the_limit_with_slow_round_trips_all_get_a_slot() -> None:
    """Slow round trips make every slot count in two seconds; four times the limit waiting at once must still
    go out, the limit's worth a second. (Refused requests used to count too: every coming second was full before
    it began, and nothing was ever sent again.)"""
    limiter = SharedRateLimiter(REDIS_URL, f"test-{secrets.token_hex(4)}", per_second=PER_SECOND, max_retries=0,
                                redis_timeout=5.0)
    limiter.lags.extend([1.5] * 20)  # as measured on a starved machine
    try:
        granted = await asyncio.wait_for(
            asyncio.gather(*(limiter._shared_slot() for _ in range(4 * PER_SECOND))), 30
        )
    finally:
        await limiter.shutdown()
    assert all(t is not None for t in granted)
    # each slot counts in the seconds its request may still arrive in: never more than the limit in any of them
    per_second = Counter(s for t in granted for s in range(int(t), int(t + 1.5) + 1))  # type: ignore[operator]
    assert max(per_second.values()) <= PER_SECOND, sorted(per_second.items())


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_a_slot_granted_too_late_to_use_is_left_for_another() -> None:
    """A starved process gets its slot back long after it asked: sent then, the request would land in a second
    the slot was never counted in. It takes another slot instead of sending on the stale one."""
    limiter = SharedRateLimiter(REDIS_URL, f"test-{secrets.token_hex(4)}", per_second=PER_SECOND, max_retries=0,
                                redis_timeout=5.0)
    take = limiter._take
    calls = 0

    async def slow_first(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        got = await take(*args, **kwargs)
        if calls == 1:
            await asyncio.sleep(1.2)  # the answer (or the task's next turn) comes 1.2 s later: past the 0.3 s edge
        return got

    limiter._take = slow_first  # type: ignore[method-assign]
    try:
        granted = await limiter._shared_slot()
    finally:
        await limiter.shutdown()
    assert calls == 2 and limiter.stale == 1 and limiter.shared == 1
    assert granted is not None and time.time() - granted < 1.0


async def test_a_redis_slow_to_answer_is_asked_again_for_the_next_message(api: FakeTelegramAPI) -> None:
    """A Redis that accepts but answers too late (a starved process reads it late) is slow, not down: each message
    goes out under the process's own limit, and the next one asks Redis again rather than skipping it for 30 s."""
    accepted: list[socket.socket] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    port = server.getsockname()[1]

    async def accept_and_stay_silent() -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(server)
            accepted.append(conn)  # read nothing, answer nothing

    silent = asyncio.create_task(accept_and_stay_silent())
    limiter = SharedRateLimiter(f"redis://127.0.0.1:{port}/0", "slow", per_second=PER_SECOND, max_retries=0,
                                redis_timeout=0.3)
    bot = ExtBot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url, rate_limiter=limiter)
    await bot.initialize()
    try:
        for n in range(3):
            await bot.send_message(9200 + n, f"m{n}")
    finally:
        silent.cancel()
        await bot.shutdown()
        for conn in accepted:
            conn.close()
        server.close()
    assert len(api.calls("sendMessage")) == 3  # nothing held back
    assert limiter.timeouts == 3 and limiter.shared == 0  # Redis asked for each message, never taken as down
