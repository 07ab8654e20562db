"""Demand-insight events: what a chat records, the monthly chat key, /forget, retention, batching."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import Settings
from catalog import events
from catalog.db import Database
from catalog.models import Event
from tests.harness import ChatHarness

SECRET = "test-events-secret"


@pytest.fixture
def insight_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"events_secret": SecretStr(SECRET)})


async def stored(db: Database) -> list[Event]:
    async with db.session() as session:
        return list((await session.scalars(select(Event).order_by(Event.id))).all())


def test_chat_key_is_keyed_monthly_and_does_not_reveal_the_chat() -> None:
    secret = SECRET.encode()
    key = events.chat_key(secret, "telegram", "123456789", "2026-12")
    assert len(key) == 32 and "123456789" not in key
    assert key == events.chat_key(secret, "telegram", "123456789", "2026-12")  # the same within a month
    assert key != events.chat_key(secret, "telegram", "123456789", "2027-01")  # rotates monthly
    assert key != events.chat_key(b"another secret", "telegram", "123456789", "2026-12")
    assert key != events.chat_key(secret, "zalo", "123456789", "2026-12")
    # Without the secret, hashing guesses of the chat id does not find it (unlike a plain hash).
    for guess in ("123456789", "telegram:123456789", "telegram:123456789:2026-12"):
        for algorithm in (hashlib.sha256, hashlib.md5, hashlib.sha1, hashlib.blake2b):
            assert not algorithm(guess.encode()).hexdigest().startswith(key)


def test_typed_phone_numbers_and_emails_are_masked() -> None:
    assert events.clean_query("Mật ong 0912 345 678 gọi em") == "mat ong # goi em"
    assert events.clean_query("vải thiều +84912345678") == "vai thieu #"
    assert events.clean_query("gửi báo giá về lan@example.com nhé") == "gui bao gia ve @ nhe"
    assert events.clean_query("mua 500 kg vải") == "mua 500 kg vai"
    assert len(events.clean_query("vải " * 100)) == events.QUERY_CHARS


async def test_a_chat_records_searches_views_and_form_steps_without_who(
    db: Database, insight_settings: Settings
) -> None:
    chat = ChatHarness(
        db,
        insight_settings,
        channel="telegram",
        chat_id="555123",
        user_id="555123",
        display_name="Nguyễn Văn An",
    )
    await chat.send("/start")
    await chat.send("mỳ chũ")
    await chat.send("cam bố hạ")
    await chat.click("p:ga-doi-yen-the")
    await chat.click("where:ga-doi-yen-the")
    await chat.click("contact:ga-doi-yen-the")
    await chat.click("enq:start:ga-doi-yen-the")
    await chat.send("hủy")
    await chat.send("hủy")  # the form asks first ("Huỷ yêu cầu mua sỉ này?"); a second cancel discards it
    assert await stored(db) == []  # buffered: nothing written on the chat's path
    await chat.router.services.events.flush()
    rows = await stored(db)
    assert [(e.kind, e.query, e.results, e.product, e.step) for e in rows] == [
        ("search", "my chu", 6, "my-gao-luc-ngan-hang-hieu", "product"),
        ("search", "cam bo ha", 0, "", "product"),
        ("card_view", "", None, "ga-doi-yen-the", ""),
        ("where_view", "", None, "ga-doi-yen-the", ""),
        ("contact_view", "", None, "ga-doi-yen-the", ""),
        ("form_start", "", None, "ga-doi-yen-the", "quantity"),
        ("form_abandoned", "", None, "", "quantity"),
    ]
    key = events.chat_key(SECRET.encode(), "telegram", "555123", events.month_of(events.utcnow()))
    assert {e.chat_key for e in rows} == {key}
    assert {(e.channel, e.language) for e in rows} == {("telegram", "vi")}
    for event in rows:  # nothing of the person
        assert "555123" not in repr(vars(event)) and "Nguy" not in repr(vars(event))


async def test_forget_cuts_the_chats_events_loose(db: Database, insight_settings: Settings) -> None:
    chat = ChatHarness(db, insight_settings, chat_id="777", user_id="777")
    other = chat.as_user("888")
    await chat.send("vải thiều")
    await other.send("mật ong")
    await chat.router.services.events.flush()
    await chat.send("mỳ chũ")  # still in the buffer when /forget comes
    await chat.send("/forget")
    await chat.click("enq:forget")
    await chat.router.services.events.flush()
    rows = await stored(db)
    mine = [e for e in rows if e.query in ("vai thieu", "my chu")]
    assert len(mine) == 2 and all(e.chat_key is None for e in mine)
    theirs = [e for e in rows if e.query == "mat ong"]
    assert len(theirs) == 1 and theirs[0].chat_key is not None
    assert len(rows) == 3  # the /forget itself records nothing


async def test_a_search_is_recorded_as_what_was_asked_and_chat_is_no_demand(
    db: Database, insight_settings: Settings
) -> None:
    chat = ChatHarness(db, insight_settings, chat_id="779", user_id="779")
    await chat.send("Mật ong bán ở đâu shop?")  # searched as written, recorded as what was asked
    await chat.send("bên mình có những sp gì vậy")  # no product named: the catalogue is shown, no demand
    await chat.send("hoa tươi")  # a product the catalogue lacks: unmet demand
    await chat.router.services.events.flush()
    searches = [(e.query, e.results) for e in await stored(db) if e.kind == "search"]
    assert searches == [("mat ong", 4), ("hoa tuoi", 0)], searches


async def test_retention_deletes_events_older_than_the_setting(db: Database) -> None:
    now = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    buffer = events.EventBuffer(db, b"k")
    ages = {
        "old": dt.datetime(2025, 11, 4, tzinfo=dt.UTC),
        "edge": dt.datetime(2025, 11, 5, 3, 0, tzinfo=dt.UTC),
        "recent": dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    }
    buffer.add(events.row(events.SEARCH, query=name, at=at) for name, at in ages.items())
    assert await buffer.flush() == 3
    assert await events.delete_expired(db, 13, now) == 1
    assert {e.query for e in await stored(db)} == {"edge", "recent"}
    assert await events.delete_expired(db, 1, now) == 2
    assert await stored(db) == []
    assert events.retention_cutoff(dt.datetime(2026, 3, 31, tzinfo=dt.UTC), 1) == dt.datetime(
        2026, 2, 28, tzinfo=dt.UTC
    )


async def test_the_buffer_writes_in_batches_and_keeps_rows_when_the_database_fails(db: Database) -> None:
    buffer = events.EventBuffer(db, b"k", batch=5)
    buffer.add(events.row(events.SEARCH, query=str(n)) for n in range(4))
    assert len(buffer.pending) == 4  # below a batch: nothing scheduled
    buffer.add([events.row(events.SEARCH, query="4")])
    await buffer.stop()  # waits for the scheduled batch
    assert buffer.written == 5 and buffer.pending == []
    await db.dispose()
    broken = events.EventBuffer(Database("sqlite+aiosqlite:////nonexistent-dir/x/y.db"), b"k")
    broken.add([events.row(events.SEARCH, query="kept")])
    assert await broken.flush() == 0
    assert [r["query"] for r in broken.pending] == ["kept"]
    async with db.session() as session:
        assert await session.scalar(select(func.count(Event.id))) == 5


async def test_a_batch_the_database_refuses_is_dropped_not_retried_forever(db: Database) -> None:
    buffer = events.EventBuffer(db, b"k")
    buffer.add([events.row(events.SEARCH, query="bad", products=[object()])])  # cannot be stored as JSON
    assert await buffer.flush() == 0 and buffer.pending == []
    buffer.add([events.row(events.SEARCH, query="good")])
    assert await buffer.flush() == 1
    assert [e.query for e in await stored(db)] == ["good"]


async def test_the_daily_job_deletes_past_the_retention_once_a_day(db: Database, settings: Settings) -> None:
    from bot.digest import InsightJobs

    now = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    buffer = events.EventBuffer(db, b"k")
    buffer.add([events.row(events.SEARCH, query="old", at=dt.datetime(2025, 10, 1, tzinfo=dt.UTC))])
    await buffer.flush()
    jobs = InsightJobs(db, settings.model_copy(update={"events_retention_months": 13}))
    assert await jobs.delete_expired(now) == 1
    buffer.add([events.row(events.SEARCH, query="old too", at=dt.datetime(2025, 10, 2, tzinfo=dt.UTC))])
    await buffer.flush()
    assert await jobs.delete_expired(now + dt.timedelta(hours=23)) == 0  # not again the same day
    assert await jobs.delete_expired(now + dt.timedelta(days=1)) == 1
    assert await stored(db) == []
