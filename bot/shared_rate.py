"""One outbound rate limit per bot token shared by every process, kept in Redis.

Telegram allows a bot about 30 messages per second in all. python-telegram-bot's AIORateLimiter keeps that
per process, so two processes send twice as much. With `OCOP_REDIS_URL` set, each Bot API request (but
getUpdates) takes a slot of the current second from a counter in Redis (a key per bot and second, expiring
after 5 s; checked and counted in one Lua script, so a refused request counts nowhere) right before it is
sent, after this process's own limiter let it go; a request that finds the second full waits for the next
one. A slot taken near a second's end counts in the next second too, because the request may only reach
Telegram then: "near" is the slowest of this process's last 20 requests (from its slot to Telegram's
answer: an upper bound of when the request arrived), at least 0.3 s and at most 2 s (a slot then counts in
up to three seconds). So Telegram receives at most the limit in every second of the clock as long as no
request lags behind its slot more than the recent ones did; a loaded process (slow round trips) counts more
of its slots twice and sends a little less, rather than over the limit. A slot that comes back later than
the seconds it counts in (a starved process resumed late) is left unused and another is taken. The per-chat
limits, and the retries after a 429, stay with AIORateLimiter in each process.

When Redis cannot be reached the processes fall back to the per-process limit (each keeps ~30/s on its own
again), log one warning, and try Redis again every 30 seconds; messages are never held back because Redis
is down. A Redis that answers too late (0.5 s) is slow, not down: that one message goes out under the
per-process limit and the next asks Redis again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

RETRY_REDIS_AFTER = 30.0
EDGE = 0.3  # a slot granted in a second's last 300 ms (or more: see `edge`) also counts in the next
EDGE_MAX = 2.0
LAGS_KEPT = 20
KEY_TTL = 5  # seconds a second's counter is kept (a slot may count up to 2 s ahead)
# A slot in every second given (KEYS) or in none: checked and counted in one step, so a request refused for a
# full second counts nowhere (counted, refusals filled the coming seconds before they began, and with every
# slot counting in two seconds nothing was ever sent again).
TAKE_SLOT = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[1]) then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[2])
end
return 1
"""
UNCOUNTED = frozenset({"getUpdates", "getMe", "setWebhook", "deleteWebhook", "getWebhookInfo"})


class SharedRateLimiter(AIORateLimiter):
    """AIORateLimiter plus a global per-second budget shared through Redis."""

    def __init__(
        self, redis_url: str, bot_key: str, *, per_second: float = 30, redis_timeout: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(overall_max_rate=per_second, **kwargs)
        import redis.asyncio as aioredis
        from redis.exceptions import TimeoutError as RedisTimeout

        self._slow = (RedisTimeout, TimeoutError)  # (asyncio's timeout is the builtin one since 3.11)

        # A Redis slower than this sends the message under the per-process limit (one refusing connections counts
        # as down for a while): a message is never held back long for the shared count.
        self.redis = aioredis.from_url(
            redis_url, socket_connect_timeout=redis_timeout, socket_timeout=redis_timeout
        )
        self.bot_key = bot_key
        self.per_second = max(1, int(per_second))
        self._down_until = 0.0
        self.shared = 0  # requests that took a shared slot (for tests and logs)
        self.timeouts = 0  # requests sent unshared because Redis answered too late
        self.stale = 0  # slots left unused: granted too late to be sent within the seconds they count in
        self.granted: list[float] = []  # when each slot was granted (the last 1,000, for tests)
        self.lags: deque[float] = deque(maxlen=LAGS_KEPT)  # seconds from a slot to the request's answer
        self._take = self.redis.register_script(TAKE_SLOT)

    @property
    def edge(self) -> float:
        """How long after its slot a request may reach Telegram: the slot counts in every second until then."""
        return min(EDGE_MAX, max(EDGE, *self.lags)) if self.lags else EDGE

    async def shutdown(self) -> None:
        await super().shutdown()
        await self.redis.aclose()

    async def _shared_slot(self) -> float | None:
        """Wait for a slot; when it was granted (None: Redis is down, no slot taken)."""
        while True:
            now = time.time()
            if now < self._down_until:
                return None  # Redis is down: the per-process limit alone applies
            second = int(now)
            seconds = list(range(second, int(now + self.edge) + 1))  # this second, and the next if near its end
            try:
                got = await self._take(keys=[f"ocop:rate:{self.bot_key}:{each}" for each in seconds],
                                       args=[self.per_second, KEY_TTL])
            except self._slow:
                # Slow, not down (a starved process reads Redis's answer late): this message goes out under the
                # per-process limit, the next one asks Redis again. Counted down for 30 s, the process would send
                # every message of that time uncounted, above the shared limit.
                self.timeouts += 1
                return None
            except Exception as exc:  # redis.exceptions.ConnectionError, refused, …
                if self._down_until == 0.0 or now - self._down_until > RETRY_REDIS_AFTER:
                    log.warning(
                        "Redis is not reachable (%s): each process keeps the outbound rate limit on its own "
                        "until it is back",
                        type(exc).__name__,
                    )
                self._down_until = now + RETRY_REDIS_AFTER
                return None
            if got and time.time() - now <= self.edge:
                self.shared += 1
                self.granted = [*self.granted[-999:], now]
                return now
            if got:
                # The answer came back (or this task was resumed) later than the seconds the slot counts in: sent
                # now, the request could land in a second already full. The slot is left unused; take another.
                self.stale += 1
                continue
            await asyncio.sleep(max(0.001, second + 1 - time.time()))

    async def process_request(
        self, callback: Any, args: Any, kwargs: Any, endpoint: str, data: dict[str, Any], rate_limit_args: Any
    ) -> Any:
        if endpoint in UNCOUNTED:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        async def send(*call_args: Any, **call_kwargs: Any) -> Any:
            # The shared slot last, right before the request: taken before this process's own limiter, it
            # could be spent while that limiter still holds the request back, past the second it was for.
            granted = await self._shared_slot()
            try:
                return await callback(*call_args, **call_kwargs)
            finally:
                if granted is not None:
                    self.lags.append(time.time() - granted)

        return await super().process_request(send, args, kwargs, endpoint, data, rate_limit_args)
