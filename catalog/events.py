"""Demand-insight events: what buyers searched, viewed and asked, recorded without saying who.

An event row holds what happened (a search's folded words, the product shown, the form step), the channel
and the language, and `chat_key`: an HMAC of the chat under a secret from the environment and the current
month. The key lets the reports count unique chats and follow a chat through the funnel within a month; it
changes every month, cannot be turned back into the chat id without the secret, and `/forget` sets it to
NULL on every event of the chat (every month still kept). No user id, name, phone number or chat id is
stored; digits that look like a phone number and e-mail addresses typed into a search are masked.

Writes never hold up a chat: the router hands finished events to an `EventBuffer`, which inserts them in
batches (every few seconds, when the batch fills, and on shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlalchemy.exc import InterfaceError, OperationalError

from catalog.models import Event, utcnow
from catalog.text import fold

if TYPE_CHECKING:
    from catalog.db import Database

log = logging.getLogger(__name__)

# The kinds of event (the `kind` column).
SEARCH = "search"  # results: how many; product: the top one; results == 0 is a no-match
CARD_VIEW = "card_view"  # product: the card shown
WHERE_VIEW = "where_view"  # product: where-to-buy shown for it
CONTACT_VIEW = "contact_view"  # product: whom to contact about it
FORM_START = "form_start"  # product: the product it was started for (or the one on screen)
FORM_ABANDONED = "form_abandoned"  # step: the question it was left at (cancelled, expired, erased)
LEAD_CONFIRMED = "lead_confirmed"  # products: the enquiry's products
LINK_TAP = "link_tap"  # step: the site of a platform or map button tapped (Telegram); product: the one on screen
KINDS = (SEARCH, CARD_VIEW, WHERE_VIEW, CONTACT_VIEW, FORM_START, FORM_ABANDONED, LEAD_CONFIRMED, LINK_TAP)

QUERY_CHARS = 100
_PHONE_LIKE = re.compile(r"\+?\d(?:[\s.\-]?\d){6,}")  # 7 digits or more, maybe spaced: a phone number
_EMAIL_LIKE = re.compile(r"\S+@\S+")


def month_of(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m")


def chat_key(secret: bytes, channel: str, chat_id: str, month: str) -> str:
    """The chat's key for one month: HMAC-SHA256(secret, channel:chat:month), 32 hex characters."""
    message = f"{channel}:{chat_id}:{month}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def months_back(now: dt.datetime, count: int) -> list[str]:
    """This month and the `count` before it, as "YYYY-MM"."""
    year, month = now.year, now.month
    out = []
    for _ in range(count + 1):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def clean_query(text: str) -> str:
    """What is kept of typed words: folded, phone-like digits (#) and e-mail addresses (@) masked, cut short."""
    pieces = []
    for piece in _EMAIL_LIKE.split(text):
        pieces.append(_PHONE_LIKE.sub(" # ", fold(piece)))
    return " ".join(" @ ".join(pieces).split())[:QUERY_CHARS]


def row(kind: str, **fields: Any) -> dict[str, Any]:
    """An event as the buffer keeps it (every column present, so a batch is one executemany)."""
    return {
        "at": fields.get("at") or utcnow(),
        "kind": kind,
        "chat_key": fields.get("chat_key"),
        "channel": fields.get("channel", ""),
        "language": fields.get("language", ""),
        "query": fields.get("query", "")[:QUERY_CHARS],
        "results": fields.get("results"),
        "product": fields.get("product", "")[:120],
        "step": fields.get("step", "")[:30],
        "products": list(fields.get("products") or []),
    }


def retention_cutoff(now: dt.datetime, months: int) -> dt.datetime:
    """The first moment still kept: the same day `months` calendar months ago (clamped to the month's end)."""
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    month += 1
    day = now.day
    while day > 28:
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1
    return now.replace(year=year, month=month, day=day)


async def delete_expired(db: Database, months: int, now: dt.datetime | None = None) -> int:
    """Delete events older than the retention; returns how many."""
    cutoff = retention_cutoff(now or utcnow(), months)
    async with db.session() as session:
        result = await session.execute(delete(Event).where(Event.at < cutoff))
    return int(result.rowcount or 0)


class EventBuffer:
    """Events waiting to be written, inserted in batches off the chat's path.

    `add` only appends; a full batch schedules a flush task. `start()` flushes every `interval` seconds,
    `stop()` flushes what is left. A failed insert keeps the rows for the next try (at most `cap` rows are
    held; beyond that the oldest are dropped with a warning: these are statistics, not orders).
    """

    def __init__(
        self,
        db: Database | None,
        secret: bytes,
        *,
        batch: int = 200,
        interval: float = 5.0,
        cap: int = 50_000,
        retention_months: int = 13,
    ) -> None:
        self.db = db
        self.secret = secret
        self.batch = batch
        self.interval = interval
        self.cap = cap
        self.retention_months = retention_months
        self.pending: list[dict[str, Any]] = []
        self.written = 0
        self._flushing: asyncio.Task[int] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._forgotten: set[str] = set()  # keys cut loose by /forget while this process runs
        self._keys: dict[tuple[str, str, str], str] = {}

    def key(self, channel: str, chat_id: str, now: dt.datetime | None = None) -> str:
        """The chat's key this month (remembered: an HMAC per message is measurable in bench_events.py)."""
        now = now or utcnow()
        month = f"{now.year:04d}-{now.month:02d}"  # UTC: `utcnow()` is
        cached = self._keys.get((channel, chat_id, month))
        if cached is None:
            if len(self._keys) >= 20_000:
                self._keys.clear()
            cached = self._keys[(channel, chat_id, month)] = chat_key(self.secret, channel, chat_id, month)
        return cached

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        self.pending.extend(rows)
        if len(self.pending) > self.cap:
            dropped = len(self.pending) - self.cap
            del self.pending[:dropped]
            log.warning("event buffer full: %d oldest events dropped (is the database reachable?)", dropped)
        if (
            len(self.pending) >= self.batch
            and self.db is not None
            and (self._flushing is None or self._flushing.done())
        ):
            with contextlib.suppress(RuntimeError):  # no running loop: the caller flushes
                self._flushing = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> int:
        """Insert what is pending; returns how many rows were written."""
        if self.db is None:
            return 0
        async with self._lock:
            rows, self.pending = self.pending, []
            if not rows:
                return 0
            try:
                async with self.db.session() as session:
                    await session.execute(Event.__table__.insert(), rows)  # Core: a fifth of the ORM's cost
                    # A /forget that came while these rows were on their way: cut them loose too.
                    late = self._forgotten.intersection(r["chat_key"] for r in rows)
                    if late:
                        await session.execute(
                            update(Event).where(Event.chat_key.in_(late)).values(chat_key=None)
                        )
            except (OperationalError, InterfaceError, OSError, TimeoutError) as exc:
                # The database is away or busy: keep them for the next try.
                self.pending[:0] = rows
                log.warning(
                    "could not write %d events (%s); kept for the next try", len(rows), type(exc).__name__
                )
                return 0
            except Exception as exc:
                # Rows the database refuses would be refused again and hold up every later batch: dropped.
                log.error("%d events refused by the database (%s); dropped", len(rows), type(exc).__name__)
                return 0
            self.written += len(rows)
            return len(rows)

    async def forget_chat(
        self, session: Any, channel: str, chat_id: str, now: dt.datetime | None = None
    ) -> int:
        """Cut the chat's events loose: its key is removed from every event kept (each month's key within the
        retention) and from those still waiting. Runs in the caller's transaction."""
        keys = {
            chat_key(self.secret, channel, chat_id, month)
            for month in months_back(now or utcnow(), self.retention_months + 1)
        }
        self._forgotten |= keys
        for pending in self.pending:
            if pending["chat_key"] in keys:
                pending["chat_key"] = None
        result = await session.execute(update(Event).where(Event.chat_key.in_(keys)).values(chat_key=None))
        return int(result.rowcount or 0)

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    def start(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._every_interval())

    async def stop(self) -> None:
        """Stop the timer and write everything still pending."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        await self.flush()
