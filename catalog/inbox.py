"""The durable inbox's table operations (`inbox`): accept, mark handled/done, count failures, park, resume.

An update is *accepted* when its row is committed; only then is the channel told (the next `getUpdates`
offset, the webhook's 200). The row is marked `handled`, with the replies to send, in the handler's own
transaction, so either both the handler's changes and the mark are stored or neither; `done` once the
replies went out. A process that starts takes over what a dead process on this host left unfinished.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Interval,
    Select,
    and_,
    any_,
    bindparam,
    case,
    delete,
    false,
    func,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from catalog import sessions
from catalog.db import (
    Database,
    Prebuilt,
    Turn,
    driver_connection,
    lazy_commit_set,
    prebuilt,
    session_connection,
    writes_only_chat_state,
)
from catalog.models import ChatSession, InboxEntry, ProcessLease, utcnow

UNFINISHED = ("pending", "handled")
MAX_ATTEMPTS = 5  # an entry whose handling failed this many times is parked
LEASE = dt.timedelta(minutes=5)  # another host's unfinished entry is taken over after this long untouched


@dataclass(frozen=True, slots=True)
class Accepted:
    """One entry to handle: its row id, whose queue it joins, the update as received, its place in the chat's
    order (`seq`) and when it was accepted."""

    id: int
    chat_key: str
    payload: dict[str, Any]
    replies: list[Any] | None = None
    attempts: int = 1
    seq: int = 0
    created_at: dt.datetime | None = None


def _accepted(row: Any) -> Accepted:
    return Accepted(row.id, row.chat_key, row.payload, row.replies, row.attempts, row.seq, row.created_at)


# The hot path's statements (every update goes through them), built once with bound parameters and run as
# Core statements on a connection: no ORM unit of work, no statement built per call.
TABLE = InboxEntry.__table__
# `status IN ('pending', 'handled')` written into the statement: a list given to `in_` becomes an "expanding"
# parameter, whose SQL SQLAlchemy rewrites on every execution (≈40 µs of the hot path's statements each).
_UNFINISHED = TABLE.c.status.in_([literal_column(f"'{status}'") for status in UNFINISHED])
_ENTRY = (TABLE.c.id, TABLE.c.chat_key, TABLE.c.payload, TABLE.c.replies, TABLE.c.attempts, TABLE.c.seq,
          TABLE.c.created_at)
_NEXT = (
    select(*_ENTRY)
    .where(TABLE.c.channel == bindparam("e_channel"), TABLE.c.chat_key == bindparam("e_chat"),
           _UNFINISHED)
    .order_by(TABLE.c.seq, TABLE.c.id)
    .limit(2)  # the first, and whether another follows
)


def _next_counted(dialect: str) -> Select[Any]:
    """`_NEXT` with, for each row, how many of the chat's entries up to it in the chat's order (a polling batch
    is accepted all at one moment) were accepted within `e_window` before it, done ones too: one statement
    instead of two. The window's start is worked out by the database, in its own date arithmetic."""
    earlier = TABLE.alias("earlier")
    if dialect == "postgresql":
        since = TABLE.c.created_at - bindparam("e_window", type_=Interval())
    else:  # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which strftime reads and writes (to the ms)
        since = func.strftime("%Y-%m-%d %H:%M:%f", TABLE.c.created_at, bindparam("e_shift"))
    count = (
        select(func.count())
        .select_from(earlier)
        .where(
            earlier.c.channel == TABLE.c.channel,
            earlier.c.chat_key == TABLE.c.chat_key,
            earlier.c.created_at > since,
            earlier.c.created_at <= TABLE.c.created_at,
            earlier.c.seq <= TABLE.c.seq,
        )
        .scalar_subquery()
    )
    return _NEXT.add_columns(count.label("recent"))


_NEXT_COUNTED = {dialect: _next_counted(dialect) for dialect in ("postgresql", "sqlite")}


def _with_below(statement: Select[Any]) -> Select[Any]:
    """The look, also reading for each row the highest `seq` of the channel stored below the row's, in the look's
    own snapshot: is an entry of the channel just before it still missing? (Telegram numbers updates one after
    the other across all chats: when the highest stored id below `seq` is not `seq - 1`, an earlier update may
    still be on its way to another process.) Missing as well when nothing earlier is stored at all: the first
    updates an inbox ever stores come over several connections too, and the one with the lowest id may be
    stored last (the caller waits only within its reorder window; `prune` keeps each channel's newest entry,
    so an inbox emptied by pruning still knows where the ids stood)."""
    lower = TABLE.alias("lower")
    below = (select(func.max(lower.c.seq)).where(lower.c.channel == TABLE.c.channel, lower.c.seq < TABLE.c.seq)
             .scalar_subquery())
    return statement.add_columns(below.label("below"))


def _taking_turn(statement: Select[Any]) -> Select[Any]:
    """PostgreSQL: the look, taking the chat's turn first in the same statement (one round trip, not two): a
    `turn` row with whether `pg_try_advisory_lock` got it (a CTE with a volatile function: evaluated once), then
    the look's rows, if any. Only a chat with something unfinished is locked: a look that finds nothing (its
    update already handled by the turn's holder) has no turn to give back, one round trip fewer. The rows are as
    of the statement's snapshot, taken before the lock: what the previous holder finished just before letting
    go may still look unfinished (`look_at_chat` reads again when that could send replies twice)."""
    waiting = (select(TABLE.c.id)
               .where(TABLE.c.channel == bindparam("e_channel"), TABLE.c.chat_key == bindparam("e_chat"),
                      _UNFINISHED)
               .exists())
    mine = case((waiting, func.pg_try_advisory_lock(bindparam("e_key"))), else_=false())
    turn = select(mine.label("mine")).cte("turn")
    look = statement.subquery("look")
    return (select(turn.c.mine, *look.c).select_from(turn.outerjoin(look, true()))
            .order_by(look.c.seq, look.c.id))


def _with_chat_state(statement: Select[Any]) -> Select[Any]:
    """The look, also reading the chat's state (catalog/sessions.py: its row id, `FIELDS` and `updated_at`), for
    whoever takes the chat's turn to start from: with several processes behind a round-robin proxy a chat's
    messages reach each process in turn, and the copy of the chat's state a process kept from its last message
    there is stale by then (handled from it, the message would be done all over again once its write found the
    row changed; read apart, under the chat's lock, it would cost two more round trips)."""
    chats = ChatSession.__table__
    joined = statement.outerjoin(chats, and_(chats.c.channel == TABLE.c.channel, chats.c.chat_id == TABLE.c.chat_key))
    return joined.add_columns(*(chats.c[name].label(f"cs_{name}") for name in CHAT_COLUMNS))


CHAT_COLUMNS = ("id", *sessions.FIELDS, "updated_at")  # the chat state's columns a look reads (`Look.chat`)
_LOOKS: dict[tuple[str, bool, bool, bool, bool], Select[Any]] = {}


async def _rows(conn: AsyncConnection | Turn, statement: Any, params: dict[str, Any], direct: bool) -> list[Any]:
    """The statement's rows: through the driver directly (`Prebuilt`, built once per statement) or SQLAlchemy."""
    if not direct:
        assert isinstance(conn, AsyncConnection)
        return list((await conn.execute(statement, params)).all())
    return await prebuilt(statement).rows(conn, params)


def _look(dialect: str, *, counted: bool, gaps: bool, turn: bool, chat: bool = False) -> Select[Any]:
    """The look at a chat's next entries, built once per variant: with the flood count (`_next_counted`), with
    the gap check of a process whose updates may arrive out of order (webhooks; `_with_below`), with the chat's
    state (`_with_chat_state`), taking the turn."""
    key = (dialect, counted, gaps, turn, chat)
    statement = _LOOKS.get(key)
    if statement is None:
        statement = _NEXT_COUNTED[dialect] if counted else _NEXT
        if gaps:
            statement = _with_below(statement)
        if chat:
            statement = _with_chat_state(statement)
        if turn:
            statement = _taking_turn(statement)
        _LOOKS[key] = statement
    return statement
_MARK_HANDLED = (
    update(TABLE)
    .where(TABLE.c.id == bindparam("e_id"), TABLE.c.status == "pending")
    .values(status="handled", replies=bindparam("e_replies", type_=TABLE.c.replies.type),
            updated_at=bindparam("e_now", type_=TABLE.c.updated_at.type))
)
_MARK_HANDLED_LAZILY = _MARK_HANDLED.returning(
    func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true())
)
# every entry whose replies went out with the same note, in one statement (`e_ids`), or the one entry (`e_id`: no
# expanding parameter to rewrite, one at a time the usual case); on PostgreSQL the ids as one array (`_MARK_DONE_PG`),
# so that the statement's text, prepared once per connection, is the same whatever their number (an IN list of n ids
# is a statement of its own for each n)
_MARK_DONE, _MARK_ONE_DONE, _MARK_DONE_PG = (
    update(TABLE)
    .where(which, _UNFINISHED)
    .values(status="done", payload=bindparam("e_blank", type_=TABLE.c.payload.type), replies=None,
            last_error=bindparam("e_error"), updated_at=bindparam("e_now", type_=TABLE.c.updated_at.type))
    for which in (TABLE.c.id.in_(bindparam("e_ids", expanding=True)), TABLE.c.id == bindparam("e_id"),
                  TABLE.c.id == any_(bindparam("e_ids", type_=ARRAY(TABLE.c.id.type))))
)
# the same on PostgreSQL, turning the commit asynchronous from its RETURNING (SET LOCAL synchronous_commit = off)
_MARK_DONE_LAZILY, _MARK_ONE_DONE_LAZILY = (
    statement.returning(func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true()))
    for statement in (_MARK_DONE_PG, _MARK_ONE_DONE)
)


# SQLite, run through the driver (catalog/db.py's Prebuilt): the handled mark tells by its RETURNING row whether it
# changed the entry; the done mark of one entry
_MARK_HANDLED_SQLITE = Prebuilt(_MARK_HANDLED.returning(literal_column("1")))
_MARK_ONE_DONE_SQLITE = Prebuilt(_MARK_ONE_DONE)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


def pid_alive(pid: int) -> bool:
    """Is a process of this host with this id running (someone else's live process counts)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(owner: str, live_owners: set[str]) -> bool:
    """True when the process named by `owner` (on this host) is no longer running or no longer owns it."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if not owner:
        return True
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another host: its lease runs out on its own
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in live_owners
    return not pid_alive(pid)


# PostgreSQL: a batch of updates accepted by one statement of fixed text (the rows as arrays, unnested)
_ACCEPT_MANY = text(
    "INSERT INTO inbox (channel, key, chat_key, seq, payload, status, attempts, owner, replies, last_error,"
    " created_at, updated_at)"
    " SELECT :a_channel, u.key, u.chat_key, u.seq, u.payload, 'pending', 1, :a_owner, NULL, '', :a_now, :a_now"
    " FROM unnest(:a_keys, :a_chats, :a_seqs, :a_payloads) AS u (key, chat_key, seq, payload)"
    " ON CONFLICT (channel, key) DO NOTHING RETURNING id, key"
).bindparams(
    bindparam("a_channel", type_=TABLE.c.channel.type),
    bindparam("a_owner", type_=TABLE.c.owner.type),
    bindparam("a_now", type_=TABLE.c.created_at.type),
    bindparam("a_keys", type_=ARRAY(TABLE.c.key.type)),
    bindparam("a_chats", type_=ARRAY(TABLE.c.chat_key.type)),
    bindparam("a_seqs", type_=ARRAY(TABLE.c.seq.type)),
    bindparam("a_payloads", type_=ARRAY(TABLE.c.payload.type)),
).columns(TABLE.c.id, TABLE.c.key)


Done = tuple[int, str]  # an entry whose replies went out, and the note of what could not be sent ("" if none)


async def _mark_done_many(conn: AsyncConnection | Turn, done: Sequence[Done], *, lazily: bool = False) -> None:
    """One UPDATE per distinct note (normally one); `lazily` (PostgreSQL): the commit will not wait for the WAL
    flush when the UPDATE changed a row. On a `Turn` of PostgreSQL (a chat's turn, bot/inbox.py) through the driver,
    each UPDATE committed by itself."""
    now = utcnow()
    by_error: dict[str, list[int]] = {}
    for entry_id, error in done:
        by_error.setdefault(error[:1000], []).append(entry_id)
    sqlite = conn.dialect.name == "sqlite"
    for error, ids in by_error.items():
        params: dict[str, Any] = {"e_error": error, "e_now": now, "e_blank": {}}
        if sqlite:  # one statement of one text per entry, through the driver (a few µs each; Prebuilt)
            for entry_id in ids:
                await _MARK_ONE_DONE_SQLITE.rows(conn, {**params, "e_id": entry_id})
            continue
        if len(ids) == 1:
            params["e_id"] = ids[0]
            statement = _MARK_ONE_DONE_LAZILY if lazily else _MARK_ONE_DONE
        else:
            params["e_ids"] = ids
            postgresql = conn.dialect.name == "postgresql"
            statement = _MARK_DONE_LAZILY if lazily else _MARK_DONE_PG if postgresql else _MARK_DONE
        if isinstance(conn, Turn):
            await prebuilt(statement).rows(conn, params)
        elif lazily:
            (await conn.execute(statement, params)).all()
        else:
            await conn.execute(statement, params)


# SQLite: INSERT … ON CONFLICT (channel, key) DO NOTHING RETURNING id, key (a row already stored is skipped), the rows
# given as parameters
_ACCEPT_SQLITE = (
    sqlite_insert(TABLE).on_conflict_do_nothing(index_elements=["channel", "key"]).returning(TABLE.c.id, TABLE.c.key)
)


async def accept(
    db: Database,
    channel: str,
    items: Sequence[tuple[str, str, dict[str, Any], int]],
    owner: str,
) -> list[Accepted]:
    """Store (key, chat_key, payload, seq) items in one transaction; returns the ones not seen before, in order.

    A key already in the inbox (a redelivery after a crash, Zalo's retry) is skipped, whatever its status.
    """
    if not items:
        return []
    now = utcnow()
    rows = [
        {
            "channel": channel,
            "key": key[:128],
            "chat_key": chat_key[:64],
            "payload": payload,
            "status": "pending",
            "attempts": 1,
            "owner": owner,
            "replies": None,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
            "seq": seq,
        }
        for key, chat_key, payload, seq in items
    ]
    if db.dialect == "postgresql":
        # One statement whose text is the same whatever the batch's size (SQLAlchemy's multi-row INSERTs have a text
        # for each batch size, and asyncpg prepares each text again on each pooled connection: with several workers,
        # smaller batches of every size), run in autocommit: one round trip instead of BEGIN, INSERT, COMMIT, and as
        # durable (a single statement is all or nothing, and its commit waits for the WAL flush before it returns).
        params = {
            "a_channel": channel, "a_owner": owner, "a_now": now,
            "a_keys": [row["key"] for row in rows], "a_chats": [row["chat_key"] for row in rows],
            "a_seqs": [row["seq"] for row in rows], "a_payloads": [row["payload"] for row in rows],
        }
        if db.lean_turns:
            # asyncpg: on the driver of a pooled connection (a `Turn` that opens no session), outside any transaction,
            # as a turn's statements go (`Prebuilt`): a commit of one update cost ≈0.43 ms of the process's CPU
            # through SQLAlchemy's connection, its execution and its shielded close, ≈0.28 ms so (a loop of accepts on
            # the 2-core VM). Every webhook commit pays it (the posts arriving during one share the next), and
            # with several workers each one's commits carry fewer posts: 0.06 commits per update with one worker,
            # 0.45 with four (issue 15's workers bar).
            async with db.turn() as turn:
                found = await prebuilt(_ACCEPT_MANY).rows(turn, params)
            inserted = {row.key: row.id for row in found}
        else:
            async with db.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                result = await conn.execute(_ACCEPT_MANY, params)
                inserted = {key: entry_id for entry_id, key in result.all()}
    else:
        async with db.engine.begin() as conn:
            # The rows as parameters of one statement built once (SQLAlchemy sends them as multi-row INSERTs,
            # "insertmany values"), not written into the statement: a statement with N rows written in is compiled
            # anew for every batch size, ≈0.3 ms a row the first time (a webhook's batches come in every size).
            result = await conn.execute(_ACCEPT_SQLITE, rows)
            inserted = {key: entry_id for entry_id, key in result.all()}
    by_key: dict[str, dict[str, Any]] = {}
    for row in rows:  # a key twice in one batch: the first one is stored
        by_key.setdefault(row["key"], row)
    return [
        Accepted(
            inserted[key],
            by_key[key]["chat_key"],
            by_key[key]["payload"],
            seq=by_key[key]["seq"],
            created_at=now,
        )
        for key in dict.fromkeys(row["key"] for row in rows)
        if key in inserted
    ]


class AlreadyHandled(Exception):
    """Another process handled this entry meanwhile (it took it over): this transaction must not commit."""


async def mark_handled(session: AsyncSession | Turn, entry_id: int, replies: list[Any]) -> None:
    """In the handler's transaction: the entry is handled and these replies are owed. Raises AlreadyHandled
    (rolling the handler's changes back) when it is no longer pending, so its effects happen once.

    On PostgreSQL, when the transaction has written nothing but chat state, it commits without waiting for
    the WAL flush (the UPDATE's RETURNING sets it): a crash of the database server may then lose the last
    ~0.2-0.6 s of handled marks with their chat state, and those updates, accepted synchronously, are handled
    again after the restart (their replies possibly sent twice; never lost). A transaction that wrote a lead,
    an outbox entry, a staff action or anything else keeps the synchronous commit (catalog/db.py)."""
    if isinstance(session, Turn):
        session = session.hot()
    conn = await session_connection(session)  # the session's own, in its transaction (no ORM flush needed)
    pending = await sessions.pending_write(session, mark=True) if conn.dialect.name == "postgresql" else None
    if pending is not None:
        # PostgreSQL: written at the session's end with the chat state's changes, as one statement (the commit lazy
        # when nothing but chat state was written); AlreadyHandled is raised there (`sessions.PendingWrite`)
        pending.entry_id, pending.replies, pending.entry_now = entry_id, replies, utcnow()
        pending.entry_gone = AlreadyHandled
        return
    params = {"e_id": entry_id, "e_replies": replies, "e_now": utcnow()}
    if conn.dialect.name == "postgresql" and writes_only_chat_state(conn):
        if len((await conn.execute(_MARK_HANDLED_LAZILY, params)).all()) != 1:
            raise AlreadyHandled(entry_id)
        lazy_commit_set(conn, also_written=TABLE.name)
        return
    if conn.dialect.name == "sqlite":  # through the driver, in its implicit transaction (catalog/db.py's Prebuilt)
        if len(await _MARK_HANDLED_SQLITE.rows(conn, params)) != 1:
            raise AlreadyHandled(entry_id)
        return
    result = await conn.execute(_MARK_HANDLED, params)
    if result.rowcount != 1:
        raise AlreadyHandled(entry_id)


async def write_done(session: AsyncSession | Turn, done: Sequence[Done]) -> None:
    """`mark_done_many` in the caller's transaction (a handler's, which commits anyway)."""
    if done:
        await _mark_done_many(await session_connection(session), done)


async def mark_done(db: Database, entry_id: int, error: str = "") -> None:
    """The replies went out (or there was nobody to send them to): forget the content, keep the key."""
    await mark_done_many(db, [(entry_id, error)])


async def mark_done_many(db: Database, done: Sequence[Done]) -> None:
    """`mark_done` for several entries, in one transaction."""
    if done:
        async with db.engine.begin() as conn:
            await _mark_done_many(conn, done)


async def record_failure(db: Database, entry_id: int, error: str, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Count a failed attempt; returns True when the entry is now parked (tried `max_attempts` times)."""
    async with db.session() as session:
        entry = await session.get(InboxEntry, entry_id, populate_existing=True)
        if entry is None or entry.status not in UNFINISHED:
            return True
        entry.last_error = error[:1000]
        entry.updated_at = utcnow()
        if entry.attempts >= max_attempts:
            entry.status = "parked"
            return True
        entry.attempts += 1
        return False


async def park(db: Database, entry_id: int, error: str) -> None:
    """Set aside at once (an update that cannot even be read): kept, counted, never retried."""
    async with db.session() as session:
        await session.execute(
            update(InboxEntry)
            .where(InboxEntry.id == entry_id, InboxEntry.status.in_(UNFINISHED))
            .values(status="parked", last_error=error[:1000], updated_at=utcnow())
        )


async def reload(db: Database, entry: Accepted) -> Accepted | None:
    """The entry as stored now; None once it is no longer unfinished."""
    async with db.session() as session:
        row = await session.get(InboxEntry, entry.id, populate_existing=True)
        if row is None or row.status not in UNFINISHED:
            return None
        return _accepted(row)


async def take_over(db: Database, channel: str, owner: str, live_owners: set[str]) -> list[Accepted]:
    """Unfinished entries of `channel` whose process is gone (or silent past the lease): now ours, in order.

    Each is claimed with a conditional UPDATE, so of two processes starting at once only one takes it;
    a pending entry's attempt is counted now, so one that kills the process every time ends up parked.
    """
    taken: list[Accepted] = []
    stale = utcnow() - LEASE
    async with db.session() as session:
        rows = (
            await session.execute(
                select(
                    InboxEntry.id,
                    InboxEntry.owner,
                    InboxEntry.status,
                    InboxEntry.attempts,
                    InboxEntry.updated_at,
                )
                .where(InboxEntry.channel == channel, InboxEntry.status.in_(UNFINISHED))
                .order_by(InboxEntry.id)
            )
        ).all()
    for entry_id, old_owner, status, attempts, updated_at in rows:
        if old_owner == owner or not (owner_gone(old_owner, live_owners) or updated_at < stale):
            continue
        parked = status == "pending" and attempts >= MAX_ATTEMPTS
        async with db.session() as session:
            result = await session.execute(
                update(InboxEntry)
                .where(
                    InboxEntry.id == entry_id,
                    InboxEntry.owner == old_owner,
                    InboxEntry.status == status,
                    InboxEntry.attempts == attempts,
                )
                .values(
                    owner=owner,
                    updated_at=utcnow(),
                    attempts=attempts + (1 if status == "pending" and not parked else 0),
                    status="parked" if parked else status,
                    last_error="the process handling it stopped" if parked else InboxEntry.last_error,
                )
            )
            if result.rowcount != 1 or parked:
                continue
            entry = await session.get(InboxEntry, entry_id, populate_existing=True)
            if entry is not None:
                taken.append(_accepted(entry))
    return taken


async def prune(db: Database, channel: str, older_than: dt.timedelta) -> int:
    """Delete done entries older than `older_than` (their keys only guard against redeliveries), except the
    channel's newest: it tells a look's gap check (`_with_below`) where the update ids stood after a quiet spell."""
    newest = select(func.max(InboxEntry.seq)).where(InboxEntry.channel == channel).scalar_subquery()
    async with db.session() as session:
        result = await session.execute(
            delete(InboxEntry).where(
                InboxEntry.channel == channel,
                InboxEntry.status == "done",
                InboxEntry.created_at < utcnow() - older_than,
                InboxEntry.seq < newest,
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def summary(db: Database) -> dict[str, dict[str, int]]:
    """{channel: {status: count}} for `ocop-bot doctor`."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(InboxEntry.channel, InboxEntry.status, func.count()).group_by(
                    InboxEntry.channel, InboxEntry.status
                )
            )
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        counts.setdefault(channel, {})[status] = int(count)
    return counts


async def parked(db: Database, limit: int = 50) -> list[InboxEntry]:
    async with db.session() as session:
        return list(
            (
                await session.scalars(
                    select(InboxEntry)
                    .where(InboxEntry.status == "parked")
                    .order_by(InboxEntry.id.desc())
                    .limit(limit)
                )
            ).all()
        )


async def hold_lease(db: Database, name: str, owner: str, live_owners: set[str], seconds: float) -> str:
    """Take or renew the lease `name` for `seconds`; returns "" when held, else the owner that holds it.

    A lease whose time ran out, or whose owner process on this host is gone, is taken over.
    """
    now = utcnow()
    until = now + dt.timedelta(seconds=seconds)
    async with db.session() as session:
        lease = await session.get(ProcessLease, name, populate_existing=True, with_for_update=True)
        if lease is None:
            try:
                async with session.begin_nested():
                    session.add(ProcessLease(name=name, owner=owner, expires_at=until))
                return ""
            except IntegrityError:
                lease = await session.get(ProcessLease, name, populate_existing=True, with_for_update=True)
                assert lease is not None
        if lease.owner == owner or lease.expires_at < now or owner_gone(lease.owner, live_owners):
            lease.owner, lease.expires_at = owner, until
            return ""
        return lease.owner


async def release_lease(db: Database, name: str, owner: str) -> None:
    async with db.session() as session:
        await session.execute(
            delete(ProcessLease).where(ProcessLease.name == name, ProcessLease.owner == owner)
        )


# ------------------------------------------------------------------------------------------ a chat's order


class Look(NamedTuple):
    """What a look at a chat found: its first unfinished entry (or None), how many of the chat's entries were
    accepted in the `recent` time before it, whether another unfinished entry follows it, and (asked with
    `gaps`) whether an update just before the first one is still missing from the channel (`_with_below`,
    seen in the same snapshot as the entry itself), and (asked with `turn`) whether it took the chat's turn."""

    entry: Accepted | None
    count: int
    more: bool
    gap: bool = False
    mine: bool = True  # (asked with `turn`) whether this look took the chat's turn (not tried when nothing was unfinished)
    with_chat: bool = False  # asked with `chat` and an entry found: `chat` is the chat state's row as read
    chat: tuple[Any, ...] | None = None  # the chat state's CHAT_COLUMNS (None: no row yet)


async def next_for_chat(
    db: Database,
    channel: str,
    chat_key: str,
    recent: dt.timedelta | None = None,
    *,
    done: Sequence[Done] = (),
    conn: AsyncConnection | None = None,
) -> tuple[Accepted | None, int]:
    """The chat's unfinished entry that comes first (lowest `seq`, then the order of acceptance), or None;
    with `recent`, also how many entries of the chat, up to this one, were accepted in that time before it
    (done ones too). `done` (entries whose replies went out) are marked done first, in the same transaction;
    `conn`: a connection to run on (outside a transaction; committed here), else one from the pool."""
    found = await look_at_chat(db, channel, chat_key, recent, done=done, conn=conn)
    return found.entry, found.count


async def look_at_chat(
    db: Database,
    channel: str,
    chat_key: str,
    recent: dt.timedelta | None = None,
    *,
    done: Sequence[Done] = (),
    conn: AsyncConnection | Turn | None = None,
    gaps: bool = False,
    turn: bool = False,
    chat: bool = False,
    held: bool = False,
) -> Look:
    """`next_for_chat`, also telling whether another unfinished entry of the chat follows the first (the same
    statement reads up to two rows): when none does, whoever handles the first need not look again. `gaps`:
    also whether the first entry's predecessor in the channel is missing (`Look.gap`), in the same statement.
    `turn` (PostgreSQL, `conn` given): the same statement first tries to take the chat's turn (a session-level
    advisory lock, `pg_try_advisory_lock`: it outlives transactions and ends with the connection, so a killed
    process frees it; `Look.mine`), which the caller must give back (`end_chat_turn`) when it got it. `chat`:
    also the chat's state as stored (`Look.chat`), for the router's cache of chat states (`ChatCache.refresh`).
    `held` (PostgreSQL, `conn` given): `conn` holds the chat's turn already (a look again after a short wait): the
    look does not take it again (a session-level lock taken twice must be given back twice), reads in a snapshot
    taken under it, and runs through the driver as a turn's look does. `conn` may be a lean `Turn` of PostgreSQL
    (`Database.turn`, as bot/inbox.py holds a chat's turn): its statements go to its driver connection, each committed
    by itself; nothing of SQLAlchemy's to commit or roll back."""
    if conn is None:
        if db.dialect != "sqlite":
            async with db.engine.connect() as own:
                return await look_at_chat(db, channel, chat_key, recent, done=done, conn=own, gaps=gaps, chat=chat)
        # SQLite's driver runs on this thread, so handing the connection back cannot be cut short halfway: no task
        # of its own for that (SQLAlchemy's `async with` spends one, and a loop turn, on every look)
        own = await db.engine.connect()
        try:
            return await look_at_chat(db, channel, chat_key, recent, done=done, conn=own, gaps=gaps, chat=chat)
        finally:
            await own.close()
    dialect = "postgresql" if db.dialect == "postgresql" else "sqlite"
    look = {"gaps": gaps, "turn": turn, "chat": chat, "held": held}
    if isinstance(conn, Turn):  # (its statements commit by themselves: nothing of SQLAlchemy's to end)
        mine, rows = await _look_rows(conn, dialect, channel, chat_key, recent, done, **look)
    else:
        try:
            mine, rows = await _look_rows(conn, dialect, channel, chat_key, recent, done, **look)
            if conn.in_transaction():  # (not after statements on the driver directly: nothing of SQLAlchemy's to end)
                await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
    row = rows[0] if rows else None
    count = int(row.recent or 0) if row is not None and recent is not None else 0
    gap = gaps and row is not None and row.below != row.seq - 1
    with_chat = chat and row is not None
    state = None
    if with_chat and row.cs_id is not None:
        state = tuple(getattr(row, f"cs_{name}") for name in CHAT_COLUMNS)
    return Look(_accepted(row) if row is not None else None, count, len(rows) > 1, gap, mine, with_chat, state)


async def _look_rows(
    conn: AsyncConnection | Turn,
    dialect: str,
    channel: str,
    chat_key: str,
    recent: dt.timedelta | None,
    done: Sequence[Done],
    *,
    gaps: bool,
    turn: bool,
    chat: bool,
    held: bool,
) -> tuple[bool, list[Any]]:
    """`look_at_chat`'s statements: `done` marked first, then the look; whether it took the chat's turn, and the
    chat's entries found (up to two)."""
    if done:
        await _mark_done_many(conn, done)
    params: dict[str, Any] = {"e_channel": channel, "e_chat": chat_key}
    if turn:
        params["e_key"] = chat_turn_key(channel, chat_key)
    if recent is not None:
        if dialect == "postgresql":
            params["e_window"] = recent
        else:
            params["e_shift"] = f"-{recent.total_seconds():.3f} seconds"
    # through the driver directly (`Prebuilt`): on SQLite, and on PostgreSQL the turn's connection, in autocommit
    direct = dialect == "sqlite" or turn or held or isinstance(conn, Turn)
    statement = _look(dialect, counted=recent is not None, gaps=gaps, turn=turn, chat=chat)
    rows = await _rows(conn, statement, params, direct)
    mine = bool(rows[0].mine) if turn else True
    if turn:
        rows = [r for r in rows if r.id is not None]  # (the turn's row alone: the chat has nothing waiting)
        if mine and rows and rows[0].replies is not None:
            # Replies owed, as of the statement's snapshot, which it took before it got the turn: the holder
            # before may have sent them, marked the entry done and let go in between. Read again under the
            # turn (rare: owed replies are left only by a process that stopped). A pending entry read so
            # needs no second read: its handling cannot commit twice (`mark_handled` is conditional).
            again = _look(dialect, counted=recent is not None, gaps=gaps, turn=False, chat=chat)
            rows = await _rows(conn, again, params, direct)
    return mine, rows


def chat_turn_key(channel: str, chat_key: str) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for "whose turn it is to handle this chat" (another key
    than the router's per-message lock, which the holder of this one takes inside it)."""
    digest = hashlib.blake2b(f"turn:{channel}:{chat_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def end_chat_turn(conn: AsyncConnection | Turn, channel: str, chat_key: str, done: Sequence[Done] = ()) -> None:
    """Give the chat's turn back; `done` entries (their replies went out) are marked done first and committed
    (the unlock takes effect at once, not at the commit), so whoever takes the turn next never sees them
    unfinished. `conn`: the connection that took the turn (a lean `Turn` on asyncpg, as bot/inbox.py holds it, or
    a SQLAlchemy connection in autocommit). When this raises, whether the turn was given back is not known: the
    caller closes the connection (the lock ends with it) rather than hand it back to the pool."""
    key = chat_turn_key(channel, chat_key)
    lean = isinstance(conn, Turn)
    driver = conn.driver if lean else await driver_connection(conn)
    asyncpg = callable(getattr(driver, "fetchval", None))
    in_transaction = False if lean else conn.in_transaction()  # type: ignore[union-attr]
    if done and asyncpg and not in_transaction and not any(error for _, error in done):
        # One round trip instead of two (the marks, then the unlock): asyncpg sends a query without parameters as
        # PostgreSQL's simple query, whose statements run in order; the marks' transaction (COMMIT without waiting
        # for the WAL flush, as below) is visible before the unlock. Only numbers are written into the text.
        ids = ", ".join(str(int(entry_id)) for entry_id, _ in done)
        await driver.execute(_END_TURN_SQL.format(ids=ids, key=int(key)))  # type: ignore[union-attr]
        return
    if done:
        # Without waiting for the WAL flush: a crash of the database server may lose the last of these marks,
        # and those entries' replies are sent again when their process restarts (a duplicate, never a loss).
        # The UPDATE's RETURNING turns the commit asynchronous (SET LOCAL), without a statement of its own.
        await _mark_done_many(conn, done, lazily=True)
        if not lean:  # (a lean turn's UPDATEs committed by themselves)
            await conn.commit()  # type: ignore[union-attr]
    if asyncpg and (lean or not conn.in_transaction()):  # type: ignore[union-attr]
        # asyncpg: the unlock alone, outside a transaction: one round trip instead of BEGIN, SELECT, COMMIT
        await driver.fetchval(_UNLOCK_SQL, key)  # type: ignore[union-attr]
    else:
        assert isinstance(conn, AsyncConnection)
        await conn.scalar(_UNLOCK, {"key": key})
        await conn.commit()


_UNLOCK_SQL = "SELECT pg_advisory_unlock($1)"
# The end of a chat's turn as one simple query: `_MARK_DONE`'s marks for entries sent without a note (the same
# columns and values, the same unfinished statuses), committed without waiting for the WAL flush, then the unlock.
# The statements of one simple query share an implicit transaction, which the COMMIT ends before the unlock runs;
# the UPDATE's RETURNING turns that commit asynchronous (SET LOCAL) without a BEGIN or a SET statement of its own.
_END_TURN_SQL = (
    "UPDATE {table} SET status = 'done', payload = '{{{{}}}}', replies = NULL, last_error = '',"
    " updated_at = timezone('utc', now()) WHERE id IN ({{ids}}) AND status IN ({unfinished})"
    " RETURNING set_config('synchronous_commit', 'off', true); COMMIT; SELECT pg_advisory_unlock({{key}})"
).format(table=TABLE.name, unfinished=", ".join(f"'{status}'" for status in UNFINISHED))
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


async def claim_once(db: Database, name: str, owner: str, period: dt.timedelta) -> bool:
    """True for the first caller, in any process, in each `period` (a row in `process_leases` named `name`,
    valid until the period ends): for notices that must be sent once, whatever restarts or processes."""
    now = utcnow()
    async with db.session() as session:
        row = await session.get(ProcessLease, name[:100], populate_existing=True, with_for_update=True)
        if row is None:
            try:
                async with session.begin_nested():
                    session.add(ProcessLease(name=name[:100], owner=owner, expires_at=now + period))
                return True
            except IntegrityError:
                return False  # another process claimed it at the same moment
        if row.expires_at > now:
            return False
        row.owner, row.expires_at = owner, now + period
        return True
