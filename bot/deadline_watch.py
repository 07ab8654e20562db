"""Deadline reminders: every minute, leads past their claim or first-reply deadline (business hours,
catalog/deadlines.py) get one reminder in the staff chat their card went to, and later one escalation to the
admins (a private message to each admin with a linked Telegram id, or the staff chat when none has one).

Each alert is queued through the outbox in the same transaction as its `deadline_alerts` row, whose unique
key makes it exactly one per deadline and stage — across restarts and across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import select

from bot.config import Settings
from catalog import deadlines
from catalog import leads as lead_book
from catalog.db import Database
from catalog.models import StaffAccount
from handlers.messages import Button, Reply, h, reply_to_json
from locales import N_, translator

log = logging.getLogger(__name__)

KIND_DEADLINE_ALERT = "deadline_alert"
DEADLINE_NAMES = {"claim": N_("claim"), "first_reply": N_("first reply")}


def alert_text(alert: deadlines.Alert, language: str, assignee: str) -> str:
    t = translator(language)
    lead = alert.lead
    when = t.datetime(alert.due_at)
    if alert.stage == "reminder" and alert.deadline == "claim":
        text = t._(
            "⏰ Lead <b>{ref}</b> is still waiting to be claimed: its deadline was {when}.",
            ref=h(lead.ref),
            when=h(when),
        )
    elif alert.stage == "reminder":
        text = t._(
            "⏰ The buyer of lead <b>{ref}</b> has had no reply yet: the deadline was {when}.",
            ref=h(lead.ref),
            when=h(when),
        )
    else:
        text = t._(
            "🚨 Escalation: lead <b>{ref}</b> is still past its {deadline} deadline ({when}). "
            "Handled by: {who}.",
            ref=h(lead.ref),
            deadline=h(t._(DEADLINE_NAMES[alert.deadline])),
            when=h(when),
            who=h(assignee or t._("nobody")),
        )
    products = ", ".join(lead_book.product_label(p, t.language, quantity=False) for p in lead.products or [])
    return text + ("\n" + h(products) if products else "")


class DeadlineWatcher:
    """Looks for missed deadlines every `interval` seconds and queues their alerts."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        notify: Callable[[], None] | None = None,
        *,
        interval: float = 60.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.notify = notify
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: dt.datetime | None = None) -> int:
        """Queue every alert now due; returns how many were queued by this call."""
        queued = 0
        async with self.db.session() as session:
            hours = await deadlines.load_hours(session)
            alerts = await deadlines.due_alerts(session, hours, now)
            if not alerts:
                return 0
            staff = (await session.scalars(select(StaffAccount).where(StaffAccount.active.is_(True)))).all()
            names = {a.id: a.username for a in staff}
            admins = [a for a in staff if a.is_admin and a.telegram_user_id is not None]
            default_chat = "" if self.settings.staff_chat_id is None else str(self.settings.staff_chat_id)
            for alert in alerts:
                staff_chat = alert.lead.staff_chat_id or default_chat
                if alert.stage == "escalation" and admins:
                    targets = [(str(a.telegram_user_id), a.language) for a in admins]
                else:
                    targets = [(staff_chat, self.settings.staff_language)] if staff_chat else []
                if not targets:
                    continue  # nowhere to say it yet: tried again once a staff chat is configured
                if not await deadlines.claim_alert(session, alert):
                    continue
                assignee = names.get(alert.lead.assignee_id or 0, "") or alert.lead.claimed_by
                for chat, language in targets:
                    buttons = [
                        [Button(translator(language)._("Open the lead"), f"lead:view:{alert.lead.ref}")]
                    ]
                    lead_book.enqueue(
                        session,
                        kind=KIND_DEADLINE_ALERT,
                        channel="telegram",
                        chat_id=chat,
                        payload=reply_to_json(Reply(alert_text(alert, language, assignee), buttons)),
                        lead_id=alert.lead.id,
                        notify=self.notify,
                    )
                queued += 1
        if queued:
            log.info("queued %d deadline alert(s)", queued)
        return queued

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="deadline-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline check failed; trying again in a minute")
            await asyncio.sleep(self.interval)
