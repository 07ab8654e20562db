"""End to end: the real python-telegram-bot Application, polling the local fake Bot API, on a real database."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.app import RunningBot, StartupError, Webhook, running_bot
from bot.channels.telegram import split_html
from bot.config import Settings
from catalog.db import Database
from handlers.messages import Reply
from locales import translator
from tests.fakes.telegram_api import FakeTelegramAPI, parse_html
from tests.harness import ChatHarness

TOKEN = "424242:OCOP-TEST-TOKEN"
WAIT = 15.0  # generous: PostgreSQL on a busy CI machine
VIETNAMESE = re.compile(r"[ăâđêôơưàáạảãầấậẩẫằắặẳẵèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡùúụủũừứựửữỳýỵỷỹ]", re.I)
BAC_GIANG_CITY = (21.2731, 106.1946)


@pytest.fixture
def tg_settings(settings: Settings, api: FakeTelegramAPI) -> Settings:
    return settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url})


@pytest.fixture
async def bot(tg_settings: Settings, db: Database) -> AsyncIterator[RunningBot]:
    async with running_bot(tg_settings, channel="telegram", db=db) as running:
        yield running


def visible(reply_html: str) -> list[str]:
    """What Telegram shows for one reply text: the parts' visible text."""
    return [parse_html(part)[0].strip() for part in split_html(reply_html)]


async def expected(db: Database, settings: Settings, *steps: tuple[str, Any], lang: str | None = "vi") -> list[Reply]:
    """The channel-neutral core's answer to the last step, in a chat of its own."""
    chat = ChatHarness(db, settings, channel="reference", chat_id="reference", language_hint=lang,
                       display_name="Test")  # the fake's default first name
    replies: list[Reply] = []
    for kind, value in steps:
        if kind == "text":
            replies = await chat.send(value)
        elif kind == "click":
            replies = await chat.click(value)
        else:
            replies = await chat.share_location(*value)
    return replies


def callback_data(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


async def test_start_in_vietnamese_and_english(bot: RunningBot, api: FakeTelegramAPI, db: Database,
                                               tg_settings: Settings) -> None:
    api.push_command(111, "start", language_code="vi")
    api.push_command(222, "start", language_code="en")
    vi = await api.wait_for_messages(111, 1, timeout=WAIT)
    en = await api.wait_for_messages(222, 1, timeout=WAIT)

    want_vi = await expected(db, tg_settings, ("text", "/start"), lang="vi")
    want_en = await expected(db, tg_settings, ("text", "/start"), lang="en")
    assert want_vi and want_en
    assert vi == [p for r in want_vi for p in visible(r.text)]
    assert en == [p for r in want_en for p in visible(r.text)]
    assert VIETNAMESE.search(vi[0]) and not VIETNAMESE.search(en[0])
    # the main menu's buttons arrive as inline buttons with the handler's payloads
    menu = api.bot_messages(111)[-1]
    assert callback_data(menu) == ChatHarness.payloads(want_vi[-1:])


async def test_replies_sent_without_reading_the_answer_keep_the_bots_defaults(
    bot: RunningBot, api: FakeTelegramAPI
) -> None:
    """The inbox sends replies through `UnreadAnswers` (Telegram's answer is not parsed): each message and
    edit still goes as HTML without link previews, with its keyboard, as the bot's own methods send it."""
    api.push_message(333, "mỳ chũ")
    await api.wait_for_messages(333, 1, timeout=WAIT)
    products = [d for m in api.bot_messages(333) for d in callback_data(m) if d.startswith("p:")]
    assert products
    before = len(api.calls("editMessageText", chat_id=333)) + len(api.calls("sendMessage", chat_id=333))
    tap = api.push_callback(333, api.bot_messages(333)[-1]["message_id"], products[0])
    await api.wait_for(lambda: api.callback_answer(tap) is not None, WAIT, message="callback answered")
    await api.wait_for(
        lambda: len(api.calls("editMessageText", chat_id=333)) + len(api.calls("sendMessage", chat_id=333)) > before,
        WAIT,
    )
    sent = api.calls("sendMessage", chat_id=333) + api.calls("editMessageText", chat_id=333)
    assert sent
    for call in sent:
        assert call.params.get("parse_mode") == "HTML", call.params
        assert call.params.get("link_preview_options", {}).get("is_disabled") is True, call.params
    assert any(call.params.get("reply_markup") for call in sent)


async def test_search_shows_products_and_a_tap_opens_the_card(bot: RunningBot, api: FakeTelegramAPI) -> None:
    api.push_message(111, "mỳ chũ")
    await api.wait_for_messages(111, 1, timeout=WAIT)
    answer = api.bot_messages(111)
    assert "Chũ" in " ".join(m["text"] for m in answer)
    products = [d for m in answer for d in callback_data(m) if d.startswith("p:")]
    assert products, f"expected product buttons, got {answer}"

    before = len(api.calls("sendMessage")) + len(api.calls("editMessageText"))
    tap = api.push_callback(111, answer[-1]["message_id"], products[0])
    await api.wait_for(lambda: api.callback_answer(tap) is not None, WAIT, message="callback answered")
    await api.wait_for(lambda: len(api.calls("sendMessage")) + len(api.calls("editMessageText")) > before, WAIT)
    card = api.bot_messages(111)[-1]
    slug = products[0].removeprefix("p:")
    assert any(d.endswith(slug) for d in callback_data(card) if d != products[0]), card
    assert api.is_confirmed(tap) or api.was_delivered(tap)


async def test_inline_query_lists_products(bot: RunningBot, api: FakeTelegramAPI) -> None:
    query = api.push_inline_query(333, "mỳ chũ", language_code="en")
    answer = await api.wait_for(lambda: api.inline_answer(query), WAIT, message="inline answer")
    results = answer["results"]
    assert 1 <= len(results) <= 50
    titles = [r["title"] for r in results]
    assert any("Chũ" in title for title in titles)
    first = results[0]
    assert first["type"] == "article" and first["input_message_content"]["parse_mode"] == "HTML"
    text = first["input_message_content"]["message_text"]
    assert text.startswith(f"<b>{first['title']}</b>")
    assert "Producer:" in text  # in the asking user's language
    assert int(answer.get("cache_time", 300)) <= 60


async def test_inline_query_without_text_offers_to_open_the_bot(bot: RunningBot, api: FakeTelegramAPI) -> None:
    query = api.push_inline_query(333, "", language_code="vi")
    answer = await api.wait_for(lambda: api.inline_answer(query), WAIT)
    assert answer["results"] == []
    assert answer["button"]["start_parameter"] == "inline"


async def test_shared_location_is_answered_with_nearest_stores(bot: RunningBot, api: FakeTelegramAPI,
                                                               db: Database, tg_settings: Settings) -> None:
    api.push_location(111, *BAC_GIANG_CITY)
    texts = await api.wait_for_messages(111, 1, timeout=WAIT)
    want = await expected(db, tg_settings, ("location", BAC_GIANG_CITY))
    assert want, "the core has an answer for a shared location"
    assert texts == [p for r in want for p in visible(r.text)]
    assert re.search(r"\d+([.,]\d+)?\s*km", " ".join(texts)), texts  # distances shown


async def test_where_to_buy_asks_for_the_location_with_a_keyboard_button(bot: RunningBot,
                                                                         api: FakeTelegramAPI) -> None:
    api.push_message(111, "mua vải thiều ở đâu")
    await api.wait_for(lambda: api.reply_keyboard(111), WAIT, message="a reply keyboard")
    keyboard = api.reply_keyboard(111)
    assert keyboard is not None
    buttons = [b for row in keyboard["keyboard"] for b in row]
    assert any(isinstance(b, dict) and b.get("request_location") for b in buttons)
    assert keyboard.get("resize_keyboard") is True


async def test_429_is_retried_and_the_message_arrives_once(bot: RunningBot, api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", "429", retry_after=1)
    api.push_command(111, "help", language_code="en")
    await api.wait_for_messages(111, 1, timeout=WAIT)
    await asyncio.sleep(0.3)  # would a duplicate follow?
    assert [c.fault for c in api.failed_calls("sendMessage")] == ["429"]
    assert len(api.calls("sendMessage", chat_id=111)) == len(api.messages_to(111))
    assert len(api.messages_to(111)) == len(set(api.messages_to(111)))


async def test_command_menus_in_vietnamese_and_english(bot: RunningBot, api: FakeTelegramAPI) -> None:
    vi, en, default = api.get_commands("vi"), api.get_commands("en"), api.get_commands("")
    names = ["start", "help", "lang", "myenquiries", "forget"]
    assert [c["command"] for c in vi] == names
    assert [c["command"] for c in en] == names
    assert default == vi  # everybody else gets Vietnamese
    assert en[0]["description"] == "Start and show the main menu"
    assert vi[0]["description"] == translator("vi")._("Start and show the main menu")
    assert vi[0]["description"] != en[0]["description"]


async def test_a_sticker_gets_a_polite_answer(bot: RunningBot, api: FakeTelegramAPI) -> None:
    api._push_user_message(111, {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                                             "width": 512, "height": 512, "is_animated": False,
                                             "is_video": False}}, language_code="en")
    texts = await api.wait_for_messages(111, 1, timeout=WAIT)
    assert texts == [translator("en")._("I can read text messages, shared locations and contacts. "
                                        "Type the name of a product, or /help.")]


async def test_failed_send_is_answered_politely_in_the_users_language(bot: RunningBot,
                                                                      api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", "400", description="Bad Request: something odd")
    api.push_command(111, "start", language_code="en")
    texts = await api.wait_for_messages(111, 1, timeout=WAIT)
    sorry = translator("en")._("Sorry, something went wrong on our side. Please try again in a moment.")
    assert texts[0] == sorry
    assert "Traceback" not in " ".join(texts)


async def test_restart_keeps_buttons_working(tg_settings: Settings, db: Database, api: FakeTelegramAPI) -> None:
    async with running_bot(tg_settings, channel="telegram", db=db):
        api.push_message(111, "mỳ chũ")
        await api.wait_for_messages(111, 1, timeout=WAIT)
    old = api.bot_messages(111)[-1]
    product = next(d for d in callback_data(old) if d.startswith("p:"))
    sent_before = len(api.messages_to(111))

    # A new process: new Application, new router, the same database.
    async with running_bot(tg_settings, channel="telegram", db=db):
        tap = api.push_callback(111, old["message_id"], product)
        await api.wait_for(lambda: api.callback_answer(tap) is not None, WAIT)
        await api.wait_for(lambda: api.bot_messages(111)[-1] != old or len(api.messages_to(111)) > sent_before,
                           WAIT, message="the card after the restart")
    card = api.bot_messages(111)[-1]
    assert any(d.endswith(product.removeprefix("p:")) for d in callback_data(card) if d != product)


async def test_one_chat_is_answered_in_order(bot: RunningBot, api: FakeTelegramAPI, db: Database,
                                             tg_settings: Settings) -> None:
    """Different chats run concurrently; one chat's messages are answered in the order sent."""
    chats = (501, 502, 503, 504)
    for chat in chats:
        for text in ("/start", "mỳ chũ", "/help"):
            api.push_message(chat, text, language_code="en")
    reference = ChatHarness(db, tg_settings, channel="reference", chat_id="reference", language_hint="en",
                            display_name="Test")
    want = [p for text in ("/start", "mỳ chũ", "/help") for r in await reference.send(text) for p in visible(r.text)]
    for chat in chats:
        await api.wait_for(lambda c=chat: len(api.messages_to(c)) >= len(want), WAIT)
    for chat in chats:
        assert api.messages_to(chat) == want


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode(tg_settings: Settings, db: Database, api: FakeTelegramAPI) -> None:
    port = _free_port()
    hook = Webhook("https://bot.example.org/telegram/hook", "127.0.0.1", port, "s3cret-token_1")
    async with running_bot(tg_settings, channel="telegram", db=db, webhook=hook):
        assert api.webhook is not None
        assert api.webhook["url"] == hook.url and api.webhook["secret_token"] == hook.secret
        update = {"update_id": 77, "message": {
            "message_id": 1, "date": 1760000000, "chat": {"id": 444, "type": "private", "first_name": "An"},
            "from": {"id": 444, "is_bot": False, "first_name": "An", "language_code": "en"},
            "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        url = f"http://127.0.0.1:{port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert forged.status_code == 403
            real = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": hook.secret})
            assert real.status_code == 200
        texts = await api.wait_for_messages(444, 1, timeout=WAIT)
        assert texts and not VIETNAMESE.search(texts[0])


async def test_a_rejected_token_stops_with_one_line(settings: Settings, db: Database, api: FakeTelegramAPI) -> None:
    wrong = settings.model_copy(update={"telegram_token": SecretStr("1:WRONG"), "telegram_base_url": api.base_url})
    with pytest.raises(StartupError) as stopped:
        async with running_bot(wrong, channel="telegram", db=db):
            pass
    assert stopped.value.exit_code == 2
    assert "OCOP_TELEGRAM_TOKEN" in str(stopped.value) and "\n" not in str(stopped.value)
    assert "WRONG" not in str(stopped.value)  # the token is a secret: never printed


async def test_a_tap_too_old_to_answer_still_gets_its_reply(bot: RunningBot, api: FakeTelegramAPI) -> None:
    api.push_message(111, "mỳ chũ", language_code="en")
    await api.wait_for_messages(111, 1, timeout=WAIT)
    listing = api.bot_messages(111)[-1]
    product = next(d for d in callback_data(listing) if d.startswith("p:"))
    api.fail_next("answerCallbackQuery", "400",
                  description="Bad Request: query is too old and response timeout expired or query ID is invalid")
    api.push_callback(111, listing["message_id"], product, language_code="en")
    await api.wait_for(lambda: api.bot_messages(111)[-1] != listing, WAIT, message="the card")
    await asyncio.sleep(0.3)
    sorry = translator("en")._("Sorry, something went wrong on our side. Please try again in a moment.")
    assert sorry not in api.messages_to(111)
    assert len(api.failed_calls("answerCallbackQuery")) == 1
    assert any(d.endswith(product.removeprefix("p:")) for d in callback_data(api.bot_messages(111)[-1]) if d != product)
