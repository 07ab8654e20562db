"""Reminding the staff, in private, when the staff chat cannot receive enquiry cards.

A staff chat the bot was removed from (403) or that does not exist (400 "chat not found") is found by the
check at start, by the delivery worker when a card fails for good, and by a check every hour. Each staff
member (`OCOP_STAFF_USER_IDS`) then gets a private message naming the chat and Telegram's reason, in
`OCOP_STAFF_LANGUAGE`, at most once a day per problem: the reminder is claimed in the database first
(`process_leases`, one row per problem), so restarts and other processes do not repeat it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from telegram.error import Forbidden, TelegramError

from bot.config import Settings
from catalog import inbox
from catalog.db import Database
from catalog.leads import KIND_LEAD_CARD
from catalog.models import OutboxMessage
from handlers.messages import h
from locales import translator

log = logging.getLogger(__name__)

CHECK_EVERY = 3600.0  # seconds between checks of the staff chat while it has a problem, or not
REMIND_EVERY = dt.timedelta(days=1)
Check = Callable[[Any, Settings, Database], Awaitable[str]]
# what bot.app.check_staff_chat says about a chat the bot cannot post in (removed from it, or no such chat)
UNREACHABLE = re.compile(r"OCOP_STAFF_CHAT_ID=(?P<chat>\S+) cannot be reached \((?P<reason>.*)\): ")


class StaffChatWatch:
    """`start(problem)` with the start-up check's finding; `wake()` after a card failed for good."""

    def __init__(
        self, bot: Any, settings: Settings, db: Database, check: Check, *, interval: float = CHECK_EVERY
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.db = db
        self.check = check
        self.interval = interval
        self.owner = inbox.new_owner()
        self.reminders = 0  # private messages sent (for logs and tests)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, problem: str) -> None:
        if problem:
            await self.remind(problem)
        self._task = asyncio.create_task(self._run(), name="staff-chat-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Check the staff chat now (a card to it has just failed for good)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.check_now()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database or network failure: the next check tries again
                log.warning("could not check the staff chat (%s)", type(exc).__name__)

    async def check_now(self) -> str:
        """Check the staff chat; remind the staff when it has a problem. Returns the problem ("" if none)."""
        problem = await self.check(self.bot, self.settings, self.db)
        if problem:
            await self.remind(problem)
        return problem

    async def remind(self, problem: str) -> int:
        """Tell each staff member privately, unless this problem was told in the last day (by any process)."""
        found = UNREACHABLE.search(problem)
        if found is None:
            return 0  # not set, or not checked: said at start and by `ocop-bot doctor`, nothing to remind of
        staff = sorted(self.settings.staff_user_ids)
        if not staff:
            log.error("nobody to remind of the staff chat's problem: set OCOP_STAFF_USER_IDS")
            return 0
        digest = hashlib.blake2b(problem.encode(), digest_size=10).hexdigest()
        if not await inbox.claim_once(self.db, f"staff-chat-reminder:{digest}", self.owner, REMIND_EVERY):
            return 0
        async with self.db.session() as session:
            unposted = int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.kind == KIND_LEAD_CARD, OutboxMessage.status.in_(("pending", "failed"))
                    )
                )
                or 0
            )
        t = translator(self.settings.staff_language)
        text = "⚠️ " + h(
            t._(
                "OCOP Bot cannot post enquiries in the staff chat {chat}: Telegram says “{reason}”. "
                "Enquiry cards not posted: {count}. "
                "The enquiries themselves are kept: `ocop-bot leads list` shows them. Add the bot to the staff "
                "group again, or set OCOP_STAFF_CHAT_ID to the right chat and restart the bot; `ocop-bot doctor` "
                "shows what failed. This reminder comes once a day while the problem lasts.",
                chat=found["chat"],
                reason=re.sub(r"^(\w+): \1: ", r"\1: ", found["reason"]),
                count=unposted,
            )
        )
        sent = 0
        for user_id in staff:
            try:
                await self.bot.send_message(user_id, text)
                sent += 1
            except Forbidden:
                log.warning(
                    "staff member %s has not started a private chat with the bot: no reminder there", user_id
                )
            except TelegramError as exc:
                log.warning("could not remind staff member %s (%s)", user_id, type(exc).__name__)
        self.reminders += sent
        log.error(
            "the staff chat cannot receive cards; %d of %d staff member(s) reminded in private",
            sent,
            len(staff),
        )
        return sent
