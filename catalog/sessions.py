"""Per-chat state kept in the database (language, last results, menu position, half-filled form).

Every message reads its chat's row and most write it back, so this is the hottest database path. It
uses two Core statements (a SELECT, and an UPDATE of just the columns that changed), built once with
bound parameters, on a plain object instead of an ORM instance. Measured per message on the in-loop SQLite
driver: ORM load + flush 0.81 ms; Core statements built per call 0.62 ms; prebuilt 0.32–0.38 ms.

Handlers change a field by assigning it (`chat.state = {...}`); a value changed in place is not noticed,
just as with the ORM's JSON columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ChatSession, utcnow

TABLE = ChatSession.__table__
FIELDS = ("language", "last_results", "state", "form", "form_updated_at")
_SELECT = select(TABLE.c.id, *(TABLE.c[name] for name in FIELDS)).where(
    TABLE.c.channel == bindparam("channel"), TABLE.c.chat_id == bindparam("chat_id")
)
_UPDATES: dict[tuple[str, ...], Update] = {}  # one prebuilt UPDATE per set of changed fields (at most 31)


def _update(names: tuple[str, ...]) -> Update:
    statement = _UPDATES.get(names)
    if statement is None:
        values = {name: bindparam(f"new_{name}", type_=TABLE.c[name].type) for name in (*names, "updated_at")}
        statement = _UPDATES[names] = update(TABLE).where(TABLE.c.id == bindparam("row_id")).values(values)
    return statement


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

    def changes(self) -> dict[str, Any]:
        """The fields assigned a different value since the row was read."""
        return {name: getattr(self, name) for name, before in zip(FIELDS, self._loaded, strict=True)
                if getattr(self, name) != before}


async def _read(session: AsyncSession, channel: str, chat_id: str) -> ChatState | None:
    row = (await session.execute(_SELECT, {"channel": channel, "chat_id": chat_id})).first()
    if row is None:
        return None
    values = tuple(row)[1:]
    chat = ChatState(row.id, channel, chat_id, *values)
    chat._loaded = values
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


async def save_chat(session: AsyncSession, chat: ChatState) -> None:
    """Write back what the handlers changed, in the message's transaction; nothing when nothing changed."""
    changed = chat.changes()
    if changed:
        params = {f"new_{name}": value for name, value in changed.items()}
        await session.execute(_update(tuple(changed)), {**params, "new_updated_at": utcnow(), "row_id": chat.id})
        chat._loaded = tuple(getattr(chat, name) for name in FIELDS)


async def stored_language(session: AsyncSession, channel: str, chat_id: str) -> str | None:
    """The language the chat chose or last wrote in; None for a chat not seen yet (or without one)."""
    chat = await _read(session, channel, chat_id)
    return chat.language if chat is not None else None
