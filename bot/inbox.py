"""Handling what the durable inbox accepted: each chat's updates in order, a few chats at a time, floods slowed.

Each chat's entries are handled one at a time, in the chat's order (Telegram's update id, Zalo's event time),
by whoever holds the chat's *turn*: on PostgreSQL a session-level advisory lock, so with several processes
(webhooks behind a round-robin proxy) only one handles a chat at a time and always the chat's lowest
unfinished entry, sending its replies before the next is taken. A process that receives an update of a chat
another process is working on leaves it to that one (and looks again shortly, in case it had just finished).

A chat's task takes one of the `slots` only for one entry at a time, so a chat waiting for its turn holds no
slot and a chat sending a flood takes its turn like everyone else (the slots are FIFO). A chat that sends
faster than a person (more than `flood_limit` updates accepted within `flood_window`) is told so once, in its
language, and its further updates are handled one every `flood_pace` seconds: every one is kept and
answered, in order, but at the pace Telegram lets a bot write to one chat anyway, so the flood costs others
almost nothing. An entry whose handling raises is tried again after a back-off; after `max_attempts` it is
parked (kept in the table, logged once with its id and the error's type, never the message) and the chat
moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from catalog import inbox
from catalog.db import Database, Turn
from catalog.inbox import Accepted
from catalog.models import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

log = logging.getLogger(__name__)

KEEP_DONE = dt.timedelta(days=2)  # Telegram keeps unconfirmed updates 24 h; Zalo retries for up to 12 h
PRUNE_INTERVAL = 600.0
FLOOD_LIMIT = 20  # more updates than this from one chat ...
FLOOD_WINDOW = dt.timedelta(seconds=10)  # ... accepted within this time is faster than a person writes
FLOOD_PACE = (
    1.0  # seconds between a flooding chat's updates (Telegram lets a bot send ~1 message/s to a chat)
)
FLOOD_NOTICE_EVERY = dt.timedelta(hours=1)  # a flooding chat is told at most this often, by any process
TURN_POLL = 0.05  # seconds between looks at a chat another process is working on, doubling up to
TURN_POLL_MAX = 0.4
GAP_WAIT = 0.02  # seconds between looks at a chat whose next entry may have an earlier update still on its way
CHAT_RETRY_MAX = 10.0  # seconds between looks at a chat while the database keeps failing
# SQLite (one process): entries whose replies went out are marked done in the next handler's transaction (or with
# their own chat's next look), or after this many seconds when neither comes
DONE_FLUSH_DELAY = 0.02
Handler = Callable[[Accepted], Awaitable[None]]
OnParked = Callable[[Accepted], Awaitable[None]]
OnFlood = Callable[[Accepted], Awaitable[None]]
ChatRow = Callable[[str, "tuple[Any, ...] | None"], None]


@dataclass(slots=True)
class _Turn:
    mine: bool | None = None  # None until the look has tried to take the chat's turn


class _Slot:
    """One of the processor's slots (or places ahead, `InboxProcessor.ahead`), held for an entry's handling (on SQLite
    from before the chat's look, on PostgreSQL from once the look found the entry) and given back before the chat's
    turn ends (`release`; PostgreSQL): the turn's end (the done marks, their commit, the unlock: a round trip) then
    runs beside the next entry's handling instead of keeping it waiting, as on SQLite, where the done marks ride in
    the next transaction. The chat's own next look still comes after its turn's end (the chat's task is one
    coroutine), and so does anyone else's (the unlock comes last)."""

    __slots__ = ("_semaphore", "_held")

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def __aenter__(self) -> _Slot:
        await self.acquire()
        return self

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self._held = True

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


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
        on_flood: OnFlood | None = None,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.channel = channel
        self.handler = handler
        self.slots = asyncio.Semaphore(max(1, slots))
        # PostgreSQL: chats whose look may run while the slots are all taken (see `_work_chat`): a quarter as many
        # as the slots, at least one (each holds its turn's connection while it waits for a slot)
        self.ahead = asyncio.Semaphore(max(1, slots // 4)) if db.dialect == "postgresql" else None
        # PostgreSQL: chats that may keep their turn (and its connection) over a short wait for an earlier update still
        # on its way (see `_work_chat`): half as many as the slots; the others give it back over the wait, as before
        self.holds = asyncio.Semaphore(max(1, slots // 2)) if db.dialect == "postgresql" else None
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.on_parked = on_parked
        self.on_flood = on_flood
        self.owner = owner or inbox.new_owner()
        # Telegram webhooks: how long a fresh update waits for an earlier update id still on its way to another
        # process (0: no waiting, as in long polling, where batches arrive whole and in order).
        self.reorder_window = 0.0
        self.flood_limit = FLOOD_LIMIT
        self.flood_window = FLOOD_WINDOW
        self.flood_pace = FLOOD_PACE
        # PostgreSQL: given, as a chat's turn is taken, the chat's state as the same look read it (the router's
        # cache of chat states starts the chat's next message from it: another process may have changed it since
        # this one last handled the chat)
        self.chat_row: ChatRow | None = None
        self._queues: dict[str, deque[Accepted]] = {}  # entries without a chat: handled as they come
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()  # chats given a new entry while their task was looking
        self._last_done: dict[str, float] = {}  # chat → loop time its last entry was finished (for the pace)
        self._told: dict[str, float] = {}  # chat → loop time this process last claimed its flood notice
        # chat → entries whose replies went out, marked done in a later inbox transaction instead of one of their
        # own: on PostgreSQL as the chat's turn ends; on SQLite (one process) in the next handler's transaction
        # (`mark_done_with`), or with their chat's next look, or DONE_FLUSH_DELAY later when neither comes
        self._done: dict[str, list[inbox.Done]] = {}
        self._riding: dict[int, dict[str, list[inbox.Done]]] = {}  # entry id → the marks its transaction writes
        self._flusher: asyncio.Task[None] | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self.handled = 0
        self.parked = 0
        self.flood_notices = 0

    async def start(self) -> int:
        """Become a live owner and take over (and queue) what a stopped process left unfinished."""
        self.live_owners.add(self.owner)
        await self.prune()
        self._housekeeping = asyncio.create_task(
            self._prune_now_and_then(), name=f"inbox-{self.channel}-prune"
        )
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
            log.warning(
                "resuming %d %s update(s) accepted but not finished before a stop", len(taken), self.channel
            )
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
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._flush_all()
        self.live_owners.discard(self.owner)

    async def drain(self) -> None:
        """Until every queued entry is handled and marked done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        await self._flush_all()

    def finished(self, entry: Accepted, error: str = "") -> None:
        """The handler's word that the entry's replies went out (`error`: what could not be sent): the entry is
        marked done with the chat's next statement, before anyone else can take the chat's turn."""
        self._done.setdefault(entry.chat_key or f"#{entry.id}", []).append((entry.id, error))

    async def _flush_done(self, key: str) -> None:
        done = self._done.pop(key, None)
        if done:
            try:
                await inbox.mark_done_many(self.db, done)
            except Exception as exc:  # left handled: sent again after a restart rather than lost
                log.warning("could not mark %d %s inbox entries done (%s)", len(done), self.channel,
                            type(exc).__name__)

    async def mark_done_with(self, session: AsyncSession | Turn, entry: Accepted) -> None:
        """SQLite: in the handler's transaction for `entry` (after its handled mark), every entry still waiting to be
        marked done, of any chat: the handler commits anyway, so the marks need no write transaction of their own and
        a chat's look only reads. Given back when that transaction does not commit (`_attempt`). On PostgreSQL the
        marks stay with their chat's turn (they must be committed before the turn is given back)."""
        if self.db.dialect == "postgresql":
            return
        earlier = self._riding.pop(entry.id, None)
        if earlier:  # the handler's earlier transaction was rolled back (done again from the chat's row)
            self._give_back(earlier)
        if not self._done:
            return
        taken = self._take_done()
        self._riding[entry.id] = taken
        await inbox.write_done(session, [d for marks in taken.values() for d in marks])

    def _take_done(self) -> dict[str, list[inbox.Done]]:
        taken, self._done = self._done, {}
        return taken

    def _give_back(self, taken: dict[str, list[inbox.Done]]) -> None:
        """Marks taken for a transaction that failed: kept (before any added since) for the next one."""
        for key, done in taken.items():
            if done:
                self._done.setdefault(key, [])[:0] = done

    async def _flush_all(self) -> bool:
        """Write every mark waiting; False when the database refused (they are kept for the next look)."""
        taken = self._take_done()
        done = [d for marks in taken.values() for d in marks]
        if not done:
            return True
        try:
            await inbox.mark_done_many(self.db, done)
        except Exception as exc:  # kept: the next look at a chat tries again (else sent again after a restart)
            self._give_back(taken)
            log.warning("could not mark %d %s inbox entries done (%s)", len(done), self.channel, type(exc).__name__)
            return False
        return True

    def _flush_soon(self) -> None:
        """SQLite: the marks waiting are written with the next look at any chat, or shortly by themselves."""
        if self._done and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_later(), name=f"inbox-{self.channel}-done")

    async def _flush_later(self) -> None:
        # again while marks came in during the write (their chats' tasks found this task still running)
        while self._done:
            await asyncio.sleep(DONE_FLUSH_DELAY)
            if not await self._flush_all():
                return

    def submit(self, entry: Accepted) -> None:
        """An entry was accepted: its chat's task looks at the chat's unfinished entries (started if idle)."""
        if not entry.chat_key:  # an inline query: no chat, no order to keep
            key = f"#{entry.id}"
            self._queues[key] = deque([entry])
            self._tasks[key] = asyncio.create_task(
                self._run_unordered(key), name=f"inbox-{self.channel}-{key}"
            )
            return
        key = entry.chat_key
        if key in self._tasks:
            self._again.add(key)
            return
        self._tasks[key] = asyncio.create_task(self._run_chat(key), name=f"inbox-{self.channel}-{key}")

    async def _run_unordered(self, key: str) -> None:
        try:
            queue = self._queues[key]
            while queue:
                entry: Accepted | None = queue.popleft()
                while entry is not None:
                    async with self.slots:
                        delay = await self._attempt(entry)
                    if delay is None:
                        break
                    await asyncio.sleep(delay)
                    entry = await inbox.reload(self.db, entry)
        finally:
            await self._flush_done(key)
            self._queues.pop(key, None)
            self._tasks.pop(key, None)

    async def _run_chat(self, key: str) -> None:
        failures = 0
        try:
            while True:
                self._again.discard(key)
                try:
                    await self._work_chat(key)
                except Exception as exc:
                    # The database refused or dropped us (too many clients, a restart, a failover): the chat's
                    # entries are still in the table, so look again after a back-off rather than leave them
                    # until the next process start.
                    failures += 1
                    delay = min(self.base_delay * 2**failures, CHAT_RETRY_MAX)
                    log.warning("could not work on a %s chat's updates (%s); trying again in %.1f s",
                                self.channel, type(exc).__name__, delay)
                    await asyncio.sleep(delay)
                    self._again.add(key)
                    continue
                failures = 0
                if key not in self._again:
                    return
        finally:
            if self.db.dialect == "postgresql":
                await self._flush_done(key)  # normally done already as the chat's turn ended
            else:
                self._flush_soon()
            self._tasks.pop(key, None)
            self._again.discard(key)
            last = self._last_done.get(key)
            if last is not None and asyncio.get_running_loop().time() - last > self.flood_pace:
                del self._last_done[key]

    async def _work_chat(self, key: str) -> None:
        """Handle the chat's unfinished entries in order, one slot and one turn per entry, until none is left."""
        loop = asyncio.get_running_loop()
        poll = TURN_POLL
        while True:
            wait = 0.0
            finished = False
            slot = _Slot(self.slots)
            # PostgreSQL: the look (a round trip, which takes the chat's turn) does not wait for a slot; it holds a place
            # ahead instead, and the slot is taken once it found an entry to handle now. So the next chat's look runs
            # while the entry before it is handled (one update at a time: the round trip is off the way from one
            # update to the next). Each place holds the turn's connection (and the turn) while it waits for a slot.
            first = _Slot(self.ahead) if self.ahead is not None else slot
            async with first, self._turn(key, slot) as (conn, turn):
                # how many the chat sent lately (read only by the one whose turn it is)
                recent = self.flood_window if self.flood_limit else None
                # The chat's own marks (before its next entry is looked for): on PostgreSQL the others' are written
                # as their turns end, on SQLite in the next handler's transaction (`mark_done_with`), so that a look
                # at a chat whose marks went that way only reads.
                taken = {key: self._done.pop(key, [])}
                try:
                    # on PostgreSQL the look's statement also tries to take the chat's turn (one round trip)
                    found = await inbox.look_at_chat(
                        self.db, self.channel, key, recent,
                        done=[d for marks in taken.values() for d in marks], conn=conn,
                        gaps=self.reorder_window > 0, turn=conn is not None,
                        # (webhooks: a chat's updates may reach several processes; a poller is the only one)
                        chat=conn is not None and self.chat_row is not None and self.reorder_window > 0,
                    )
                except BaseException:
                    self._give_back(taken)
                    raise
                turn.mine = mine = found.mine
                entry = found.entry
                if entry is None:
                    return
                if not mine:
                    # Another process is on it and takes what is there, in order: look again now and then (more
                    # and more rarely while it works through the chat's backlog), in case it had just finished.
                    wait, poll = poll, min(poll * 2, TURN_POLL_MAX)
                else:
                    poll = TURN_POLL
                    wait = await self._hold_back(key, entry, found.count, gap=found.gap)
                    while (0 < wait <= GAP_WAIT and found.gap and conn is not None and self.holds is not None
                           and not self.holds.locked()):
                        # PostgreSQL: an earlier update may still be on its way to another process (see
                        # `_hold_back`). The turn is kept over the short wait and the chat looked at again under it:
                        # not given back and taken again (the unlock's round trip, and a look that may find the
                        # turn taken by a process that receives the chat's next update meanwhile). The place ahead
                        # is given back meanwhile, so that other chats' looks do not wait for this one; one of the
                        # `holds` is held instead, so that the connections kept by waiting chats stay few (when
                        # none is free, the turn is given back over the wait).
                        await self.holds.acquire()  # (free: no wait)
                        try:
                            first.release()
                            await asyncio.sleep(wait)
                            await first.acquire()
                        finally:
                            self.holds.release()
                        found = await inbox.look_at_chat(
                            self.db, self.channel, key, recent, conn=conn, gaps=True, held=True,
                            chat=self.chat_row is not None,
                        )
                        entry = found.entry
                        if entry is None:  # (parked meanwhile by `ocop-bot`: nothing left)
                            return
                        wait = await self._hold_back(key, entry, found.count, gap=found.gap)
                    if found.with_chat and self.chat_row is not None:
                        self.chat_row(key, found.chat)
                    if wait <= 0:
                        if first is not slot:
                            await slot.acquire()  # (given back by `_turn`, before the turn's end)
                            first.release()
                            # One turn of the loop before the handling: the next chat's look, woken by the place just
                            # given back, sends its statement now, so that PostgreSQL runs it beside this entry's
                            # handling (CPU on the loop, ≈1 ms) instead of beside the handling's own write at its end,
                            # whose answer the replies wait for. Without it the look was sent after that write and the
                            # write's answer waited for the look's and for the look's work on the loop.
                            await asyncio.sleep(0)
                        # PostgreSQL on asyncpg: the turn's connection, idle while the entry is handled, serves the
                        # router's transaction for it (`Database.lending`): no connection of its own from the pool
                        with self.db.lending(conn) if isinstance(conn, Turn) else contextlib.nullcontext():
                            retry = await self._attempt(entry)
                        self._last_done[key] = loop.time()
                        wait = retry or 0.0
                        # Nothing else of the chat was waiting at the look, and what this process accepted since
                        # is in `_again` (see submit): no need to look again (a look that would only find
                        # nothing). An entry another process accepted meanwhile is that process's to take: it
                        # found the turn taken and looks again shortly.
                        finished = retry is None and not found.more
            if finished:
                return
            if wait > 0:
                await asyncio.sleep(wait)

    @contextlib.asynccontextmanager
    async def _turn(
        self, key: str, slot: _Slot | None = None,
    ) -> AsyncIterator[tuple[AsyncConnection | Turn | None, _Turn]]:
        """The turn's connection (None: any) and whether this process may handle the chat now (`_Turn.mine`, once
        the look has tried to take it). On SQLite one process handles everything and this task is the chat's only
        one; on PostgreSQL the turn is an advisory lock on a connection of its own, taken by the look at the
        chat's next entry in the same statement, and whose release marks done the entries finished meanwhile.
        `slot`: given back before that release's round trip (see `_Slot`).

        The lock lives on the connection, which goes back to the pool only when it is known not to hold it: the look
        found the chat with nothing unfinished or another's (`mine` false), or the release went through. When the look
        failed or was cancelled halfway (it may have taken the lock), or the release did, the connection is closed
        instead, and the lock ends with its backend."""
        if self.db.dialect != "postgresql":
            yield None, _Turn(True)
            return
        # On asyncpg a lean `Turn` (`Database.turn`: the pool's connection, the look and the release on its driver
        # through `Prebuilt`, each statement committed by itself, handed back by the pool's own check-in): ≈22 µs of
        # CPU to take and give back in a tight loop, against ≈70 µs for a SQLAlchemy `AsyncConnection` (its execution
        # options, its shielded close). The turn never opens its ORM session, so it writes nothing at its end.
        connection = self.db.turn() if self.db.lean_turns else _autocommit_connection(self.db)
        async with connection as conn:
            turn = _Turn()
            try:
                yield conn, turn
            except BaseException:
                if turn.mine is None:  # the look failed: whether it took the lock is not known
                    await _discard(conn)
                raise
            finally:
                if slot is not None:
                    slot.release()
                if turn.mine:
                    done = self._done.pop(key, [])
                    try:
                        await inbox.end_chat_turn(conn, self.channel, key, done)
                    except BaseException:
                        self._done.setdefault(key, [])[:0] = done
                        await _discard(conn)
                        raise

    async def _hold_back(self, key: str, entry: Accepted, count: int, *, gap: bool = False) -> float:
        """Seconds to wait before handling `entry` now: for an earlier update still on its way (`gap`: the look
        that found the entry saw its predecessor in the channel missing, in the same snapshot, so no earlier
        update of the chat can have been stored unseen in between), or the pace of a flood (whose first slowed
        update also tells the chat why, once)."""
        if gap and self.reorder_window > 0 and entry.seq and entry.created_at is not None:
            age = (utcnow() - entry.created_at).total_seconds()
            if age < self.reorder_window:
                return min(self.reorder_window - age, GAP_WAIT)
        if not self.flood_limit or count <= self.flood_limit:
            return 0.0
        now = asyncio.get_running_loop().time()
        told = self._told.get(key)
        if (
            self.on_flood is not None
            and entry.replies is None
            and (told is None or now - told > FLOOD_NOTICE_EVERY.total_seconds())
        ):
            self._told[key] = now
            if len(self._told) > 10_000:
                self._told.clear()
            name = f"flood-notice:{self.channel}:{key}"
            if await inbox.claim_once(self.db, name, self.owner, FLOOD_NOTICE_EVERY):
                self.flood_notices += 1
                log.info(
                    "%s chat %s sends faster than a person: told once, answered one update every %.1f s",
                    self.channel,
                    key,
                    self.flood_pace,
                )
                with contextlib.suppress(Exception):
                    await self.on_flood(entry)
        last = self._last_done.get(key)
        return 0.0 if last is None else last + self.flood_pace - now

    async def _attempt(self, entry: Accepted) -> float | None:
        """Handle the entry once; None when it is finished (done, parked or another's), else the back-off."""
        try:
            try:
                await self.handler(entry)
            except BaseException:
                # Marks the handler's transaction took (`mark_done_with`): kept for the next one. (Given back even
                # when the failure came after the commit: marking done twice changes nothing.)
                riding = self._riding.pop(entry.id, None)
                if riding:
                    self._give_back(riding)
                raise
            self._riding.pop(entry.id, None)
            self.handled += 1
            return None
        except asyncio.CancelledError:
            raise
        except inbox.AlreadyHandled:
            return None  # another process took it over and handled it: nothing of ours was committed
        except Unreadable as exc:
            await inbox.park(self.db, entry.id, f"unreadable: {exc}")
            self._log_parked(entry, exc)
            return None
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
                return None
            log.info(
                "inbox entry %s (%s) failed (%s), trying again", entry.id, self.channel, type(exc).__name__
            )
            return self.base_delay * 2 ** min(entry.attempts, 6)

    def _log_parked(self, entry: Accepted, exc: BaseException) -> None:
        self.parked += 1
        # The id and the kind of error only: the entry holds a user's message, which never goes to the log.
        log.error(
            "%s inbox entry %s parked after failing (%s); see `ocop-bot doctor`",
            self.channel,
            entry.id,
            type(exc).__name__,
        )


async def _discard(conn: AsyncConnection | Turn) -> None:
    """Close a chat turn's connection rather than hand it back to the pool: whether it holds the chat's lock is not
    known (the lock ends with the connection's backend)."""
    with contextlib.suppress(Exception):
        if isinstance(conn, Turn):
            await conn.discard()
        else:
            await conn.invalidate()


@contextlib.asynccontextmanager
async def _autocommit_connection(db: Database) -> AsyncIterator[AsyncConnection]:
    """A chat turn's connection on PostgreSQL through another driver than asyncpg (psycopg): SQLAlchemy's, each
    statement committed by itself (the look is one round trip, not BEGIN, SELECT, COMMIT, and the release's marks two,
    UPDATE and unlock, instead of four; the pool resets the isolation level when the connection is handed back)."""
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
