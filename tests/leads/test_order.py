"""A chat's updates are handled in update-id order even when a later one is stored first.

Telegram posts webhook updates over several connections at once (and a round-robin proxy spreads them over
several processes), so update 10002 of a chat can be stored before 10001. The holder of the chat's turn then
waits (up to the reorder window) for the missing earlier id. The case that once slipped through the
4-process test: the very first updates the inbox ever stores (nothing below them at all), and an inbox whose
older done entries were all pruned.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import update

from bot.inbox import InboxProcessor
from catalog import inbox
from catalog.db import Database
from catalog.inbox import Accepted
from catalog.models import InboxEntry, utcnow

CHAT = "70000"


async def handled_in_order(db: Database, first_seq: int, late: float = 0.3) -> list[int]:
    """Store update `first_seq + 1` of a chat, then `first_seq` `late` seconds later (each submitted as it is
    stored, as a webhook does); the seqs in the order they were handled."""
    order: list[int] = []
    processor: InboxProcessor

    async def handler(entry: Accepted) -> None:
        order.append(entry.seq)
        processor.finished(entry)

    processor = InboxProcessor(db, "telegram", handler, owner="order-test")
    processor.reorder_window = 2.0
    await processor.start()
    try:
        second = first_seq + 1
        for entry in await inbox.accept(db, "telegram", [(str(second), CHAT, {"n": second}, second)], "order-test"):
            processor.submit(entry)
        await asyncio.sleep(late)
        for entry in await inbox.accept(db, "telegram", [(str(first_seq), CHAT, {"n": first_seq}, first_seq)],
                                        "order-test"):
            processor.submit(entry)
        await asyncio.wait_for(processor.drain(), 10)
    finally:
        await processor.stop()
    return order


async def test_the_first_updates_ever_stored_keep_their_order(empty_db: Database) -> None:
    assert await handled_in_order(empty_db, 10001) == [10001, 10002]


async def test_updates_after_everything_older_was_pruned_keep_their_order(empty_db: Database) -> None:
    """Done entries older than two days are pruned; the newest stays, so a gap below the next id is still seen."""
    old = utcnow() - dt.timedelta(days=3)
    await inbox.accept(empty_db, "telegram", [(str(n), "1", {}, n) for n in (500, 501)], "order-test")
    async with empty_db.session() as session:
        await session.execute(update(InboxEntry).values(status="done", created_at=old, updated_at=old))
    await inbox.prune(empty_db, "telegram", dt.timedelta(days=2))
    assert await handled_in_order(empty_db, 600) == [600, 601]
