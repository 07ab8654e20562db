"""The demand insight's scheduled jobs in `ocop-bot run`: the weekly digest to the staff chat and the daily
deletion of events past their retention.

**Once a week, however many processes.** At the configured slot (OCOP_DIGEST_SCHEDULE, "mon 08:00" in
OCOP_DIGEST_TIMEZONE, Asia/Ho_Chi_Minh) or at the first check after it (a process started on Wednesday sends
the week's digest late rather than never; a week without a single event sends none), a process inserts the week's row into `digest_runs` and the digest
message into the outbox in one transaction. The week is the row's primary key, so a second process (or a
restart) gets a unique-key error and sends nothing; the outbox then delivers the message at least once, as it
does lead cards (bot/delivery.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from collections import Counter
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.web.insights_page import insights_url
from catalog import events
from catalog.insights import Period, build_report
from catalog.leads import enqueue
from catalog.models import DigestRun, Event, Lead, utcnow
from catalog.snapshot import load_catalog
from handlers.messages import Reply, h, reply_to_json
from locales import Translator, translator

if TYPE_CHECKING:
    from bot.config import Settings
    from catalog.db import Database
    from handlers.context import Services

log = logging.getLogger(__name__)

KIND_DIGEST = "staff_digest"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A lead still "new" this long after it came is overdue in the digest. The staff desk's lead rules
# (catalog/leads.py) may grow their own deadlines; this is the digest's reading until then.
OVERDUE_AFTER = dt.timedelta(hours=48)
UNMET_LINES = 5
TOP_LINES = 5


def digest_slot(now: dt.datetime, schedule: str, timezone: str) -> dt.datetime | None:
    """This week's digest time (aware, UTC) when it has come by `now`, else None; None when "off"."""
    if schedule == "off":
        return None
    day, _, clock = schedule.partition(" ")
    hour, minute = (int(x) for x in clock.split(":"))
    local = now.astimezone(ZoneInfo(timezone))
    monday = local.date() - dt.timedelta(days=local.weekday())
    slot_day = monday + dt.timedelta(days=WEEKDAYS.index(day))
    slot = dt.datetime(slot_day.year, slot_day.month, slot_day.day, hour, minute, tzinfo=ZoneInfo(timezone))
    return slot.astimezone(dt.UTC) if local >= slot else None


def week_of(slot: dt.datetime, timezone: str) -> str:
    year, week, _ = slot.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


async def lead_summary(session: Any, now: dt.datetime) -> dict[str, Any]:
    """Every lead by status now, and the ones still new after OVERDUE_AFTER."""
    by_status = Counter(
        dict((await session.execute(select(Lead.status, func.count(Lead.id)).group_by(Lead.status))).all())
    )
    overdue = await session.scalar(
        select(func.count(Lead.id)).where(Lead.status == "new", Lead.created_at < now - OVERDUE_AFTER)
    )
    return {"by_status": dict(sorted(by_status.items())), "overdue": int(overdue or 0)}


def status_name(t: Translator, status: str) -> str:
    return {
        "new": t._("new"),
        "claimed": t._("claimed"),
        "contacted": t._("contacted"),
        "won": t._("won"),
        "lost": t._("lost"),
        "spam": t._("spam"),
    }.get(status, status)


def digest_text(
    report: dict[str, Any], leads: dict[str, Any], t: Translator, console_url: str | None = None
) -> str:
    """The digest message (HTML subset, everything from the data escaped). With the console's public address
    (OCOP_WEB_PUBLIC_URL), it links to the console's insights page for the week."""
    totals = report["totals"]
    since = dt.datetime.fromisoformat(report["period"]["since"])
    until = dt.datetime.fromisoformat(report["period"]["until"])
    lines = [
        t._(
            "📊 <b>Weekly demand digest</b>, {since} – {until}",
            since=h(t.date(since.date())),
            until=h(t.date(until.date())),
        )
    ]
    if report.get("synthetic"):
        lines.append(h(t._("(includes SYNTHETIC traffic from the traffic generator)")))
    lines.append(
        h(
            t._(
                "{chats} chats, {searches} searches ({no_match} found nothing), {confirmed} enquiries "
                "confirmed.",
                chats=totals["chats"],
                searches=totals["searches"],
                no_match=totals["no_match"],
                confirmed=totals["enquiries_confirmed"],
            )
        )
    )
    unmet = [(i, False) for i in report["unmet"]["not_in_catalogue"]]
    unmet += [(i, True) for i in report["unmet"]["in_catalogue_not_found"]]
    unmet.sort(key=lambda pair: (-pair[0]["count"], -pair[0]["chats"], pair[0]["label"]))
    lines += ["", t._("🔎 <b>Biggest unmet demand</b>")]
    if not unmet:
        lines.append(h(t._("None this week.")))
    for n, (item, near) in enumerate(unmet[:UNMET_LINES], 1):
        words = " / ".join(item["variants"][:3])
        line = t._(
            "{n}. {words}: {count} times, {chats} chats",
            n=n,
            words=h(words),
            count=item["count"],
            chats=item["chats"],
        )
        if near:
            product = item["near_product"]["name_en" if t.language == "en" else "name_vi"]
            line += " " + t._("(near {product}: add a synonym?)", product=h(product))
        else:
            line += " " + h(t._("(not in the catalogue)"))
        lines.append(line)
    lines += ["", t._("⭐ <b>Top products viewed</b>")]
    top = report["top_products"]["overall"][:TOP_LINES]
    if not top:
        lines.append(h(t._("None this week.")))
    for n, item in enumerate(top, 1):
        name = item["name_en" if t.language == "en" else "name_vi"]
        lines.append(t._("{n}. {name}: {count} views", n=n, name=h(name), count=item["count"]))
    statuses = " · ".join(f"{status_name(t, s)} {n}" for s, n in leads["by_status"].items()) or "0"
    lines += ["", t._("📦 <b>Leads</b>: {statuses}", statuses=h(statuses))]
    if leads["overdue"]:
        lines.append(h(t._("⏰ {n} still new after 48 hours: please take them up.", n=leads["overdue"])))
    if console_url:
        url = insights_url(console_url, "7d")
        link = '<a href="{0}">{0}</a>'.format(h(url))
        lines += ["", t._("📈 The full report with charts, in the staff console: {link}", link=link)]
    else:
        lines += ["", h(t._("The full report with charts: ocop-bot insights --since 7d --html report.html"))]
    return "\n".join(lines)


class InsightJobs:
    """Runs in `ocop-bot run`: every `check_every` seconds, the digest if due; once a day, the retention."""

    def __init__(
        self, db: Database, settings: Settings, services: Services | None = None, *, check_every: float = 60.0
    ) -> None:
        self.db = db
        self.settings = settings
        self.services = services
        self.check_every = check_every
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._task: asyncio.Task[None] | None = None
        self._last_cleanup: dt.datetime | None = None

    async def post_digest_if_due(self, now: dt.datetime | None = None) -> bool:
        """Queue this week's digest unless it is not time yet or any process already did; True when queued."""
        now = now or utcnow()
        settings = self.settings
        if settings.staff_chat_id is None:
            return False
        slot = digest_slot(now, settings.digest_schedule, settings.digest_timezone)
        if slot is None:
            return False
        week = week_of(slot, settings.digest_timezone)
        since = slot - dt.timedelta(days=7)
        async with self.db.session() as session:
            if await session.get(DigestRun, week) is not None:
                return False
            # A week without a single event (a fresh install, a bot that was not running) has nothing to say.
            if (
                await session.scalar(select(Event.id).where(Event.at >= since, Event.at < slot).limit(1))
                is None
            ):
                return False
        if self.services is not None:
            await self.services.events.flush()  # this process's last events belong in it
        t = translator(settings.staff_language)
        try:
            async with self.db.session() as session:
                session.add(DigestRun(week=week, owner=self.owner, created_at=utcnow()))
                await session.flush()  # the claim: a second process stops here
                catalog = await load_catalog(session)
                report = await build_report(session, catalog, Period(since, slot))
                text = digest_text(report, await lead_summary(session, now), t, settings.web_public_url)
                enqueue(
                    session,
                    kind=KIND_DIGEST,
                    channel="telegram",
                    chat_id=str(settings.staff_chat_id),
                    payload=reply_to_json(Reply(text)),
                    notify=self.services.on_outbox if self.services is not None else None,
                )
        except IntegrityError:
            return False
        log.info("weekly digest %s queued for the staff chat", week)
        return True

    async def delete_expired(self, now: dt.datetime | None = None) -> int:
        """Delete events older than OCOP_EVENTS_RETENTION_MONTHS (once a day per process)."""
        now = now or utcnow()
        if self._last_cleanup is not None and now - self._last_cleanup < dt.timedelta(days=1):
            return 0
        self._last_cleanup = now
        deleted = await events.delete_expired(self.db, self.settings.events_retention_months, now)
        if deleted:
            log.info(
                "deleted %d demand-insight events older than %d months",
                deleted,
                self.settings.events_retention_months,
            )
        return deleted

    async def run_once(self, now: dt.datetime | None = None) -> None:
        for job in (self.delete_expired, self.post_digest_if_due):
            try:
                await job(now)
            except Exception:
                log.exception("demand-insight job %s failed; trying again later", job.__name__)

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.check_every)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
