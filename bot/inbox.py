"""Handling what the durable inbox accepted: one queue per chat, a few chats at a time, failures counted.

Each chat's entries are handled in the order they were accepted by one task of its own; a task takes one
of the `slots` only while it handles an entry, so a chat that is waiting for its own earlier message holds
no slot and a chat sending a flood takes its turn like everyone else (the slots are FIFO). An entry whose
handling raises is tried again after a short back-off; after `max_attempts` it is parked (kept in the
table, logged once with its id and the error's type, never the message) and the chat moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import ClassVar

from catalog import inbox
from catalog.db import Database
from catalog.inbox import Accepted

log = logging.getLogger(__name__)

KEEP_DONE = dt.timedelta(days=2)  # Telegram keeps unconfirmed updates 24 h; Zalo retries for up to 12 h
PRUNE_INTERVAL = 600.0
Handler = Callable[[Accepted], Awaitable[None]]
OnParked = Callable[[Accepted], Awaitable[None]]


class Unreadable(Exception):
    """The entry can never be handled (e.g. an update the client library cannot parse): park it now."""


class InboxProcessor:
    """`submit()` accepted entries; `start()` resumes what a dead process left; `stop()` drains."""

    live_owners: ClassVar[set[str]] = set()

    def __init__(
        self,
        db: Database,
        channel: str,
        handler: Handler,
        *,
        slots: int = 8,
        max_attempts: int = inbox.MAX_ATTEMPTS,
        base_delay: float = 0.2,
        on_parked: OnParked | None = None,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.channel = channel
        self.handler = handler
        self.slots = asyncio.Semaphore(max(1, slots))
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.on_parked = on_parked
        self.owner = owner or inbox.new_owner()
        self._queues: dict[str, deque[Accepted]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._housekeeping: asyncio.Task[None] | None = None
        self.handled = 0
        self.parked = 0

    async def start(self) -> int:
        """Become a live owner and take over (and queue) what a stopped process left unfinished."""
        self.live_owners.add(self.owner)
        await self.prune()
        self._housekeeping = asyncio.create_task(self._prune_now_and_then(), name=f"inbox-{self.channel}-prune")
        return await self.resume()

    async def prune(self) -> int:
        """Forget done entries older than KEEP_DONE: their ids only guarded against late redeliveries."""
        try:
            return await inbox.prune(self.db, self.channel, KEEP_DONE)
        except Exception as exc:
            log.warning("could not prune the %s inbox (%s)", self.channel, type(exc).__name__)
            return 0

    async def _prune_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_INTERVAL)
            await self.prune()
            try:  # what another host left when it stopped (its entries, untouched for inbox.LEASE)
                await self.resume()
            except Exception as exc:
                log.warning("could not look for unfinished %s updates (%s)", self.channel, type(exc).__name__)

    async def resume(self) -> int:
        taken = await inbox.take_over(self.db, self.channel, self.owner, self.live_owners)
        if taken:
            log.warning("resuming %d %s update(s) accepted but not finished before a stop", len(taken), self.channel)
        for entry in taken:
            self.submit(entry)
        return len(taken)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish what is queued (up to `grace` seconds); the rest stays in the table for the next start."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), grace)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        self.live_owners.discard(self.owner)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def submit(self, entry: Accepted) -> None:
        key = entry.chat_key or f"#{entry.id}"
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._tasks[key] = asyncio.create_task(self._run_chat(key, queue), name=f"inbox-{self.channel}-{key}")
        queue.append(entry)

    async def _run_chat(self, key: str, queue: deque[Accepted]) -> None:
        try:
            while queue:
                entry = queue.popleft()
                await self._handle(entry)
        finally:
            self._queues.pop(key, None)
            self._tasks.pop(key, None)

    async def _handle(self, entry: Accepted) -> None:
        attempt = 0
        while True:
            try:
                async with self.slots:
                    await self.handler(entry)
                self.handled += 1
                return
            except asyncio.CancelledError:
                raise
            except inbox.AlreadyHandled:
                return  # another process took it over and handled it: nothing of ours was committed
            except Unreadable as exc:
                await inbox.park(self.db, entry.id, f"unreadable: {exc}")
                self._log_parked(entry, exc)
                return
            except Exception as exc:
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
                try:
                    now_parked = await inbox.record_failure(self.db, entry.id, reason, self.max_attempts)
                except Exception:
                    log.exception("could not record the failure of inbox entry %s", entry.id)
                    now_parked = False
                if now_parked:
                    self._log_parked(entry, exc)
                    if self.on_parked is not None:
                        with contextlib.suppress(Exception):
                            await self.on_parked(entry)
                    return
                attempt += 1
                fresh = await inbox.reload(self.db, entry)
                if fresh is None:
                    return  # finished after all (or parked by someone else)
                entry = fresh  # handled meanwhile: only its replies are still owed
                log.info("inbox entry %s (%s) failed (%s), trying again", entry.id, self.channel, type(exc).__name__)
                await asyncio.sleep(self.base_delay * 2 ** min(attempt, 6))

    def _log_parked(self, entry: Accepted, exc: BaseException) -> None:
        self.parked += 1
        # The id and the kind of error only: the entry holds a user's message, which never goes to the log.
        log.error("%s inbox entry %s parked after failing (%s); see `ocop-bot doctor`",
                  self.channel, entry.id, type(exc).__name__)
