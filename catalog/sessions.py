"""Per-chat state kept in the database (language, last results, menu position, half-filled form).

Every message reads its chat's row and most write it back, so this is the hottest database path. It
uses two Core statements (a SELECT, and an UPDATE of just the columns that changed), built once with
bound parameters, on a plain object instead of an ORM instance. Measured per message on the in-loop SQLite
driver: ORM load + flush 0.81 ms; Core statements built per call 0.62 ms; prebuilt 0.32–0.38 ms.

Handlers change a field by assigning it (`chat.state = {...}`); a value changed in place is not noticed,
just as with the ORM's JSON columns.

The router keeps what it last committed of each chat (`ChatCache`) and starts from it without reading the
row (or, on PostgreSQL, taking the chat's lock); the write then checks that nobody changed the row since
(`UPDATE … WHERE updated_at = <as cached>`, or a SELECT of `updated_at` when nothing changed), and a
mismatch (`StaleChat`: another process or tool wrote the chat meanwhile) rolls the whole message back for
the router to do it again from the row, under the lock; on PostgreSQL so does a message that wrote anything
besides chat state (a lead, a staff action), which is always done under the lock (on SQLite, one process
writes at a time and the write lock is held from a transaction's first write to its commit, so the stamp
check alone suffices). On PostgreSQL the write waits for the end of the message's session (`PendingWrite`), where it
goes with the inbox's handled mark as one statement, in autocommit when nothing else went through the session: a
message that changes only chat state is one round trip (its RETURNING also turns the commit asynchronous); on
SQLite one statement less than with a read.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Update, bindparam, exists, func, insert, literal_column, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import (
    PENDING_WRITE,
    Turn,
    driver_connection,
    in_driver_transaction,
    lazy_commit_set,
    may_defer,
    note_written,
    prebuilt,
    session_connection,
    writes_only_chat_state,
)
from catalog.models import ChatSession, InboxEntry, utcnow

TABLE = ChatSession.__table__
FIELDS = ("language", "last_results", "state", "form", "form_updated_at")
_SELECT = select(TABLE.c.id, *(TABLE.c[name] for name in FIELDS), TABLE.c.updated_at).where(
    TABLE.c.channel == bindparam("channel"), TABLE.c.chat_id == bindparam("chat_id")
)
_LAZY = func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true())
_STAMP = select(TABLE.c.updated_at).where(TABLE.c.id == bindparam("row_id"))
# one prebuilt UPDATE per set of changed fields, checked against a cached stamp or not, lazy or not
_UPDATES: dict[tuple[tuple[str, ...], bool, bool], Update] = {}


def _update(names: tuple[str, ...], *, checked: bool = False, lazy: bool = False) -> Update:
    statement = _UPDATES.get((names, checked, lazy))
    if statement is None:
        values = {name: bindparam(f"new_{name}", type_=TABLE.c[name].type) for name in (*names, "updated_at")}
        statement = update(TABLE).where(TABLE.c.id == bindparam("row_id")).values(values)
        if checked:
            statement = statement.where(TABLE.c.updated_at == bindparam("stamp", type_=TABLE.c.updated_at.type))
        # RETURNING tells whether the row was there (and unchanged); `set_config(…, true)` is SET LOCAL.
        statement = statement.returning(_LAZY if lazy else literal_column("1"))
        _UPDATES[(names, checked, lazy)] = statement
    return statement


INBOX = InboxEntry.__table__
# one prebuilt statement per kind of end of a message (`PendingWrite`): which fields changed, whether the chat came
# from the cache (its stamp checked), whether an inbox entry is marked handled, whether the commit may be lazy
_ONE_WRITES: dict[tuple[tuple[str, ...], bool, bool, bool], Select[Any]] = {}


def _one_write(names: tuple[str, ...], *, checked: bool, mark: bool, lazy: bool) -> Select[Any]:
    """The chat state's UPDATE and the inbox entry's handled mark as one statement, both or neither.

    A CTE `gate` locks the rows the message's writes depend on (`FOR UPDATE`; under READ COMMITTED a row changed
    meanwhile is read again as committed): the inbox entry while still pending, the chat's row while its stamp is the
    cached one. The UPDATEs (data-modifying CTEs, always run to completion) change a row only when the gate found
    them all, so one statement in autocommit is all or nothing without a transaction of its own around it. The
    result: whether the gate passed (`ok`), the entry's status (to tell "handled elsewhere" from a stale chat) and,
    when `lazy`, the commit turned asynchronous (`set_config(…, true)` is SET LOCAL, for this statement's own
    implicit transaction too)."""
    key = (names, checked, mark, lazy)
    statement = _ONE_WRITES.get(key)
    if statement is not None:
        return statement
    froms, where = [], []
    if mark:
        froms.append(INBOX)
        where += [INBOX.c.id == bindparam("e_id"), INBOX.c.status == literal_column("'pending'")]
    if checked:
        froms.append(TABLE)
        where += [TABLE.c.id == bindparam("row_id"),
                  TABLE.c.updated_at == bindparam("stamp", type_=TABLE.c.updated_at.type)]
    # (both rows: a join on TRUE, which SQLAlchemy does not take for a forgotten join condition as it would a bare list)
    joined = froms[0].join(froms[1], true()) if len(froms) == 2 else froms[0]
    gate = select(literal_column("1").label("one")).select_from(joined).where(*where).with_for_update(of=froms)
    gate_cte = gate.cte("gate")
    passed = exists(select(gate_cte.c.one))
    ctes = [gate_cte]
    if names:
        values = {name: bindparam(f"new_{name}", type_=TABLE.c[name].type) for name in (*names, "updated_at")}
        ctes.append(update(TABLE).where(TABLE.c.id == bindparam("row_id"), passed).values(values)
                    .returning(TABLE.c.id).cte("chat_write"))
    if mark:
        ctes.append(update(INBOX).where(INBOX.c.id == bindparam("e_id"), passed)
                    .values(status="handled", replies=bindparam("e_replies", type_=INBOX.c.replies.type),
                            updated_at=bindparam("e_now", type_=INBOX.c.updated_at.type))
                    .returning(INBOX.c.id).cte("handled_mark"))
    columns = [select(func.count()).select_from(gate_cte).scalar_subquery().label("ok")]
    if mark:
        columns.append(select(INBOX.c.status).where(INBOX.c.id == bindparam("e_id")).scalar_subquery().label("status"))
    if lazy:
        columns.append(_LAZY.label("lazy"))
    statement = _ONE_WRITES[key] = select(*columns).add_cte(*ctes)
    return statement


@dataclass(slots=True)
class PendingWrite:
    """What a message leaves to the end of its session (PostgreSQL, `Database.session`): the chat state's changes
    (`save_chat`) and its inbox entry's handled mark (`catalog/inbox.py`'s `mark_handled`), written as one statement
    (`_one_write`) just before the commit. When nothing else went through the session, that statement runs on the
    driver in autocommit, and the message's whole transaction is one round trip (instead of BEGIN, UPDATE, UPDATE,
    COMMIT); otherwise it runs inside the transaction, one statement instead of two."""

    chat: ChatState | None = None
    changed: dict[str, Any] = field(default_factory=dict)
    checked: bool = False  # the chat came from the cache: its row's stamp is checked
    stamp: dt.datetime | None = None
    now: dt.datetime | None = None
    entry_id: int | None = None
    replies: list[Any] | None = None
    entry_now: dt.datetime | None = None
    entry_gone: type[Exception] = Exception  # raised when the entry is no longer pending (the inbox's AlreadyHandled)

    async def write(self, session: AsyncSession | Turn) -> None:
        """Raises StaleChat (the chat's row changed since it was cached) or `entry_gone` (`catalog.inbox.AlreadyHandled`:
        the entry is no longer pending); then nothing of it is written. The commit is lazy when nothing but chat state
        and the handled mark is written; the ORM's pending changes (a lead, the Zalo channel's record of the event) are
        flushed after this statement, at the commit, as they would have been without it."""
        if isinstance(session, Turn):  # a lean turn (catalog/db.py): nothing else went through it, no ORM changes
            orm_changes, conn = False, session
        else:
            orm_changes = bool(session.new or session.dirty or session.deleted)
            conn = await session.connection()
        # (what was written before the chat's save was checked there: a cached chat with a lead is done under the lock)
        lazy = writes_only_chat_state(conn) and not orm_changes
        mark = self.entry_id is not None
        if mark or self.checked:
            statement = _one_write(tuple(self.changed), checked=self.checked, mark=mark, lazy=lazy)
        else:  # a chat read in this transaction, no mark: the plain UPDATE
            statement = _update(tuple(self.changed), lazy=lazy)
        in_transaction = not isinstance(conn, Turn) and in_driver_transaction(await driver_connection(conn))
        if orm_changes and not in_transaction:
            # through SQLAlchemy, which begins the transaction the ORM's changes will join (and notes the write)
            rows = list((await conn.execute(statement, self._params())).all())  # type: ignore[union-attr]
        else:  # on the driver: alone, it commits by itself (one round trip); else inside the open transaction
            rows = await prebuilt(statement).rows(conn, self._params())
            if in_transaction:
                note_written(conn, TABLE.name)
        if mark or self.checked:
            row = rows[0]
            if not row.ok:
                if mark and row.status != "pending":
                    raise self.entry_gone(self.entry_id)
                raise StaleChat(self.chat.chat_id if self.chat is not None else "")
        elif not rows:
            raise StaleChat(self.chat.chat_id if self.chat is not None else "")
        if lazy and in_transaction:
            lazy_commit_set(conn)

    def _params(self) -> dict[str, Any]:
        params = {f"new_{name}": value for name, value in self.changed.items()}
        if self.chat is not None:
            params.update(new_updated_at=self.now, row_id=self.chat.id, stamp=self.stamp)
        if self.entry_id is not None:
            params.update(e_id=self.entry_id, e_replies=self.replies, e_now=self.entry_now)
        return params


async def pending_write(session: AsyncSession | Turn, *, chat: bool = False, mark: bool = False) -> PendingWrite | None:
    """The session's `PendingWrite` with room for a chat state's changes (`chat`) or a handled mark (`mark`), or None
    where writes cannot wait for the session's end. One already holding that part is written first (a second
    save of the chat in one session: the writes keep their order)."""
    if not may_defer(session):
        return None
    pending = session.info.get(PENDING_WRITE)
    if pending is not None and ((chat and pending.chat is not None) or (mark and pending.entry_id is not None)):
        del session.info[PENDING_WRITE]
        await pending.write(session)
        pending = None
    if pending is None:
        pending = session.info[PENDING_WRITE] = PendingWrite()
    return pending


class StaleChat(Exception):
    """The chat's row changed since this process cached it: the message must be done again from the row."""


def _copied(value: Any) -> Any:
    """A deep copy of a chat field's value: JSON (dicts, lists, strings, numbers) copied by hand, a third of
    `copy.deepcopy`'s time; anything else by `copy.deepcopy`."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if value is None or isinstance(value, str | int | float | dt.datetime):
        return value
    return copy.deepcopy(value)


class ChatCache:
    """What this process last committed or read of each chat's row (at most `size` chats, least recently
    used dropped): (row id, the fields' values, updated_at). Only the router uses it."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._rows: OrderedDict[tuple[str, str], tuple[int, tuple[Any, ...], dt.datetime | None]] = OrderedDict()

    def load(self, channel: str, chat_id: str) -> ChatState | None:
        """The chat as cached (its values copied: the cache keeps its own), not yet checked against the row."""
        key = (channel, chat_id)
        cached = self._rows.get(key)
        if cached is None:
            return None
        self._rows.move_to_end(key)
        row_id, values, stamp = cached
        chat = ChatState(row_id, channel, chat_id, *(_copied(value) for value in values))
        chat._loaded, chat._stamp, chat._checked = values, stamp, False
        chat.last_results = chat.last_results or []
        chat.state = chat.state or {}
        return chat

    def refresh(self, channel: str, chat_id: str, row: tuple[Any, ...] | None) -> None:
        """The chat's row as just read elsewhere (the look that took the chat's turn, catalog/inbox.py): its id,
        FIELDS and updated_at, or None when there is no row yet. The next message starts from it, without a read
        or the chat's lock; its write still checks the stamp (StaleChat when the row changed since)."""
        key = (channel, chat_id)
        if row is None:
            self._rows.pop(key, None)
            return
        self._rows[key] = (row[0], tuple(row[1:-1]), row[-1])
        self._rows.move_to_end(key)
        if len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def keep(self, chat: ChatState) -> None:
        """Once the message's transaction committed: the row as it now is."""
        key = (chat.channel, chat.chat_id)
        self._rows[key] = (chat.id, chat._loaded, chat._stamp)
        self._rows.move_to_end(key)
        if len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def drop(self, channel: str, chat_id: str) -> None:
        self._rows.pop((channel, chat_id), None)


@dataclass(eq=False, slots=True)
class ChatState:
    """One chat's row, as the handlers see it."""

    id: int
    channel: str
    chat_id: str
    language: str | None = None
    last_results: list[Any] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] | None = None
    form_updated_at: dt.datetime | None = None
    _loaded: tuple[Any, ...] = ()
    _stamp: dt.datetime | None = None  # the row's updated_at as read (or cached)
    _checked: bool = True  # read in this transaction (False: taken from the cache, checked when written)

    def changes(self) -> dict[str, Any]:
        """The fields assigned a different value since the row was read."""
        return {name: getattr(self, name) for name, before in zip(FIELDS, self._loaded, strict=True)
                if getattr(self, name) != before}


async def _read(session: AsyncSession, channel: str, chat_id: str) -> ChatState | None:
    row = (await session.execute(_SELECT, {"channel": channel, "chat_id": chat_id})).first()
    if row is None:
        return None
    values = tuple(row)[1:-1]
    chat = ChatState(row.id, channel, chat_id, *values)
    chat._loaded = values
    chat._stamp = row.updated_at
    chat.last_results = chat.last_results or []
    chat.state = chat.state or {}
    return chat


async def load_chat(session: AsyncSession, channel: str, chat_id: str, user_id: str = "") -> ChatState:
    """The chat's state, its row created on first contact (safe when two processes race to create it)."""
    chat = await _read(session, channel, chat_id)
    if chat is not None:
        return chat
    try:
        async with session.begin_nested():
            await session.execute(insert(TABLE).values(
                channel=channel, chat_id=chat_id, user_id=user_id, last_results=[], state={}, updated_at=utcnow()
            ))
    except IntegrityError:
        pass  # another process created it first: read theirs
    chat = await _read(session, channel, chat_id)
    assert chat is not None
    return chat


async def save_chat(session: AsyncSession | Turn, chat: ChatState, *, lazy: bool = False) -> None:
    """Write back what the handlers changed, in the message's transaction; nothing when nothing changed.

    A chat taken from the cache is checked against the row (StaleChat when another wrote it meanwhile).
    `lazy` (PostgreSQL, a transaction that may commit without waiting for the WAL flush): when nothing but
    chat state was written so far, the UPDATE itself turns the commit asynchronous (catalog/db.py)."""
    changed = chat.changes()
    checked = not chat._checked
    if not changed and not checked:
        return
    if isinstance(session, Turn):
        session = session.hot()
    conn = await session_connection(session)
    if checked and not writes_only_chat_state(conn):
        # A message that wrote more than chat state (a lead, a staff action) is done under the chat's lock, as
        # without the cache: from the row, one message of the chat at a time.
        raise StaleChat(chat.chat_id)
    pending = await pending_write(session, chat=True) if conn.dialect.name == "postgresql" else None
    if pending is not None:
        # PostgreSQL: written at the session's end, with the inbox's handled mark when there is one (`PendingWrite`)
        pending.chat, pending.changed, pending.checked = chat, changed, checked
        pending.stamp, pending.now = chat._stamp, utcnow()
        if changed:
            chat._loaded = tuple(getattr(chat, name) for name in FIELDS)
            chat._stamp = pending.now
        chat._checked = True
        return
    if changed:
        lazy = lazy and writes_only_chat_state(conn)
        now = utcnow()
        params = {f"new_{name}": value for name, value in changed.items()}
        params.update(new_updated_at=now, row_id=chat.id, stamp=chat._stamp)
        statement = _update(tuple(changed), checked=checked, lazy=lazy)
        if conn.dialect.name == "sqlite":  # through the driver (catalog/db.py's Prebuilt), in its implicit transaction
            found = bool(await prebuilt(statement).rows(conn, params))
        else:  # PostgreSQL: through SQLAlchemy, which begins the transaction and notes the tables written
            found = (await conn.execute(statement, params)).first() is not None  # type: ignore[union-attr]
        if not found:
            raise StaleChat(chat.chat_id)
        if lazy:
            lazy_commit_set(conn)
        chat._loaded = tuple(getattr(chat, name) for name in FIELDS)
        chat._stamp = now
    else:  # unchanged: is the row too?
        if conn.dialect.name == "sqlite":
            stamp = next(iter(await prebuilt(_STAMP).rows(conn, {"row_id": chat.id})), (None,))[0]
        else:
            stamp = (await conn.execute(_STAMP, {"row_id": chat.id})).scalar()  # type: ignore[union-attr]
        if stamp != chat._stamp:
            raise StaleChat(chat.chat_id)
    chat._checked = True


async def stored_language(session: AsyncSession, channel: str, chat_id: str) -> str | None:
    """The language the chat chose or last wrote in; None for a chat not seen yet (or without one)."""
    chat = await _read(session, channel, chat_id)
    return chat.language if chat is not None else None
