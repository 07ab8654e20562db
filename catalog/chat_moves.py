"""Chats that moved: a Telegram group upgraded to a supergroup answers `migrate_to_chat_id`; the new id is
stored here and used from then on (for the staff chat, instead of OCOP_STAFF_CHAT_ID's old value)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.db import Database
from catalog.models import ChatMigration, OutboxMessage

UNSENT = ("pending", "sending")


async def record(session: AsyncSession, channel: str, old: str, new: str) -> int:
    """Store old → new and point every unsent outbox entry for the old chat at the new one; returns how many."""
    if old == new:
        return 0
    exists = await session.scalar(select(ChatMigration.id).where(
        ChatMigration.channel == channel, ChatMigration.old_chat_id == old))
    if exists is None:
        try:
            async with session.begin_nested():
                session.add(ChatMigration(channel=channel, old_chat_id=old, new_chat_id=new))
        except IntegrityError:
            pass  # another process recorded it first
    result = await session.execute(
        update(OutboxMessage).where(OutboxMessage.channel == channel, OutboxMessage.chat_id == old,
                                    OutboxMessage.status.in_(UNSENT)).values(chat_id=new)
    )
    return int(result.rowcount or 0)


async def resolve(db: Database, channel: str, chat_id: str) -> str:
    """Where `chat_id` lives now, following moves (a few hops at most)."""
    async with db.session() as session:
        for _ in range(5):
            moved = await session.scalar(select(ChatMigration.new_chat_id).where(
                ChatMigration.channel == channel, ChatMigration.old_chat_id == chat_id))
            if moved is None:
                break
            chat_id = moved
    return chat_id
