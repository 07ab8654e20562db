"""The inbox's hot statements (catalog/inbox.py): accepting batches of any size with a redelivery among them, and
marking entries done one at a time or several at once — the same rows either way."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import select

from bot.inbox import InboxProcessor
from catalog import inbox
from catalog.db import Database, Prebuilt
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


async def test_a_prebuilt_look_reads_what_sqlalchemy_reads(empty_db: Database) -> None:
    """The look run on the driver directly (catalog/db.py's Prebuilt) converts every column as SQLAlchemy does:
    the JSON payload and replies, the aware UTC datetimes, the counts and the chat state's columns."""
    accepted = await inbox.accept(empty_db, "telegram", items(0, 7), "me")
    async with empty_db.session() as session:
        await inbox.mark_handled(session, accepted[1].id, [{"text": "đã trả lời"}])
    params = {"e_channel": "telegram", "e_chat": accepted[1].chat_key}
    for counted in (False, True):
        if counted:
            params |= {"e_window": dt.timedelta(seconds=10), "e_shift": "-10.000 seconds"}
        for gaps in (False, True):
            statement = inbox._look(empty_db.dialect, counted=counted, gaps=gaps, turn=False, chat=True)
            async with empty_db.engine.connect() as conn:
                wanted = [tuple(row) for row in (await conn.execute(statement, params)).all()]
            async with empty_db.engine.connect() as conn:
                direct = [tuple(row) for row in await Prebuilt(statement).rows(conn, params)]
            assert direct == wanted and len(direct) == 2
            assert direct[0][3] == [{"text": "đã trả lời"}] and direct[0][6].tzinfo is not None


async def test_done_marks_ride_in_the_next_handlers_transaction_and_survive_its_failure(empty_db: Database) -> None:
    """SQLite: an entry finished is marked done in the next handler's transaction (`mark_done_with`); when that
    transaction fails, the mark is kept and written later, never lost."""
    if empty_db.dialect != "sqlite":
        return  # PostgreSQL marks a chat's entries as its turn ends (tests/db/test_chat_turn.py)
    accepted = await inbox.accept(empty_db, "telegram", items(0, 3), "me")
    fail = {accepted[1].id}

    async def handler(entry: inbox.Accepted) -> None:
        async with empty_db.session() as session:
            await inbox.mark_handled(session, entry.id, [])
            await processor.mark_done_with(session, entry)
            if entry.id in fail:
                fail.discard(entry.id)
                raise RuntimeError("the handler's transaction fails after taking the marks")
        processor.finished(entry)

    processor = InboxProcessor(empty_db, "telegram", handler, base_delay=0.01)
    assert await processor._attempt(accepted[0]) is None
    assert (await rows(empty_db))[0] == ("handled", "")  # finished, its mark waiting for the next transaction
    assert await processor._attempt(accepted[1]) is not None  # failed: tried again later
    assert (await rows(empty_db))[0] == ("handled", "")  # the mark went back with the rolled-back transaction ...
    assert await processor._attempt(accepted[1]) is None  # ... and rides in the next one
    stored = await rows(empty_db)
    assert stored[0] == ("done", "") and stored[1][0] == "handled" and stored[2][0] == "pending"
    await processor._flush_all()
    assert (await rows(empty_db))[1][0] == "done"


async def test_the_migrations_make_the_looks_partial_index(empty_db: Database) -> None:
    """`ix_inbox_unfinished` is made by migration 0013 only (the model leaves it out, see catalog/models.py): a
    migrated database has it, on the chat's unfinished entries alone."""
    async with empty_db.engine.connect() as conn:
        found = await conn.run_sync(lambda c: {i["name"]: i for i in sa.inspect(c).get_indexes("inbox")})
    index = found["ix_inbox_unfinished"]
    assert index["column_names"] == ["channel", "chat_key", "seq"]
    where = str(index.get("dialect_options", {}).get(f"{empty_db.dialect}_where", ""))
    assert "pending" in where and "handled" in where and "status" in where
    assert found["ix_inbox_chat_time"]["column_names"] == ["channel", "chat_key", "created_at"]
