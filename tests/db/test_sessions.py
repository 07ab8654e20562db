"""Per-chat state: created on first contact, only changed fields written, kept across sessions."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from catalog.db import Database
from catalog.models import ChatSession
from catalog.sessions import load_chat, save_chat


async def row(db: Database, chat_id: str) -> ChatSession:
    async with db.session() as session:
        found = await session.scalar(select(ChatSession).where(ChatSession.chat_id == chat_id))
        assert found is not None
        return found


async def test_state_is_created_changed_and_read_back(empty_db: Database) -> None:
    async with empty_db.session() as session:
        chat = await load_chat(session, "telegram", "501", "77")
        assert (chat.language, chat.last_results, chat.state, chat.form) == (None, [], {}, None)
        chat.language = "en"
        chat.last_results = ["mi-chu", "vai-thieu"]
        chat.state = {"menu": "where", "list": {"slugs": ["a"], "title": "<b>x</b>"}}
        await save_chat(session, chat)

    async with empty_db.session() as session:
        again = await load_chat(session, "telegram", "501")
    assert again.id == chat.id
    assert (again.language, again.last_results) == ("en", ["mi-chu", "vai-thieu"])
    assert again.state == {"menu": "where", "list": {"slugs": ["a"], "title": "<b>x</b>"}}
    assert (await row(empty_db, "501")).user_id == "77"


async def test_nothing_is_written_when_nothing_changed(empty_db: Database) -> None:
    async with empty_db.session() as session:
        chat = await load_chat(session, "zalo", "502")
        chat.state = {"menu": None}
        await save_chat(session, chat)
    stamped = (await row(empty_db, "502")).updated_at

    async with empty_db.session() as session:
        chat = await load_chat(session, "zalo", "502")
        chat.state = {"menu": None}  # assigned, but equal to what is stored
        assert chat.changes() == {}
        await save_chat(session, chat)
    assert (await row(empty_db, "502")).updated_at == stamped


async def test_a_failed_message_leaves_the_stored_state_as_it_was(empty_db: Database) -> None:
    async with empty_db.session() as session:
        chat = await load_chat(session, "telegram", "503")
        chat.language = "vi"
        await save_chat(session, chat)
    try:
        async with empty_db.session() as session:
            chat = await load_chat(session, "telegram", "503")
            chat.language = "en"
            await save_chat(session, chat)
            raise RuntimeError("the handler failed after saving")
    except RuntimeError:
        pass
    assert (await row(empty_db, "503")).language == "vi"


async def test_two_processes_meeting_a_new_chat_at_once_make_one_row(empty_db: Database) -> None:
    other = Database(empty_db.url)  # another process: its own engine and connections
    try:
        async def first_contact(db: Database) -> int:
            async with db.session() as session:
                return (await load_chat(session, "telegram", "504", "504")).id

        ids = await asyncio.gather(first_contact(empty_db), first_contact(other), first_contact(empty_db))
        assert len(set(ids)) == 1
        async with empty_db.session() as session:
            count = await session.scalar(select(func.count()).select_from(ChatSession).where(ChatSession.chat_id == "504"))
        assert count == 1
    finally:
        await other.dispose()


async def test_done_inbox_entries_are_pruned_after_two_days(db: Database) -> None:
    import datetime as dt

    from sqlalchemy import select, update

    from bot.inbox import InboxProcessor
    from catalog import inbox
    from catalog.models import InboxEntry, utcnow

    old, new = await inbox.accept(db, "telegram", [("1", "5", {}, 1), ("2", "5", {}, 2)], "x:1:y")
    pending = await inbox.accept(db, "telegram", [("3", "6", {}, 3)], "x:1:y")
    for entry in (old, new):
        await inbox.mark_done(db, entry.id)
    async with db.session() as session:
        await session.execute(update(InboxEntry).where(InboxEntry.id.in_([old.id, pending[0].id]))
                              .values(created_at=utcnow() - dt.timedelta(days=3)))
    assert await InboxProcessor(db, "telegram", lambda entry: None).prune() == 1  # type: ignore[arg-type,return-value]
    async with db.session() as session:
        kept = sorted((await session.scalars(select(InboxEntry.key))).all())
    assert kept == ["2", "3"]  # the recent done one, and the old one still unfinished


async def test_an_entry_handled_elsewhere_meanwhile_commits_nothing_here(db: Database) -> None:
    """Taken over by another process while this one still had it queued: only one handling takes effect."""
    import pytest
    from sqlalchemy import func, select

    from catalog import inbox
    from catalog.models import ProcessedEvent

    (entry,) = await inbox.accept(db, "zalo", [("m1", "u1", {}, 1)], "x:1:y")
    async with db.session() as session:
        session.add(ProcessedEvent(channel="zalo", event_id="first"))
        await inbox.mark_handled(session, entry.id, [])
    with pytest.raises(inbox.AlreadyHandled):
        async with db.session() as session:
            session.add(ProcessedEvent(channel="zalo", event_id="second"))
            await inbox.mark_handled(session, entry.id, [])
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


def test_a_chat_from_the_cache_is_a_copy_the_cache_does_not_share() -> None:
    import datetime as dt

    from catalog.sessions import ChatCache, ChatState

    cache = ChatCache()
    when = dt.datetime(2026, 12, 6, 4, 0)
    values = ("vi", ["mat-ong", "my-chu"], {"version": 2, "list": {"slugs": ["a"], "title": "Mật ong"}},
              {"step": "phone", "products": [{"slug": "mat-ong"}]}, when)
    chat = ChatState(7, "telegram", "42")
    chat.language, chat.last_results, chat.state, chat.form, chat.form_updated_at = values
    chat._loaded, chat._stamp = values, when
    cache.keep(chat)
    loaded = cache.load("telegram", "42")
    assert loaded is not None and loaded.changes() == {} and not loaded._checked
    loaded.state["list"]["slugs"].append("b")  # changed in place, as a handler must not: the cache keeps its own
    loaded.form["products"][0]["slug"] = "vai"  # type: ignore[index]
    loaded.last_results.append("x")
    again = cache.load("telegram", "42")
    assert again is not None
    assert (again.language, again.last_results, again.state, again.form, again.form_updated_at) == values
    assert values[2] == {"version": 2, "list": {"slugs": ["a"], "title": "Mật ong"}}


async def test_a_session_hands_its_connection_back_however_it_ends(db: Database) -> None:
    """`Database.session` ends its transaction and closes in one step on SQLite: committed, rolled back on an error
    in the body, or rolled back when the commit itself fails; each time the connection goes back to the pool."""
    import pytest
    from sqlalchemy import func, select

    from catalog.models import ProcessedEvent

    pool = db.engine.sync_engine.pool
    async with db.session() as session:
        session.add(ProcessedEvent(channel="zalo", event_id="kept"))
    assert pool.checkedout() == 0
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            session.add(ProcessedEvent(channel="zalo", event_id="rolled-back"))
            await session.flush()
            raise RuntimeError("the handler failed")
    assert pool.checkedout() == 0
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        async with db.session() as session:  # the commit's flush breaks the unique key: the commit fails
            session.add(ProcessedEvent(channel="zalo", event_id="kept"))
    assert pool.checkedout() == 0
    async with db.session() as session:
        stored = (await session.scalars(select(ProcessedEvent.event_id))).all()
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
    assert stored == ["kept"]


async def test_the_kept_connection_is_the_transactions_own(db: Database) -> None:
    """`session_connection` hands back the connection the session's transaction took; once the session committed
    and began another transaction, that one's: a write after the commit is rolled back with it, not kept."""
    from sqlalchemy import insert, select

    from catalog.db import session_connection
    from catalog.models import ProcessedEvent

    table = ProcessedEvent.__table__
    async with db.sessionmaker() as session:  # a plain session (Database.session's may not commit midway)
        first = await session_connection(session)
        assert await session_connection(session) is first is await session.connection()
        await first.execute(insert(table).values(channel="zalo", event_id="before the commit"))
        await session.commit()
        second = await session_connection(session)
        assert second.sync_connection is (await session.connection()).sync_connection
        assert second.in_transaction()
        await second.execute(insert(table).values(channel="zalo", event_id="after the commit"))
        await session.rollback()
        third = await session_connection(session)
        assert third.in_transaction() and third.sync_connection is (await session.connection()).sync_connection
    async with db.session() as session:
        async with session.begin_nested():  # a savepoint: the same connection, still in the transaction
            inner = await session_connection(session)
            await inner.execute(insert(table).values(channel="zalo", event_id="in a savepoint"))
        assert await session_connection(session) is inner
        assert (await session.scalars(select(ProcessedEvent.event_id).order_by(ProcessedEvent.id))).all() == [
            "before the commit", "in a savepoint"]
