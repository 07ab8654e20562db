"""The durable inbox in the running bot: an update that cannot be handled is parked (kept, counted, logged once
without its text) and the others go on; `ocop-bot doctor` lists it; replies survive 5xx bursts and timeouts."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import RunningBot, StartupError, running_bot
from bot.config import Settings
from bot.doctor import cmd_doctor
from catalog.db import Database
from catalog.models import InboxEntry
from handlers import router as router_module
from locales import translator
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "434343:INBOX-TEST"
WAIT = 20.0
SECRET_WORDS = "my secret order for 77 tonnes"


@pytest.fixture
def tg_settings(settings: Settings, api: FakeTelegramAPI) -> Settings:
    return settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url,
                                       "staff_chat_id": -1000})


@pytest.fixture
async def bot(tg_settings: Settings, db: Database) -> AsyncIterator[RunningBot]:
    async with running_bot(tg_settings, channel="telegram", db=db) as running:
        assert running.telegram_inbox is not None
        running.telegram_inbox.processor.base_delay = 0.01
        yield running


async def statuses(db: Database) -> dict[str, tuple[str, int]]:
    async with db.session() as session:
        return {e.key: (e.status, e.attempts) for e in (await session.scalars(select(InboxEntry))).all()}


async def test_failing_and_unreadable_updates_are_parked_and_the_rest_answered(
    bot: RunningBot, api: FakeTelegramAPI, db: Database, tg_settings: Settings,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    async def boom(ctx, rest):  # type: ignore[no-untyped-def]
        raise RuntimeError("the handler broke")

    monkeypatch.setitem(router_module.COMMANDS, "/boom", boom)
    unreadable = api.push_update({"message": {"message_id": 1, "date": 1, "chat": "not a chat", "text": SECRET_WORDS}})
    failing = api.push_message(601, f"/boom {SECRET_WORDS}", language_code="en")
    fine = api.push_message(602, "/help", language_code="en")
    after = api.push_message(601, "/help", language_code="en")  # the same chat goes on after the parked one
    sorry = translator("en")._("Sorry, something went wrong on our side. Please try again in a moment.")
    await api.wait_for(lambda: sorry in api.messages_to(601) and len(api.messages_to(601)) >= 2, WAIT)
    await api.wait_for(lambda: len(api.messages_to(602)) >= 1, WAIT)

    async def settled() -> dict[str, tuple[str, int]]:
        for _ in range(200):
            found = await statuses(db)
            if all(found.get(str(u), ("",))[0] in ("done", "parked") for u in (unreadable, failing, fine, after)):
                return found
            await asyncio.sleep(0.05)
        return await statuses(db)

    found = await settled()
    assert found[str(unreadable)] == ("parked", 1)
    assert found[str(failing)] == ("parked", 5)
    assert found[str(fine)][0] == found[str(after)][0] == "done"
    parked_logs = [r for r in caplog.records if "parked" in r.getMessage()]
    assert len(parked_logs) == 2  # once each
    assert not any(SECRET_WORDS in r.getMessage() or SECRET_WORDS in (r.exc_text or "") for r in caplog.records)

    code = await cmd_doctor(argparse.Namespace(), tg_settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "parked updates" in out and f"key {failing}" in out and f"key {unreadable}" in out
    assert "RuntimeError" in out and SECRET_WORDS not in out


async def test_replies_survive_a_burst_of_server_errors_and_a_stall(bot: RunningBot, api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", "502", times=2)
    api.fail_next("sendMessage", "500")
    api.fail_next("sendMessage", "disconnect")
    api.push_message(611, "/help", language_code="en")
    texts = await api.wait_for_messages(611, 1, timeout=WAIT)
    sorry = translator("en")._("Sorry, something went wrong on our side. Please try again in a moment.")
    assert texts and sorry not in texts
    assert len(api.failed_calls("sendMessage")) == 4


@pytest.fixture(autouse=True)
def _log_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


async def test_a_flooding_chat_does_not_keep_others_waiting(bot: RunningBot, api: FakeTelegramAPI) -> None:
    """One chat sends 300 messages, then another chat one: that one is answered long before the flood is.
    (Ordering, not timing: how many of the flood's answers went out before the other chat's first.)"""
    for n in range(300):
        api.push_message(621, "cảm ơn" if n % 2 else "/help", language_code="en")
    api.push_message(622, "/help", language_code="en")
    await api.wait_for(lambda: len(api.messages_to(622)) >= 1, WAIT * 3)
    sends = [c.params.get("chat_id") for c in api.calls("sendMessage")]
    before = sends[: sends.index(622)].count(621)
    assert before < 30, f"{before} answers to the flooding chat went out before the other chat's first"


async def test_a_second_polling_process_is_refused_with_one_clear_line(
    bot: RunningBot, tg_settings: Settings, db: Database, api: FakeTelegramAPI
) -> None:
    other_db = Database(db.url)  # another process's engine on the same database
    try:
        with pytest.raises(StartupError) as refused:
            async with running_bot(tg_settings, channel="telegram", db=other_db):
                pass
    finally:
        await other_db.dispose()
    message = str(refused.value)
    assert "already receiving this bot's updates" in message and "\n" not in message
    assert not [c for c in api.failed_calls("getUpdates") if c.status == 409]  # no Conflict fight
    api.push_message(631, "/help", language_code="en")
    assert await api.wait_for_messages(631, 1, timeout=WAIT)  # the first one goes on


async def test_a_chat_writing_faster_than_a_person_is_told_once_slowed_and_answered_in_full(
    bot: RunningBot, api: FakeTelegramAPI, db: Database
) -> None:
    """60 messages at once from one chat (more than 20 in 10 s), while two other chats write normally: the
    flooding chat gets one polite notice in its language after its first 20 answers, then every message is
    still answered, in order; the others are answered without waiting for the flood. A second flood within
    the hour brings no second notice."""
    processor = bot.telegram_inbox.processor  # type: ignore[union-attr]
    processor.flood_pace = 0.05  # the pace itself is a setting (1 s); the behaviour is what is checked here
    notice = {lang: translator(lang)._("You are sending messages faster than I can read them. I will answer every "
                                       "one, in order, but more slowly: about one a second.") for lang in ("en", "vi")}
    flood = [api.push_message(641, f"/start {n}" if n % 2 else "thanks", language_code="en") for n in range(60)]
    api.push_message(642, "/help", language_code="en")
    api.push_message(643, "cảm ơn", language_code="vi")
    await api.wait_for(lambda: api.messages_to(642) and api.messages_to(643), WAIT * 3)
    sends = [c.params.get("chat_id") for c in api.calls("sendMessage")]
    assert sends[: sends.index(642)].count(641) < 25 and sends[: sends.index(643)].count(641) < 25

    async def finished() -> bool:
        found = await statuses(db)
        return all(found.get(str(u), ("",))[0] == "done" for u in flood)

    for _ in range(int(WAIT * 3 / 0.1)):
        if await finished():
            break
        await asyncio.sleep(0.1)
    assert await finished()
    texts = api.messages_to(641)
    assert texts.count(notice["en"]) == 1 and notice["vi"] not in texts
    answers = [t for t in texts if t != notice["en"]]
    assert len(answers) >= 60  # every message answered (a /start may add a keyboard line)
    greetings = [n for n, t in enumerate(texts) if t.startswith("Hello")]
    assert len(greetings) == 30 and texts.index(notice["en"]) >= 20  # 20 answered at once, then the notice
    assert processor.flood_notices == 1

    # A Vietnamese chat flooding gets the notice in Vietnamese; the English chat's next flood gets none.
    for _ in range(25):
        api.push_message(644, "cảm ơn", language_code="vi")
        api.push_message(641, "thanks", language_code="en")
    await api.wait_for(lambda: notice["vi"] in api.messages_to(644), WAIT * 3)
    await api.wait_for(lambda: len(api.messages_to(644)) >= 26 and len(api.messages_to(641)) >= len(texts) + 25,
                       WAIT * 3)
    assert api.messages_to(641).count(notice["en"]) == 1 and api.messages_to(644).count(notice["vi"]) == 1


async def test_a_chat_whose_database_look_fails_is_looked_at_again(
    bot: RunningBot, api: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refusing a connection ("too many clients") while a chat's next update is looked up must not
    leave the chat unanswered until the next start: its task backs off and looks again."""
    from catalog import inbox as inbox_module

    real = inbox_module.look_at_chat
    failures = {"left": 3}

    async def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("sorry, too many clients already")
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbox_module, "look_at_chat", flaky)
    api.push_message(611, "/help", language_code="en")
    await api.wait_for(lambda: len(api.messages_to(611)) >= 1, WAIT, message="the chat was never answered")
    assert failures["left"] == 0
    assert any("trying again" in r.getMessage() for r in caplog.records)


def posted_update(update_id: int, chat_id: int, text: str) -> dict[str, object]:
    """An update as Telegram posts it to a webhook."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "en"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1_764_900_000, "text": text,
                                                "chat": {"id": chat_id, "type": "private"}, "from": user}}


async def test_webhook_posts_arriving_together_share_a_commit_and_a_refused_one_fails_alone(
    bot: RunningBot, api: FakeTelegramAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Posts that arrive while a commit is under way are stored in one transaction; when the database refuses
    that batch, each update is tried on its own, so only the one it refuses fails its post (Telegram sends that
    one again) and the others are stored and answered."""
    from catalog import inbox as inbox_module

    real = inbox_module.accept
    batches: list[list[str]] = []

    async def refusing(db_, channel, items, owner):  # type: ignore[no-untyped-def]
        batches.append([key for key, *_ in items])
        if "70003" in batches[-1]:
            raise ValueError("the database refused this row")
        return await real(db_, channel, items, owner)

    monkeypatch.setattr(inbox_module, "accept", refusing)
    telegram = bot.telegram_inbox
    assert telegram is not None
    posts = [posted_update(70000 + n, 7100 + n, "/help") for n in range(1, 6)]
    results = await asyncio.gather(*(telegram._accept_posted(p) for p in posts), return_exceptions=True)

    assert batches[0] == ["70001", "70002", "70003", "70004", "70005"]  # one transaction for the five posts
    assert sorted(batches[1:]) == [["70001"], ["70002"], ["70003"], ["70004"], ["70005"]]  # then each alone
    assert [type(r).__name__ for r in results] == ["NoneType", "NoneType", "ValueError", "NoneType", "NoneType"]
    stored = await statuses(db)
    assert "70003" not in stored and {"70001", "70002", "70004", "70005"} <= set(stored)
    for chat in (7101, 7102, 7104, 7105):
        await api.wait_for(lambda c=chat: len(api.messages_to(c)) >= 1, WAIT, message=f"chat {chat} was not answered")
    assert api.messages_to(7103) == []
