"""The aiohttp request backend (bot/channels/telegram_http.py) against the fake Bot API and bad servers."""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.app import running_bot
from bot.channels.telegram_http import AiohttpRequest
from bot.config import Settings
from catalog.db import Database
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "777001:HTTP-CLIENT-TEST"
# PTB's RetryAfter.__init__ itself reads the deprecated int `retry_after`; not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2.*retry_after:telegram.warnings.PTBDeprecationWarning"
)

HTML = '<b>Mỳ Chũ</b> &amp; <i>vải thiều</i> 🍜 <a href="https://example.org/?a=1&amp;b=2">xem</a>'
KEYBOARD = InlineKeyboardMarkup([
    [InlineKeyboardButton("Mỳ Chũ", callback_data="p:101"), InlineKeyboardButton("Vải 🍒", callback_data="p:102")],
    [InlineKeyboardButton("Bản đồ", url="https://example.org/map?x=1&y=2")],
])  # fmt: skip


def make_bot(base_url: str, base_file_url: str | None = None, **timeouts: float) -> Bot:
    return Bot(TOKEN, base_url=base_url, base_file_url=base_file_url or base_url.replace("/bot", "/file/bot"),
               request=AiohttpRequest(**timeouts),
               get_updates_request=AiohttpRequest(connection_pool_size=1, **timeouts))  # fmt: skip


@pytest.fixture
async def bot(api: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with make_bot(api.base_url, api.base_file_url) as tg_bot:
        yield tg_bot


async def test_send_message_round_trip(api: FakeTelegramAPI, bot: Bot) -> None:
    assert (await bot.get_me()).id == 777001
    message = await bot.send_message(42, "xin chào")
    assert message.text == "xin chào" and message.chat.id == 42
    assert api.messages_to(42) == ["xin chào"]
    call = api.calls("sendMessage")[0]
    assert call.params["chat_id"] == 42 and call.ok


async def test_html_and_markup_reach_the_server_intact(api: FakeTelegramAPI, bot: Bot) -> None:
    message = await bot.send_message(42, HTML, parse_mode="HTML", reply_markup=KEYBOARD)

    call = api.calls("sendMessage")[0]
    assert call.params["text"] == HTML
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == KEYBOARD.to_dict()
    assert message.text == "Mỳ Chũ & vải thiều 🍜 xem"
    assert [e.type for e in message.entities] == ["bold", "italic", "text_link"]
    assert message.entities[2].url == "https://example.org/?a=1&b=2"
    assert message.reply_markup == KEYBOARD


async def test_edit_and_answer_callback(api: FakeTelegramAPI, bot: Bot) -> None:
    sent = await bot.send_message(42, "<b>một</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("<i>hai</i>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.text == "hai"
    api.push_callback(42, sent.message_id, "p:101")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "p:101"
    assert await bot.answer_callback_query(update.callback_query.id, text="Đã chọn ✓") is True
    assert api.callback_answers[update.callback_query.id]["text"] == "Đã chọn ✓"
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(update.callback_query.id, text="again")


async def test_send_document_uploads_the_file(api: FakeTelegramAPI, bot: Bot) -> None:
    payload = b"PK\x03\x04" + bytes(range(256)) * 40 + b"\r\n--boundary?\r\n"
    message = await bot.send_document(
        42, InputFile(payload, filename='báo giá "OCOP".xlsx'), caption="<b>Báo giá</b> tháng 5", parse_mode="HTML",
        reply_markup=KEYBOARD,
    )  # fmt: skip
    assert message.document is not None and message.document.file_name == 'báo giá "OCOP".xlsx'
    assert message.caption == "Báo giá tháng 5"

    (uploaded,) = api.documents
    assert uploaded.content == payload
    assert uploaded.filename == 'báo giá "OCOP".xlsx'
    assert uploaded.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    call = api.calls("sendDocument")[0]
    assert call.params["caption"] == "<b>Báo giá</b> tháng 5"
    assert call.params["reply_markup"] == KEYBOARD.to_dict()
    # and the download path (a GET on the file URL)
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload


async def test_429_raises_retry_after(api: FakeTelegramAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", "429", retry_after=7)
    with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
        await bot.send_message(42, "x")
    assert api.messages_to(42) == []


async def test_400_raises_bad_request(api: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(42, "<b>unclosed", parse_mode="HTML")
    api.fail_next("sendMessage", "400", description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(42, "x")


async def test_server_errors_and_dropped_connection(api: FakeTelegramAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", "502")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(42, "x")
    api.fail_next("sendMessage", "disconnect")
    with pytest.raises(NetworkError) as excinfo:
        await bot.send_message(42, "x")
    assert not isinstance(excinfo.value, TimedOut)
    await bot.send_message(42, "still fine")
    assert api.messages_to(42) == ["still fine"]


async def test_no_answer_in_time_raises_timed_out(api: FakeTelegramAPI) -> None:
    async with make_bot(api.base_url, read_timeout=0.3) as bot:
        api.fail_next("sendMessage", "timeout")
        start = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(42, "x")
        assert time.monotonic() - start < 2
        # a per-call read timeout overrides the default
        api.fail_next("sendMessage", "timeout", seconds=0.5)
        await bot.send_message(42, "slow but answered", read_timeout=3)
    assert api.messages_to(42) == ["slow but answered"]


async def test_long_poll_is_not_a_read_timeout(api: FakeTelegramAPI) -> None:
    """getUpdates waits `timeout` seconds on top of the read timeout, as with HTTPXRequest."""
    async with make_bot(api.base_url, read_timeout=0.5) as bot:
        assert await bot.get_updates(timeout=dtm.timedelta(seconds=1)) == ()
        api.push_message(42, "chào")
        (update,) = await bot.get_updates(timeout=dtm.timedelta(seconds=1))
    assert update.message is not None and update.message.text == "chào"


async def test_pool_timeout_when_all_connections_are_busy(api: FakeTelegramAPI) -> None:
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.2)
    async with Bot(TOKEN, base_url=api.base_url, request=request) as bot:
        api.fail_next("sendMessage", "timeout", seconds=1.0)
        slow = asyncio.create_task(bot.send_message(42, "slow"))
        await api.wait_for(lambda: len(api.requests) >= 2)  # getMe, then the slow sendMessage
        with pytest.raises(TimedOut):
            await bot.send_message(42, "no connection for me")
        assert (await slow).text == "slow"


async def test_concurrent_calls_share_the_pool(api: FakeTelegramAPI) -> None:
    async with Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest(connection_pool_size=3)) as bot:
        await asyncio.gather(*(bot.send_message(42, f"tin {i}") for i in range(30)))
    assert sorted(api.messages_to(42)) == sorted(f"tin {i}" for i in range(30))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_raises_network_error() -> None:
    bot = make_bot(f"http://127.0.0.1:{free_port()}/bot")
    try:
        with pytest.raises(NetworkError) as excinfo:
            await bot.initialize()  # getMe
    finally:
        await bot.shutdown()
    assert not isinstance(excinfo.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in str(excinfo.value)


async def test_server_that_never_reads_the_upload_times_out() -> None:
    """aiohttp has no write timeout of its own: the request's deadline covers a stalled upload."""
    accepted: list[asyncio.StreamWriter] = []

    async def never_read(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest(read_timeout=0.3, connect_timeout=0.3, pool_timeout=0.3, media_write_timeout=0.3)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    try:
        await request.initialize()  # not bot.initialize(): its getMe would time out already
        start = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_document(42, InputFile(b"x" * (64 << 20), filename="big.bin"))
        assert time.monotonic() - start < 3
    finally:
        await request.shutdown()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_shutdown_and_initialize_again(api: FakeTelegramAPI) -> None:
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=api.base_url, request=request)
    async with bot:
        await bot.send_message(42, "một")
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{api.base_url}{TOKEN}/getMe")
    async with bot:
        await bot.send_message(42, "hai")
    await request.shutdown()  # twice is harmless
    assert api.messages_to(42) == ["một", "hai"]


async def test_the_bot_application_uses_it(api: FakeTelegramAPI, settings: Settings, db: Database) -> None:
    tg_settings = settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url})
    async with running_bot(tg_settings, channel="telegram", db=db) as running:
        app = running.telegram
        assert app is not None
        assert isinstance(app.bot.request, AiohttpRequest)
        assert isinstance(app.bot._request[0], AiohttpRequest)  # the getUpdates one, a pool of its own
        assert app.bot._request[0] is not app.bot.request
        api.push_command(4242, "start", language_code="en")
        assert await api.wait_for_messages(4242, 1, timeout=15)
