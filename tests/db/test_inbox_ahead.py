"""PostgreSQL: the next chat's look runs while an entry is handled, and the slot is given back before the turn's end
(bot/inbox.py, `InboxProcessor.ahead` and `_Slot`): one update at a time still means one handler at a time, each
chat's entries in order, every entry done and every turn given back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, text

from bot.inbox import InboxProcessor
from catalog import inbox
from catalog.db import Database
from catalog.models import InboxEntry
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs OCOP_TEST_DATABASE_URL (PostgreSQL)")

CHATS = ("801", "802", "803")


async def turns_held(db: Database) -> set[int]:
    """The advisory locks (the chats' turns) held on this database at this moment, by any connection, as 64-bit keys."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))
        return {int(value) for (value,) in rows}


def turn_keys() -> dict[int, str]:
    """Each chat's turn key."""
    return {inbox.chat_turn_key("telegram", chat): chat for chat in CHATS}


async def handle_all(
    db: Database, accepted: list[inbox.Accepted], work: Callable[[inbox.Accepted], Awaitable[None]], slots: int = 1
) -> InboxProcessor:
    """Every entry through an `InboxProcessor` whose handler runs `work` and then says the entry is finished (an entry
    whose `work` raises is not: it is tried again)."""

    async def handler(entry: inbox.Accepted) -> None:
        await work(entry)
        processor.finished(entry)

    processor = InboxProcessor(db, "telegram", handler, slots=slots, base_delay=0.01)
    for entry in accepted:
        processor.submit(entry)
    await processor.drain()
    return processor


async def mark_handled(db: Database, entry: inbox.Accepted) -> None:
    async with db.session() as session:
        await inbox.mark_handled(session, entry.id, [])


async def statuses(db: Database) -> set[str]:
    """The inbox entries' statuses ({"done"}: there are some, and every one is done)."""
    async with db.session() as session:
        return set((await session.scalars(select(InboxEntry.status))).all())


async def test_one_handler_at_a_time_while_the_next_chat_has_looked(pg: Database) -> None:
    items = [(str(n), CHATS[n % 3], {"n": n}, n) for n in range(1, 10)]  # three chats, three entries each, interleaved
    accepted = await inbox.accept(pg, "telegram", items, "test")
    running = 0
    most = 0
    handled: list[tuple[str, int]] = []
    looked_ahead: list[set[str]] = []
    keys = turn_keys()

    async def work(entry: inbox.Accepted) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await mark_handled(pg, entry)
            await asyncio.sleep(0.05)  # long enough for the next chat's look to have run meanwhile
            # the turns held now besides this chat's own: the chat whose look ran ahead
            looked_ahead.append({keys[key] for key in await turns_held(pg) if key in keys} - {entry.chat_key})
            handled.append((entry.chat_key, entry.seq))
        finally:
            running -= 1

    await handle_all(pg, accepted, work)

    assert most == 1  # one update at a time, as the slot promises
    assert sorted(handled) == sorted((chat, seq) for _, chat, _, seq in items)
    for chat in CHATS:  # each chat's entries in their order
        assert [seq for c, seq in handled if c == chat] == sorted(seq for _, c, _, seq in items if c == chat)
    # while an entry was handled, another chat had already taken its turn with its look (all but the last entries)
    assert sum(1 for ahead in looked_ahead if len(ahead) == 1) >= len(items) - 3, looked_ahead
    assert all(len(ahead) <= 1 for ahead in looked_ahead), looked_ahead  # one place ahead for one slot
    assert await statuses(pg) == {"done"}
    assert not await turns_held(pg)  # every turn given back


async def test_a_failing_handler_gives_its_slot_and_place_back(pg: Database) -> None:
    """An entry whose handling raises is tried again (and the others handled meanwhile): nothing stays held."""
    accepted = await inbox.accept(pg, "telegram", [(str(n), CHATS[n % 2], {"n": n}, n) for n in range(1, 5)], "test")
    failed: set[int] = set()

    async def work(entry: inbox.Accepted) -> None:
        if entry.seq == 1 and entry.seq not in failed:
            failed.add(entry.seq)
            raise RuntimeError("the handler fails once")
        await mark_handled(pg, entry)

    processor = await handle_all(pg, accepted, work)
    assert failed == {1}
    assert await statuses(pg) == {"done"}
    assert not await turns_held(pg)
    assert processor.slots._value == 1 and processor.ahead is not None and processor.ahead._value == 1


async def test_the_next_chats_look_is_sent_before_an_entry_is_handled(pg: Database, monkeypatch: pytest.MonkeyPatch
                                                                      ) -> None:
    """One turn of the loop between an entry's slot and its handling: the next chat's look, woken by the place given
    back, has sent its statement before the handling starts (so that PostgreSQL runs it beside the handling, not beside
    the handling's own write at its end)."""
    items = [(str(n), CHATS[n % 3], {"n": n}, n) for n in range(1, 13)]  # three chats, four entries each, interleaved
    accepted = await inbox.accept(pg, "telegram", items, "test")
    events: list[tuple[str, str]] = []
    look = inbox.look_at_chat

    async def spied(*args: object, **kwargs: object) -> inbox.Look:
        events.append(("look", str(args[2])))
        return await look(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "look_at_chat", spied)

    async def work(entry: inbox.Accepted) -> None:
        events.append(("handle", entry.chat_key))  # at once, before anything of the handler awaits
        await mark_handled(pg, entry)

    await handle_all(pg, accepted, work)

    # the look that found each entry was sent before the handling before it started (the first ones aside: the pool
    # opens its connections then, and a look may wait for one)
    handlings = [(i, chat) for i, (kind, chat) in enumerate(events) if kind == "handle"]
    early = [max(k for k in range(j) if events[k] == ("look", chat)) < i
             for (i, _), (j, chat) in zip(handlings, handlings[1:], strict=False)]
    assert len(handlings) == len(items)
    assert sum(early[2:]) >= len(early) - 3, events
    assert await statuses(pg) == {"done"}
    assert not await turns_held(pg)
