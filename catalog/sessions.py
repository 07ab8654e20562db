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
check alone suffices). A message that changes only chat state then takes, on PostgreSQL, three round trips:
BEGIN, the UPDATE (whose RETURNING also turns the commit asynchronous), COMMIT; on SQLite one statement less
than with a read.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Update, bindparam, func, insert, literal_column, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import lazy_commit_set, prebuilt, writes_only_chat_state
from catalog.models import ChatSession, utcnow

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


async def save_chat(session: AsyncSession, chat: ChatState, *, lazy: bool = False) -> None:
    """Write back what the handlers changed, in the message's transaction; nothing when nothing changed.

    A chat taken from the cache is checked against the row (StaleChat when another wrote it meanwhile).
    `lazy` (PostgreSQL, a transaction that may commit without waiting for the WAL flush): when nothing but
    chat state was written so far, the UPDATE itself turns the commit asynchronous (catalog/db.py)."""
    changed = chat.changes()
    checked = not chat._checked
    if not changed and not checked:
        return
    conn = await session.connection()
    if checked and not writes_only_chat_state(conn):
        # A message that wrote more than chat state (a lead, a staff action) is done under the chat's lock, as
        # without the cache: from the row, one message of the chat at a time.
        raise StaleChat(chat.chat_id)
    if changed:
        lazy = lazy and writes_only_chat_state(conn)
        now = utcnow()
        params = {f"new_{name}": value for name, value in changed.items()}
        params.update(new_updated_at=now, row_id=chat.id, stamp=chat._stamp)
        statement = _update(tuple(changed), checked=checked, lazy=lazy)
        if conn.dialect.name == "sqlite":  # through the driver (catalog/db.py's Prebuilt), in its implicit transaction
            found = bool(await prebuilt(statement).rows(conn, params))
        else:  # PostgreSQL: through SQLAlchemy, which begins the transaction and notes the tables written
            found = (await conn.execute(statement, params)).first() is not None
        if not found:
            raise StaleChat(chat.chat_id)
        if lazy:
            lazy_commit_set(conn)
        chat._loaded = tuple(getattr(chat, name) for name in FIELDS)
        chat._stamp = now
    elif (await conn.execute(_STAMP, {"row_id": chat.id})).scalar() != chat._stamp:  # unchanged: is the row too?
        raise StaleChat(chat.chat_id)
    chat._checked = True


async def stored_language(session: AsyncSession, channel: str, chat_id: str) -> str | None:
    """The language the chat chose or last wrote in; None for a chat not seen yet (or without one)."""
    chat = await _read(session, channel, chat_id)
    return chat.language if chat is not None else None
