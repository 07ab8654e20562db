"""The outbox delivery worker: sends queued lead cards and buyer messages at least once, surviving restarts.

How an entry moves (table `outbox`):

    pending ──claim (conditional UPDATE, attempts+1)──► sending ──send ok──► sent
       ▲                                                  │
       └──── transient error: back off, honour retry_after ┤
                                                          └── permanent error ──► failed

A claim is one conditional UPDATE (`WHERE id=? AND status=? AND attempts=?`), so of two workers — in one
process or many, on SQLite or PostgreSQL — exactly one wins each entry. The winner holds a lease
(`lease_owner`, until `next_attempt_at`); an entry whose lease ran out, or whose owner process on this host
is gone, is claimed again. Entries for one chat go out in order: a later entry waits while an earlier one
for the same chat is unsent, so staff never see a card edit before the card.

A worker looks at the outbox when its own process queued something (`wake`), when the next retry is due, and
otherwise every `poll_interval`. On PostgreSQL it also LISTENs on `ocop_outbox`, which a trigger NOTIFYs as an
entry becomes pending in any process (migration 0012): while it listens, the poll slows to
`listening_poll_interval`, there only for a notification lost with a dropped connection (the listener then
reconnects) — an idle worker costs a look every 10 s instead of every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Mapping
from typing import ClassVar

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.outbound import Deliverer, DeliveryError
from catalog import chat_moves
from catalog.db import Database
from catalog.inbox import pid_alive
from catalog.leads import (
    BUYER_KINDS,
    KIND_BUYER_NOTICE,
    KIND_CARD_EDIT,
    KIND_CARD_ERASE,
    KIND_LEAD_CARD,
    KIND_STAFF_NOTICE,
    enqueue,
)
from catalog.models import Lead, LeadEvent, OutboxMessage, utcnow
from handlers.messages import Reply, h, reply_from_json, reply_to_json
from locales import translator

log = logging.getLogger(__name__)

STAFF_KINDS = (KIND_LEAD_CARD, KIND_CARD_EDIT, KIND_CARD_ERASE)
UNSENT = ("pending", "sending")
RECOVERY_INTERVAL = 30.0  # seconds between looks for entries a dead process on this host was sending
NOTIFY_CHANNEL = "ocop_outbox"  # PostgreSQL: notified as an entry becomes pending (migration 0012_outbox_notify)
LISTENING_POLL = 10.0  # seconds between looks while listening: a lost notification delays an entry this long
LISTEN_RETRY_MAX = 30.0  # seconds between attempts to listen again while the database refuses


def _waiting_behind():  # type: ignore[no-untyped-def]
    """True for an entry with an earlier unsent entry for the same chat: it must wait its turn."""
    earlier = aliased(OutboxMessage)
    return exists().where(
        earlier.channel == OutboxMessage.channel,
        earlier.chat_id == OutboxMessage.chat_id,
        earlier.id < OutboxMessage.id,
        earlier.status.in_(UNSENT),
    )


class DeliveryWorker:
    """Delivers due outbox entries through the channel's Deliverer; `start()` runs it in the background."""

    # Owners of the workers running in this process, so a stopped or earlier worker's leases can be taken
    # back at once even though the process id is still alive (tests, or a container reusing pid 1).
    _live_owners: ClassVar[set[str]] = set()

    def __init__(
        self,
        db: Database,
        deliverers: Mapping[str, Deliverer],
        settings: Settings,
        *,
        poll_interval: float = 1.0,
        listening_poll_interval: float = LISTENING_POLL,
        lease_seconds: float = 120.0,
        send_timeout: float = 60.0,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        batch_size: int = 10,
        max_unexpected_errors: int = 20,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.deliverers = dict(deliverers)
        self.settings = settings
        self.poll_interval = poll_interval
        self.listening_poll_interval = listening_poll_interval
        self.listening = False  # PostgreSQL: LISTENing on NOTIFY_CHANNEL right now
        self.notifications = 0  # notifications received (for tests and logs)
        self._listener: asyncio.Task[None] | None = None
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.send_timeout = min(send_timeout, lease_seconds / 2)  # a send never outlives its lease
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch_size = batch_size
        self.max_unexpected_errors = max_unexpected_errors
        self.rng = rng or random.Random()
        self.host = socket.gethostname()
        self.owner = f"{self.host}:{os.getpid()}:{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self.on_card_failed: Callable[[], None] | None = None  # the staff chat refused a card for good
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # --- running in the background

    def wake(self) -> None:
        """Look at the outbox now (called after a transaction that queued something commits)."""
        self._wake.set()

    async def start(self) -> None:
        """Take back what a dead process was sending, then deliver until `stop()`."""
        if self._task is not None:
            return
        self._stopping = False
        self._live_owners.add(self.owner)
        await self.recover()
        self._task = asyncio.create_task(self._run(), name="outbox-delivery")
        if self.db.dialect == "postgresql":
            self._listener = asyncio.create_task(self._listen(), name="outbox-listen")

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the send in flight (up to `grace` seconds), then stop; unfinished entries stay queued."""
        task, self._task = self._task, None
        self._stopping = True
        self._wake.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._live_owners.discard(self.owner)
        with contextlib.suppress(Exception):
            await self._release_own_leases()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_recovery = loop.time() + RECOVERY_INTERVAL
        while not self._stopping:
            self._wake.clear()  # before looking, so a wake during the round is not lost
            try:
                if loop.time() >= next_recovery:
                    # Another process on this host may have died since we started.
                    next_recovery = loop.time() + RECOVERY_INTERVAL
                    await self.recover()
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox round failed; trying again shortly")
                handled = 0
            if handled or self._stopping:
                continue
            wait = await self._seconds_until_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _listen(self) -> None:
        """LISTEN on a connection of its own (taken out of the pool) until it is lost, then again after a pause;
        `listening` meanwhile. Each notification wakes the worker, and so does every start of listening (what
        was queued while nobody listened)."""
        pause = 1.0
        while not self._stopping:
            lost = asyncio.Event()
            try:
                async with self.db.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    listening = raw.driver_connection
                    raw.detach()  # closed, not pooled, when this ends
                    listening.add_termination_listener(lambda _conn, lost=lost: lost.set())  # type: ignore[union-attr]
                    await listening.add_listener(NOTIFY_CHANNEL, self._notified)  # type: ignore[union-attr]
                    self.listening, pause = True, 1.0
                    self._wake.set()
                    await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not listen for outbox entries (%s); polling every %g s meanwhile",
                            type(exc).__name__, self.poll_interval)
            finally:
                self.listening = False
            self._wake.set()  # polling again: whatever a lost notification announced
            await asyncio.sleep(pause)
            pause = min(pause * 2, LISTEN_RETRY_MAX)

    def _notified(self, *_args: object) -> None:
        self.notifications += 1
        self._wake.set()

    async def _seconds_until_due(self) -> float:
        """Sleep until the next entry is due, but at most the poll interval (other processes queue too; longer
        while notified of what they queue).

        Only the head of each chat's queue counts: an entry waiting behind another cannot go before it.
        """
        interval = self.listening_poll_interval if self.listening else self.poll_interval
        try:
            async with self.db.session() as session:
                earliest = await session.scalar(
                    select(func.min(OutboxMessage.next_attempt_at))
                    .where(OutboxMessage.status.in_(UNSENT), self._deliverable(), ~_waiting_behind())
                )
        except Exception:
            return self.poll_interval
        if earliest is None:
            return interval
        return min(interval, max(0.01, (earliest - utcnow()).total_seconds()))

    # --- one round

    async def run_once(self) -> int:
        """Claim and deliver the entries due now; returns how many were attempted (sent or not)."""
        claimed = await self._claim(self.batch_size)
        if claimed:
            await asyncio.gather(*(self._deliver(entry_id) for entry_id in claimed))
        return len(claimed)

    async def recover(self) -> int:
        """Make entries left 'sending' by a process that is gone (on this host) pending again, at once."""
        released = 0
        async with self.db.session() as session:
            rows = (await session.execute(
                select(OutboxMessage.id, OutboxMessage.lease_owner, OutboxMessage.attempts)
                .where(OutboxMessage.status == "sending")
            )).all()
            for entry_id, owner, attempts in rows:
                if not self._owner_gone(owner):
                    continue
                result = await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == entry_id, OutboxMessage.status == "sending",
                           OutboxMessage.attempts == attempts, OutboxMessage.lease_owner == owner)
                    .values(status="pending", lease_owner="", next_attempt_at=utcnow(),
                            last_error="resent: the process sending it stopped")
                )
                released += result.rowcount or 0
        if released:
            log.warning("resending %d outbox entr%s left unfinished by a stopped process",
                        released, "y" if released == 1 else "ies")
        return released

    def _owner_gone(self, owner: str) -> bool:
        host, _, rest = owner.partition(":")
        pid_text = rest.partition(":")[0]
        if not owner or host != self.host or not pid_text.isdigit():
            return not owner  # another host's lease runs out on its own
        pid = int(pid_text)
        if pid == os.getpid():
            return owner not in self._live_owners
        return not pid_alive(pid)

    def _deliverable(self):  # type: ignore[no-untyped-def]
        """Entries for the channels this process can deliver to. Another process's channel (a Zalo-only
        process beside a Telegram-only one) or the terminal chat's notices (nobody delivers those) are
        left alone, instead of being claimed and pushed back a minute at a time."""
        return OutboxMessage.channel.in_(sorted(self.deliverers))

    async def _claim(self, limit: int) -> list[int]:
        """Take up to `limit` due entries, at most one per chat (the oldest unsent one), for this worker."""
        now = utcnow()
        due = and_(OutboxMessage.status.in_(UNSENT), OutboxMessage.next_attempt_at <= now)
        query = (
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
            .where(due, self._deliverable(), ~_waiting_behind())
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        claimed: list[int] = []
        async with self.db.session() as session:
            candidates = (await session.execute(query)).all()
            # In id order, so two workers lock rows in the same order and never deadlock on PostgreSQL.
            for entry_id, status, attempts in candidates:
                # `attempts` acts as a version: whoever claims first bumps it, and the other's UPDATE matches
                # nothing (PostgreSQL re-checks the WHERE after waiting for the winner's row lock).
                result = await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == entry_id, OutboxMessage.status == status,
                           OutboxMessage.attempts == attempts)
                    .values(status="sending", lease_owner=self.owner, attempts=attempts + 1,
                            next_attempt_at=utcnow() + self.lease)
                )
                if result.rowcount == 1:
                    claimed.append(entry_id)
        return claimed

    async def _deliver(self, entry_id: int) -> None:
        async with self.db.session() as session:
            entry = await session.get(OutboxMessage, entry_id, populate_existing=True)
            if entry is None or entry.status != "sending" or entry.lease_owner != self.owner:
                return
            staff_message_id: int | None = None
            card_failed = False
            topic: tuple[str, int] | None = None  # the lead's card's chat and forum topic
            if entry.lead_id is not None and entry.kind not in BUYER_KINDS:
                lead = await session.get(Lead, entry.lead_id)
                if lead is not None and lead.staff_thread_id is not None and lead.staff_chat_id:
                    topic = (lead.staff_chat_id, lead.staff_thread_id)
            if entry.kind == KIND_CARD_EDIT and entry.lead_id is not None:
                lead = await session.get(Lead, entry.lead_id)
                staff_message_id = lead.staff_message_id if lead else None
                card_failed = staff_message_id is None and not await session.scalar(
                    select(exists().where(OutboxMessage.lead_id == entry.lead_id,
                                          OutboxMessage.kind == KIND_LEAD_CARD,
                                          OutboxMessage.status.in_(UNSENT))))
        chat_id = entry.chat_id
        if not chat_id and entry.kind in STAFF_KINDS and self.settings.staff_chat_id is not None:
            chat_id = str(self.settings.staff_chat_id)  # queued before the staff chat was configured
        deliverer = self.deliverers[entry.channel]  # _claim takes only entries of these channels
        if not chat_id:
            if entry.kind in STAFF_KINDS:
                await self._retry(entry, "OCOP_STAFF_CHAT_ID is not set", 60.0)
            else:
                await self._fail(entry, "no chat to deliver to")
            return
        edit_id: str | None = None
        if entry.kind == KIND_CARD_EDIT:
            if staff_message_id is None:
                if card_failed:
                    await self._fail(entry, "the lead card was never posted, so there is nothing to edit")
                else:
                    await self._retry(entry, "waiting for the lead card to be posted", 5.0)
                return
            edit_id = str(staff_message_id)
        elif entry.kind == KIND_CARD_ERASE:
            edit_id = str(entry.payload.get("message_id", ""))
        try:
            reply = reply_from_json(entry.payload)
            reply.edit = edit_id is not None
            if reply.thread_id is None and topic is not None and topic[0] == chat_id:
                # Cards, their edits (a new message when an edit fails), reminders and notices about a lead
                # go to the forum topic its routing rule named.
                reply.thread_id = topic[1]
            message_id = await asyncio.wait_for(
                deliverer.deliver(chat_id, reply, edit_message_id=edit_id), self.send_timeout
            )
        except DeliveryError as exc:
            if exc.migrated_to:
                await self._follow_move(entry, chat_id, exc.migrated_to)
            elif exc.permanent:
                await self._fail(entry, str(exc), unreachable=getattr(exc, "window_closed", False))
            else:
                await self._retry(entry, str(exc), exc.retry_after)
        except TimeoutError:
            await self._retry(entry, f"no answer within {self.send_timeout:g} s", None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug or an unexpected answer: retried a few times, then set aside so it cannot loop forever.
            log.exception("unexpected error delivering outbox entry %s", entry.id)
            if entry.attempts >= self.max_unexpected_errors:
                await self._fail(entry, f"{type(exc).__name__}: {exc}")
            else:
                await self._retry(entry, f"{type(exc).__name__}: {exc}", None)
        else:
            await self._mark_sent(entry, chat_id, str(message_id))

    # --- outcomes (each conditional on still holding the lease)

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: 1, 2, 4 … s (× 0.5–1), capped at `max_delay`."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return ceiling * (0.5 + self.rng.random() / 2)

    def _held(self, entry: OutboxMessage):  # type: ignore[no-untyped-def]
        return and_(OutboxMessage.id == entry.id, OutboxMessage.status == "sending",
                    OutboxMessage.lease_owner == self.owner)

    async def _mark_sent(self, entry: OutboxMessage, chat_id: str, message_id: str) -> None:
        async with self.db.session() as session:
            if entry.lead_id is not None:
                # The lead's row first, as /forget and the staff actions take it (lead, then its outbox
                # entries): the other order deadlocks against them on PostgreSQL.
                await session.execute(select(Lead.id).where(Lead.id == entry.lead_id).with_for_update())
            result = await session.execute(
                update(OutboxMessage).where(self._held(entry)).values(
                    status="sent", sent_at=utcnow(), sent_message_id=message_id[:64], chat_id=chat_id,
                    lease_owner="", last_error="")
            )
            if result.rowcount != 1:
                log.warning("outbox entry %s was sent but its lease had been taken over", entry.id)
                return
            last = message_id.split(",")[-1]  # a card too long for one message: its buttons are on the last
            if entry.kind == KIND_LEAD_CARD and entry.lead_id is not None and last.isdigit():
                await session.execute(
                    update(Lead).where(Lead.id == entry.lead_id).values(staff_message_id=int(last))
                )
            if entry.kind in (KIND_LEAD_CARD, KIND_CARD_EDIT) and entry.lead_id is not None and "," in message_id:
                lead = await session.get(Lead, entry.lead_id)
                if lead is not None and lead.anonymised_at is not None:
                    # /forget came while this card was on its way: its other parts are blanked too.
                    for part in message_id.split(",")[:-1]:
                        enqueue(session, kind=KIND_CARD_ERASE, channel=entry.channel, chat_id=chat_id,
                                payload={"text": "🗑", "buttons": [], "message_id": part}, lead_id=lead.id,
                                notify=self.wake)

    async def _retry(self, entry: OutboxMessage, error: str, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after + self.rng.random() * min(1.0, retry_after / 10)  # at least what was asked
        else:
            delay = self._backoff(entry.attempts)
        log.info("outbox entry %s (%s) not delivered, retry in %.1f s: %s", entry.id, entry.kind, delay, error)
        async with self.db.session() as session:
            await session.execute(
                update(OutboxMessage).where(self._held(entry)).values(
                    status="pending", lease_owner="", last_error=error[:1000],
                    next_attempt_at=utcnow() + dt.timedelta(seconds=delay))
            )

    async def _fail(self, entry: OutboxMessage, error: str, *, unreachable: bool = False) -> None:
        log.error("outbox entry %s (%s) to %s failed for good: %s; see `ocop-bot doctor`",
                  entry.id, entry.kind, entry.chat_id, error)
        async with self.db.session() as session:
            result = await session.execute(
                update(OutboxMessage).where(self._held(entry)).values(
                    status="failed", lease_owner="", last_error=error[:1000])
            )
            if result.rowcount == 1 and entry.kind == KIND_LEAD_CARD and entry.lead_id is not None:
                await self._tell_buyer_not_sent(session, entry.lead_id)
            if result.rowcount == 1 and unreachable and entry.kind in BUYER_KINDS and entry.lead_id is not None:
                await self._tell_staff_unreachable(session, entry.lead_id, error)
        if entry.kind == KIND_LEAD_CARD and self.on_card_failed is not None:
            self.on_card_failed()

    async def _tell_staff_unreachable(self, session: AsyncSession, lead_id: int, error: str) -> None:
        """The buyer's channel refuses messages now (Zalo: more than 7 days since their last message): the lead
        records it, and the staff chat hears it with the buyer's phone, so someone calls instead."""
        from handlers.staff import unreachable_notice

        lead = await session.get(Lead, lead_id)
        if lead is None or not lead.ref or lead.anonymised_at is not None:
            return
        session.add(LeadEvent(lead_id=lead.id, actor_id="", actor_name=lead.channel, action="unreachable",
                              from_status=lead.status, to_status=lead.status, note=error[:500], created_at=utcnow()))
        staff_chat = lead.staff_chat_id or ("" if self.settings.staff_chat_id is None else str(self.settings.staff_chat_id))
        if staff_chat:
            enqueue(session, kind=KIND_STAFF_NOTICE, channel="telegram", chat_id=staff_chat,
                    payload=reply_to_json(unreachable_notice(lead, self.settings.staff_language)), lead_id=lead.id,
                    notify=self.wake)

    async def _tell_buyer_not_sent(self, session: AsyncSession, lead_id: int) -> None:
        """The card could not be posted: the buyer, told it was sent, now hears the truth."""
        lead = await session.get(Lead, lead_id)
        if lead is None or not lead.ref or lead.anonymised_at is not None:
            return
        t = translator(lead.language)
        text = t._("Your enquiry {ref} is saved, but it has not reached the trade department yet because of a "
                   "problem on our side. We are fixing it; you do not need to send it again.", ref=lead.ref)
        enqueue(session, kind=KIND_BUYER_NOTICE, channel=lead.channel, chat_id=lead.chat_id,
                payload=reply_to_json(Reply(h(text))), lead_id=lead.id, notify=self.wake)

    async def _follow_move(self, entry: OutboxMessage, old: str, new: str) -> None:
        """The chat became a supergroup with a new id: store the move, send there (this entry at once)."""
        async with self.db.session() as session:
            moved = await chat_moves.record(session, entry.channel, old, new)
            await session.execute(
                update(OutboxMessage).where(self._held(entry)).values(
                    status="pending", lease_owner="", chat_id=new, next_attempt_at=utcnow(),
                    last_error=f"the chat moved from {old} to {new}")
            )
        if entry.channel == "telegram" and str(self.settings.staff_chat_id) == old:
            self.settings.staff_chat_id = int(new)
            log.error("the staff chat %s was upgraded to a supergroup with id %s: using the new id from now on "
                      "(stored in the database); set OCOP_STAFF_CHAT_ID=%s", old, new, new)
        else:
            log.warning("chat %s moved to %s; %d queued message(s) follow it", old, new, moved)
        self._wake.set()

    async def _release_own_leases(self) -> None:
        """On stop: what this worker was still sending goes back to pending for the next worker."""
        async with self.db.session() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending", OutboxMessage.lease_owner == self.owner)
                .values(status="pending", lease_owner="", next_attempt_at=utcnow())
            )

