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

import pytest
from sqlalchemy import text, update

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


async def test_the_wait_for_an_earlier_update_keeps_the_chat_turn(empty_db: Database,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: while the holder of a chat's turn waits for an earlier update still on its way, it keeps the turn
    (another process's look finds it taken) and looks again under it, without taking it a second time (a session
    lock taken twice would outlive the one unlock)."""
    if empty_db.dialect != "postgresql":
        pytest.skip("the chat's turn is an advisory lock on PostgreSQL")
    looks: list[dict[str, object]] = []
    look_at_chat = inbox.look_at_chat

    async def counted(*args: object, **kwargs: object) -> inbox.Look:
        looks.append(kwargs)
        return await look_at_chat(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "look_at_chat", counted)
    order: list[int] = []
    processor: InboxProcessor

    async def handler(entry: Accepted) -> None:
        order.append(entry.seq)
        processor.finished(entry)

    # the update before, of another chat, handled long ago: the one after the gap waits only for the gap
    await inbox.accept(empty_db, "telegram", [("9000", "1", {}, 9000)], "order-test")
    async with empty_db.session() as session:
        await session.execute(update(InboxEntry).values(status="done"))
    processor = InboxProcessor(empty_db, "telegram", handler, owner="order-test")
    processor.reorder_window = 30.0  # (never reached: the earlier update comes once the turn was seen taken)
    await processor.start()
    key = inbox.chat_turn_key("telegram", CHAT)
    try:
        for entry in await inbox.accept(empty_db, "telegram", [(str(9002), CHAT, {"n": 9002}, 9002)], "order-test"):
            processor.submit(entry)
        for _ in range(1000):  # until the holder has looked again under its turn at least once
            if sum(1 for kw in looks if kw.get("held")) >= 1:
                break
            await asyncio.sleep(0.01)
        assert all(kw.get("held") for kw in looks[1:])  # the looks again do not take the turn again
        async with empty_db.engine.connect() as other:  # another process's look: the turn is taken
            assert await other.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}) is False
            await other.commit()
        for entry in await inbox.accept(empty_db, "telegram", [(str(9001), CHAT, {"n": 9001}, 9001)], "order-test"):
            processor.submit(entry)
        await asyncio.wait_for(processor.drain(), 30)
    finally:
        await processor.stop()
    assert order == [9001, 9002]
    async with empty_db.engine.connect() as conn:  # given back once and for all (the pool's connections are open)
        held = await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        await conn.commit()
    assert held == 0


async def test_only_a_few_chats_keep_their_turn_over_the_wait(empty_db: Database,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: the chats that keep their turn (and its connection) over the wait are at most half as many as the
    slots; the others give it back over each wait and take it again, as before. Each chat keeps its order."""
    if empty_db.dialect != "postgresql":
        pytest.skip("the chat's turn is an advisory lock on PostgreSQL")
    looks: list[tuple[str, bool]] = []
    look_at_chat = inbox.look_at_chat

    async def counted(*args: object, **kwargs: object) -> inbox.Look:
        looks.append((str(args[2]), bool(kwargs.get("held"))))
        return await look_at_chat(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "look_at_chat", counted)
    order: dict[str, list[int]] = {"71": [], "72": []}
    processor: InboxProcessor

    async def handler(entry: Accepted) -> None:
        order[entry.chat_key].append(entry.seq)
        processor.finished(entry)

    await inbox.accept(empty_db, "telegram", [("9000", "1", {}, 9000)], "order-test")
    async with empty_db.session() as session:
        await session.execute(update(InboxEntry).values(status="done"))
    processor = InboxProcessor(empty_db, "telegram", handler, owner="order-test", slots=2)  # one may keep its turn
    processor.reorder_window = 30.0
    await processor.start()
    try:
        # each the second of its chat, the first still on its way
        for entry in await inbox.accept(empty_db, "telegram", [("9002", "71", {}, 9002), ("9004", "72", {}, 9004)],
                                        "order-test"):
            processor.submit(entry)
        for _ in range(1000):  # until one chat has looked again under its turn and the other again without it
            held = {chat for chat, kept in looks if kept}
            again = {chat for chat, kept in looks if not kept and sum(1 for c, _ in looks if c == chat) > 1}
            if held and again - held:
                break
            await asyncio.sleep(0.01)
        assert len(held) == 1 and again - held
        for entry in await inbox.accept(empty_db, "telegram", [("9001", "71", {}, 9001), ("9003", "72", {}, 9003)],
                                        "order-test"):
            processor.submit(entry)
        await asyncio.wait_for(processor.drain(), 30)
    finally:
        await processor.stop()
    assert order == {"71": [9001, 9002], "72": [9003, 9004]}
    async with empty_db.engine.connect() as conn:
        held_locks = await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        await conn.commit()
    assert held_locks == 0
