"""Business hours and the desk's deadlines: claim and first reply, counted in working time (Asia/Ho_Chi_Minh),
skipping weekends, Vietnam's public holidays (the `holidays` package) and the department's own days off.

A lead's claim deadline is `claim_hours` of working time after it came in; its first-reply deadline is
`reply_hours`. When one passes, the staff chat gets a reminder; `escalate_hours` of working time later, if
still not met, the admins get an escalation. Each (lead, deadline, stage) is sent once: the row in
`deadline_alerts` is inserted in the transaction that queues the message, under a unique key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import holidays as public_holidays
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.leads import LOCAL_ZONE
from catalog.models import DeskSetting, Lead, utcnow

SETTING_KEY = "business_hours"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEADLINES = ("claim", "first_reply")
STAGES = ("reminder", "escalation")


END_OF_DAY = "24:00"  # a closing time: open until midnight


class HoursError(ValueError):
    """A business-hours setting that cannot be used; the message names the field."""


@dataclass
class BusinessHours:
    """When the desk works. Days are ISO weekdays (1 = Monday); times are Vietnam time."""

    days: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    opens: str = "08:00"
    closes: str = "17:00"
    public_holidays: bool = True  # Vietnam's, as the `holidays` package lists them (Tết included)
    holidays: list[str] = field(default_factory=list)  # the department's own days off, "YYYY-MM-DD"
    claim_hours: float = 2.0
    reply_hours: float = 8.0
    escalate_hours: float = 4.0

    def __post_init__(self) -> None:
        self.validate()
        # Each day's opening hours as UTC moments (None: closed), computed once per day: the inbox works out
        # the deadlines of every open lead on each view.
        self._windows: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = {}

    def validate(self) -> None:
        if not self.days or any(d not in range(1, 8) for d in self.days):
            raise HoursError("days: ISO weekdays 1 (Monday) to 7 (Sunday)")
        self.days = sorted(set(self.days))
        for name in ("opens", "closes"):
            value = getattr(self, name)
            if not (_HHMM.match(value) or (name == "closes" and value == END_OF_DAY)):
                raise HoursError(f"{name}: a time as HH:MM")
        if self.closes <= self.opens:
            raise HoursError("closes: must be after opens")
        for day in self.holidays:
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                raise HoursError(f"holidays: {day[:20]!r} is not a date YYYY-MM-DD") from None
        self.holidays = sorted(set(self.holidays))
        for name in ("claim_hours", "reply_hours", "escalate_hours"):
            value = getattr(self, name)
            if not 0 < value <= 500:
                raise HoursError(f"{name}: between 0 and 500 working hours")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> BusinessHours:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    # --- the calendar

    def _time(self, text: str) -> dt.time:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))

    def is_working_day(self, day: dt.date) -> bool:
        if day.isoweekday() not in self.days or day.isoformat() in self.holidays:
            return False
        return not (self.public_holidays and day in _vietnam_holidays(day.year))

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The day's opening and closing moments (UTC), or None when the desk is closed all day."""
        if day not in self._windows:
            window = None
            if self.is_working_day(day):
                # "24:00": open until midnight, the next day's first moment (not 23:59, a minute short)
                closing = (
                    dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), LOCAL_ZONE)
                    if self.closes == END_OF_DAY
                    else dt.datetime.combine(day, self._time(self.closes), LOCAL_ZONE)
                )
                window = (dt.datetime.combine(day, self._time(self.opens), LOCAL_ZONE).astimezone(dt.UTC),
                          closing.astimezone(dt.UTC))
            self._windows[day] = window
        return self._windows[day]

    def is_open(self, moment: dt.datetime) -> bool:
        window = self._window(moment.astimezone(LOCAL_ZONE).date())
        return window is not None and window[0] <= moment < window[1]

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        """`moment` itself when the desk is open, else when it next opens (UTC)."""
        moment = moment.astimezone(dt.UTC)
        day = moment.astimezone(LOCAL_ZONE).date()
        for _ in range(400):
            window = self._window(day)
            if window is not None and moment < window[1]:
                return max(window[0], moment)
            day += dt.timedelta(days=1)
        raise HoursError("no working day in the next 400 days")

    def add_working_time(self, moment: dt.datetime, hours: float) -> dt.datetime:
        """The moment `hours` of working time after `moment` (UTC)."""
        left = dt.timedelta(hours=hours)
        current = self.next_opening(moment)
        for _ in range(2000):
            window = self._window(current.astimezone(LOCAL_ZONE).date())
            assert window is not None  # next_opening returns a moment inside a window
            available = window[1] - current
            if left <= available:
                return current + left
            left -= available
            current = self.next_opening(window[1])
        raise HoursError("deadline too far away")

    # --- a lead's deadlines

    def due(self, lead: Lead, deadline: str) -> dt.datetime:
        hours = self.claim_hours if deadline == "claim" else self.reply_hours
        return self.add_working_time(lead.created_at, hours)

    def escalation_due(self, lead: Lead, deadline: str) -> dt.datetime:
        return self.add_working_time(self.due(lead, deadline), self.escalate_hours)


@lru_cache(maxsize=8)
def _vietnam_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(public_holidays.country_holidays("VN", years=year))


def met(lead: Lead, deadline: str) -> bool:
    """Whether the deadline no longer applies: the lead was claimed (or answered), or closed."""
    if lead.status in ("won", "lost", "spam") or lead.anonymised_at is not None:
        return True
    if deadline == "claim":
        return lead.claimed_at is not None or lead.status != "new"
    return lead.first_reply_at is not None


def overdue(lead: Lead, hours: BusinessHours, now: dt.datetime | None = None) -> list[str]:
    """The deadlines this lead has missed, now."""
    now = now or utcnow()
    return [d for d in DEADLINES if not met(lead, d) and hours.due(lead, d) <= now]


async def load_hours(session: AsyncSession) -> BusinessHours:
    row = await session.get(DeskSetting, SETTING_KEY)
    try:
        return BusinessHours.from_json(row.value if row else None)
    except (HoursError, TypeError):
        return BusinessHours()  # a stored setting from a newer version: the defaults, not a crash


async def save_hours(session: AsyncSession, hours: BusinessHours) -> None:
    hours.validate()
    row = await session.get(DeskSetting, SETTING_KEY)
    if row is None:
        session.add(DeskSetting(key=SETTING_KEY, value=hours.to_json(), updated_at=utcnow()))
    else:
        row.value = hours.to_json()
        row.updated_at = utcnow()


async def overdue_ids(
    session: AsyncSession, hours: BusinessHours, now: dt.datetime | None = None
) -> list[int]:
    """Ids of the open leads past a deadline (for the inbox's filter)."""
    from catalog.desk import open_leads

    return [lead.id for lead in await open_leads(session) if overdue(lead, hours, now)]


@dataclass(frozen=True)
class Alert:
    """A reminder or escalation due for one deadline of one lead."""

    lead: Lead
    deadline: str  # claim, first_reply
    stage: str  # reminder, escalation
    due_at: dt.datetime


async def due_alerts(session: AsyncSession, hours: BusinessHours, now: dt.datetime | None = None) -> list[Alert]:
    """Every (lead, deadline, stage) whose moment has passed and that was not sent yet."""
    from sqlalchemy import select

    from catalog.desk import open_leads
    from catalog.models import DeadlineAlert

    now = now or utcnow()
    leads = await open_leads(session)
    if not leads:
        return []
    sent = set((await session.execute(select(DeadlineAlert.lead_id, DeadlineAlert.deadline, DeadlineAlert.stage)
                                      .where(DeadlineAlert.lead_id.in_([x.id for x in leads])))).all())
    found = []
    for lead in leads:
        for deadline in DEADLINES:
            if met(lead, deadline):
                continue
            due = hours.due(lead, deadline)
            if due > now:
                continue
            if (lead.id, deadline, "reminder") not in sent:
                found.append(Alert(lead, deadline, "reminder", due))
            elif (lead.id, deadline, "escalation") not in sent and hours.escalation_due(lead, deadline) <= now:
                found.append(Alert(lead, deadline, "escalation", due))
    return found


async def claim_alert(session: AsyncSession, alert: Alert) -> bool:
    """Record that this alert is being sent, in the caller's transaction; False when another process (or an
    earlier run) already did: the unique key makes each alert exactly one."""
    from sqlalchemy.exc import IntegrityError

    from catalog.models import DeadlineAlert

    try:
        async with session.begin_nested():
            session.add(DeadlineAlert(lead_id=alert.lead.id, deadline=alert.deadline, stage=alert.stage,
                                      created_at=utcnow()))
    except IntegrityError:
        return False
    return True
