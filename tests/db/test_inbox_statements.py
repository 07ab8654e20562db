"""The inbox's hot statements (catalog/inbox.py): accepting batches of any size with a redelivery among them, and
marking entries done one at a time or several at once — the same rows either way."""

from __future__ import annotations

from sqlalchemy import select

from catalog import inbox
from catalog.db import Database
from catalog.models import InboxEntry


def items(first: int, count: int) -> list[tuple[str, str, dict[str, object], int]]:
    return [(str(n), str(700 + n % 3), {"update_id": n, "message": {"text": f"tin {n}"}}, n)
            for n in range(first, first + count)]


async def rows(db: Database) -> dict[int, tuple[str, str]]:
    async with db.session() as session:
        found = (await session.execute(select(InboxEntry.seq, InboxEntry.status, InboxEntry.last_error))).all()
    return {seq: (status, error) for seq, status, error in found}


async def test_batches_of_every_size_are_accepted_in_order_and_redeliveries_skipped(empty_db: Database) -> None:
    seen = 0
    for size in (1, 5, 2, 17, 1, 9):
        batch = items(seen, size)
        accepted = await inbox.accept(empty_db, "telegram", batch, "me")
        assert [entry.seq for entry in accepted] == [seq for *_, seq in batch]
        assert [entry.payload for entry in accepted] == [payload for _, _, payload, _ in batch]
        assert all(entry.chat_key == str(700 + entry.seq % 3) for entry in accepted)
        # the last two again (Telegram sent them once more) with one new update: only the new one is accepted
        again = await inbox.accept(empty_db, "telegram", batch[-2:] + items(seen + size, 1), "me")
        assert [entry.seq for entry in again] == [seen + size]
        seen += size + 1
    assert len(await rows(empty_db)) == seen
    # the same key twice in one batch: stored once
    twice = await inbox.accept(empty_db, "telegram", items(seen, 1) * 2, "me")
    assert [entry.seq for entry in twice] == [seen]


async def test_entries_are_marked_done_alone_or_together(empty_db: Database) -> None:
    accepted = await inbox.accept(empty_db, "telegram", items(0, 6), "me")
    ids = [entry.id for entry in accepted]
    await inbox.mark_done_many(empty_db, [(ids[0], "")])  # one entry
    await inbox.mark_done_many(empty_db, [(ids[1], ""), (ids[2], ""), (ids[3], "the user blocked the bot")])
    await inbox.mark_done_many(empty_db, [(ids[0], "again")])  # done already: left as it was
    stored = await rows(empty_db)
    assert stored[0] == ("done", "")
    assert stored[1] == stored[2] == ("done", "")
    assert stored[3] == ("done", "the user blocked the bot")
    assert stored[4][0] == stored[5][0] == "pending"
    look = await inbox.look_at_chat(empty_db, "telegram", accepted[4].chat_key)
    assert look.entry is not None and look.entry.seq == 4 and not look.more  # entries 1 and 4 share a chat
