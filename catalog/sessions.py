"""Per-chat state kept in the database (language, last results, menu position, half-filled form)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ChatSession


async def load_chat(session: AsyncSession, channel: str, chat_id: str, user_id: str = "") -> ChatSession:
    """The chat's state row, created on first contact (safe when two processes race to create it)."""
    query = select(ChatSession).where(ChatSession.channel == channel, ChatSession.chat_id == chat_id)
    chat = await session.scalar(query)
    if chat is not None:
        return chat
    try:
        async with session.begin_nested():
            chat = ChatSession(channel=channel, chat_id=chat_id, user_id=user_id, last_results=[], state={})
            session.add(chat)
    except IntegrityError:
        chat = await session.scalar(query)
        assert chat is not None
    return chat

