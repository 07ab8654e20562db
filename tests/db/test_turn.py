"""The router's transaction for one message (`catalog.db.Turn`): on a SQLite file its ORM session is opened only when
something asks for it, its hot statements run on the pooled driver connection; whatever the path, a message's writes
are the same and commit or roll back together, and the connection goes back to the pool."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from catalog import inbox
from catalog.db import Database, Turn
from catalog.models import ChatSession, InboxEntry, ProcessedEvent
from catalog.sessions import load_chat, save_chat


async def committed(db: Database, statement: Any) -> Any:
    """`statement`'s first row as another process sees it: only what was committed (the turn's own connection, back
    in its pool, would see what it left uncommitted)."""
    other = Database(db.url)
    try:
        async with other.session() as session:
            return (await session.execute(statement)).first()
    finally:
        await other.dispose()


async def _chat_row(db: Database, chat_id: str) -> tuple[Any, ...]:
    table = ChatSession.__table__.c
    return tuple(await committed(db, select(table.language, table.last_results, table.state, table.form,
                                             table.updated_at).where(table.chat_id == chat_id)))


async def _entry_row(db: Database, entry_id: int) -> tuple[Any, ...]:
    table = InboxEntry.__table__.c
    return tuple(await committed(db, select(table.status, table.replies, table.payload, table.last_error,
                                             table.updated_at).where(table.id == entry_id)))


def _checked_out(db: Database) -> int:
    pool = db.engine.sync_engine.pool
    return pool.checkedout() if hasattr(pool, "checkedout") else 0


async def _message(db: Database, chat_id: str, entry: inbox.Accepted, done: inbox.Accepted, *, turn: bool) -> None:
    """What the router and the inbox write for one message (the chat state, the handled mark with its replies, an
    earlier entry's done mark), through a turn or through `Database.session`."""
    async with db.session() as session:
        chat = await load_chat(session, "telegram", chat_id)
    chat.language = "en"
    chat.last_results = ["mi-chu", "vai-thieu"]
    chat.state = {"menu": "where", "list": {"slugs": ["a"], "title": "<b>x</b>"}}
    chat.form = {"step": "phone", "answers": {"qty": "20 kg"}}
    chat.form_updated_at = dt.datetime(2026, 12, 6, 19, 0)
    replies = [{"text": "Mật ong <b>rừng</b>", "buttons": [["p:mat-ong"]]}]
    marks = [(done.id, "")] if db.dialect == "sqlite" else []  # (on PostgreSQL done marks go with the chat's turn)
    if turn:
        async with db.turn() as message:
            assert message.lean
            await save_chat(message, chat)
            await inbox.mark_handled(message, entry.id, replies)
            await inbox.write_done(message, marks)
            assert message.lean  # none of it opened the ORM session
    else:
        async with db.session() as session:
            await save_chat(session, chat)
            await inbox.mark_handled(session, entry.id, replies)
            await inbox.write_done(session, marks)


async def test_a_turn_writes_what_a_session_writes(empty_db: Database) -> None:
    accepted = await inbox.accept(empty_db, "telegram", [(str(i), "c", {"text": "mật ong"}, i) for i in range(4)], "me")
    await _message(empty_db, "601", accepted[0], accepted[1], turn=False)
    await _message(empty_db, "602", accepted[2], accepted[3], turn=True)
    by_session, by_turn = await _chat_row(empty_db, "601"), await _chat_row(empty_db, "602")
    assert by_turn[:-1] == by_session[:-1] == ("en", ["mi-chu", "vai-thieu"], {"menu": "where", "list": {
        "slugs": ["a"], "title": "<b>x</b>"}}, {"step": "phone", "answers": {"qty": "20 kg"}})
    assert isinstance(by_turn[-1], dt.datetime)
    handled_session, handled_turn = await _entry_row(empty_db, accepted[0].id), await _entry_row(empty_db, accepted[2].id)
    assert handled_turn[:-1] == handled_session[:-1]
    assert handled_turn[0] == "handled" and handled_turn[1] == [{"text": "Mật ong <b>rừng</b>",
                                                                 "buttons": [["p:mat-ong"]]}]
    done_session, done_turn = await _entry_row(empty_db, accepted[1].id), await _entry_row(empty_db, accepted[3].id)
    assert done_turn[:-1] == done_session[:-1] == (
        ("done", None, {}, "") if empty_db.dialect == "sqlite" else ("pending", None, {"text": "mật ong"}, ""))
    assert _checked_out(empty_db) == 0


async def test_a_failed_turn_keeps_nothing_of_its_statements(empty_db: Database) -> None:
    (entry,) = await inbox.accept(empty_db, "zalo", [("m1", "u1", {}, 1)], "me")
    async with empty_db.session() as session:
        chat = await load_chat(session, "zalo", "603")
    before = await _chat_row(empty_db, "603")
    with pytest.raises(RuntimeError):
        async with empty_db.turn() as turn:
            chat.language = "vi"
            await save_chat(turn, chat)
            await inbox.mark_handled(turn, entry.id, [{"text": "hello"}])
            raise RuntimeError("the handler failed after its writes")
    (later,) = await inbox.accept(empty_db, "zalo", [("m9", "u9", {}, 9)], "me")
    async with empty_db.turn() as turn:  # the next message's commit, on the same pooled connection
        await inbox.mark_handled(turn, later.id, [])
    assert (await _entry_row(empty_db, later.id))[0] == "handled"
    assert await _chat_row(empty_db, "603") == before
    assert (await _entry_row(empty_db, entry.id))[:2] == ("pending", None)
    assert _checked_out(empty_db) == 0


@pytest.mark.parametrize("fails", [False, True])
async def test_a_session_opened_after_the_turns_statements_shares_their_transaction(
    empty_db: Database, fails: bool
) -> None:
    """Zalo's finish: the handled mark (on the driver), then an ORM row; both commit, or neither."""
    (entry,) = await inbox.accept(empty_db, "zalo", [("m2", "u2", {}, 2)], "me")
    try:
        async with empty_db.turn() as turn:
            await inbox.mark_handled(turn, entry.id, [])
            turn.session.add(ProcessedEvent(channel="zalo", event_id="m2"))
            assert not turn.lean and turn.hot() is turn.session
            if fails:
                raise RuntimeError("failed after both")
    except RuntimeError:
        assert fails
    (events,) = await committed(empty_db, select(func.count()).select_from(ProcessedEvent))
    status = (await _entry_row(empty_db, entry.id))[0]
    assert (events, status) == ((0, "pending") if fails else (1, "handled"))
    assert _checked_out(empty_db) == 0


async def test_statements_after_the_session_opened_go_through_it(empty_db: Database) -> None:
    """A handler asked for the session first (a query): the chat state's write and the mark go through its
    connection, in its transaction; the next turn starts lean again."""
    (entry,) = await inbox.accept(empty_db, "telegram", [("9", "c", {}, 9)], "me")
    async with empty_db.turn() as turn:
        chat = await load_chat(turn.session, "telegram", "604")
        chat.language = "en"
        await save_chat(turn, chat)
        await inbox.mark_handled(turn, entry.id, [])
        if empty_db.dialect == "sqlite":  # (PostgreSQL writes both at the session's end: `PendingWrite`)
            seen = await turn.session.scalar(select(ChatSession.language).where(ChatSession.chat_id == "604"))
            assert seen == "en"
    assert (await _chat_row(empty_db, "604"))[0] == "en"
    assert (await _entry_row(empty_db, entry.id))[0] == "handled"
    async with empty_db.turn() as turn:
        assert turn.lean
    assert _checked_out(empty_db) == 0


async def test_a_turn_elsewhere_is_the_session_opened_at_once(empty_db: Database) -> None:
    """An in-memory SQLite database: the turn is `Database.session`'s session (a file or PostgreSQL: lean)."""
    memory = Database("sqlite+aiosqlite:///:memory:")
    try:
        for db in (memory, empty_db):
            async with db.turn() as turn:
                assert isinstance(turn, Turn)
                assert turn.lean == (db is empty_db)
    finally:
        await memory.dispose()


@pytest.mark.parametrize("with_session", [False, True])
async def test_an_entry_handled_elsewhere_keeps_nothing_of_the_turn(empty_db: Database, with_session: bool) -> None:
    """The handled mark finds the entry handled already (on PostgreSQL at the turn's end, where it was left): the
    error is raised, nothing of the turn is kept, whether its ORM session was opened or not."""
    (entry,) = await inbox.accept(empty_db, "zalo", [("m3", "u3", {}, 3)], "me")
    async with empty_db.session() as session:
        await inbox.mark_handled(session, entry.id, [{"text": "first"}])
    async with empty_db.session() as session:
        chat = await load_chat(session, "zalo", "605")
    with pytest.raises(inbox.AlreadyHandled):
        async with empty_db.turn() as turn:
            chat.language = "en"
            await save_chat(turn, chat)
            if with_session:
                turn.session.add(ProcessedEvent(channel="zalo", event_id="m3"))
            await inbox.mark_handled(turn, entry.id, [{"text": "second"}])
    (events,) = await committed(empty_db, select(func.count()).select_from(ProcessedEvent))
    assert (events, (await _chat_row(empty_db, "605"))[0]) == (0, None)
    assert (await _entry_row(empty_db, entry.id))[:2] == ("handled", [{"text": "first"}])
    assert _checked_out(empty_db) == 0


async def test_a_search_and_a_tap_need_no_orm_session(db: Database) -> None:
    """The router's everyday messages (a search, a tap on a product) run without opening the ORM session: the chat
    from the router's cache, the catalogue from its snapshot (its version checked once a second), the writes on the
    turn's connection. A message that reads the chat's row afresh opens it."""
    from bot.config import Settings
    from catalog.snapshot import LiveCatalog
    from handlers.context import Services
    from handlers.messages import Incoming
    from handlers.router import Router

    # (the catalogue's version checked once a minute here: a slow machine must not make the test depend on it)
    router = Router(Services(db, Settings(database_url=db.url), catalog=LiveCatalog(recheck_seconds=60)))
    seen: list[bool] = []

    async def finish(turn: object, replies: list[object]) -> None:
        assert isinstance(turn, Turn)
        seen.append(turn.lean)

    def message(**fields: Any) -> Incoming:
        return Incoming(channel="telegram", chat_id="606", user_id="606", **fields)

    router.chats.drop("telegram", "606")
    await router.handle(message(text="mật ong"), finish=finish)  # the chat's first message: its row read (and made)
    await router.handle(message(text="vải thiều"), finish=finish)
    await router.handle(message(payload="p:vai-thieu-luc-ngan", message_id="5"), finish=finish)
    assert seen == [False, True, True]
