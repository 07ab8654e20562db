"""Self-tests of the fake Telegram Bot API, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import html
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.telegram_api import EntityParseError, FakeTelegramAPI, parse_html, parse_markdown_v2

TOKEN = "123456:TEST-TOKEN"
# PTB's RetryAfter.__init__ itself reads the deprecated int `retry_after`; not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2.*retry_after:telegram.warnings.PTBDeprecationWarning"
)
POLL_TIMEOUT = dtm.timedelta(seconds=1)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(api: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as real_bot:
        yield real_bot


@contextlib.asynccontextmanager
async def running_app(
    api: FakeTelegramAPI, *handlers: object, rate_limiter: AIORateLimiter | None = None
) -> AsyncIterator[Application]:
    builder = ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    for handler in handlers:
        app.add_handler(handler)  # type: ignore[arg-type]
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def wait_for_get_updates(api: FakeTelegramAPI, already: int) -> None:
    """Wait until the server has received more than `already` getUpdates requests."""
    await api.wait_for(lambda: sum(c.method == "getUpdates" for c in api.requests) > already)


def get_updates_count(api: FakeTelegramAPI) -> int:
    return sum(c.method == "getUpdates" for c in api.requests)


# ---------------------------------------------------------------------------------- basics


@pytest.mark.asyncio
async def test_get_me_with_real_bot(api: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "ocop_test_bot"
    assert bot.username == "ocop_test_bot"  # set by Bot.initialize() -> getMe
    assert api.base_url.endswith("/bot")
    assert [c.method for c in api.calls("getMe")] == ["getMe", "getMe"]


@pytest.mark.asyncio
async def test_pushed_start_command_gets_reply(api: FakeTelegramAPI) -> None:
    seen: list[tuple[str | None, list[str]]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        seen.append((user.language_code, list(context.args or [])))
        await update.message.reply_text(f"Xin chào <b>{html.escape(user.first_name)}</b>!", parse_mode="HTML")

    async with running_app(api, CommandHandler("start", start)):
        update_id = api.push_command(111, "start", args="ref_42", first_name="An & Bình")
        texts = await api.wait_for_messages(111, 1)
        await api.wait_for(lambda: api.is_confirmed(update_id) or api.was_delivered(update_id))

    assert texts == ["Xin chào An & Bình!"]
    assert seen == [("vi", ["ref_42"])]
    reply = api.last_message(111)
    assert reply is not None
    assert reply["from"]["id"] == 123456 and reply["from"]["is_bot"]
    assert reply["chat"] == {"id": 111, "type": "private", "first_name": "An & Bình"}
    assert reply["entities"] == [{"type": "bold", "offset": 9, "length": 9}]
    assert reply["message_id"] == 2  # the user's /start was message 1 in this chat
    assert api.is_confirmed(update_id)  # PTB's final getUpdates confirmed it on shutdown
    assert api.failed == []


@pytest.mark.asyncio
async def test_callback_query_round_trip(api: FakeTelegramAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Mỳ Chũ", callback_data="p:1")],
             [InlineKeyboardButton("Bản đồ", url="https://maps.google.com")]]
        )  # fmt: skip
        await update.message.reply_text("Chọn sản phẩm", reply_markup=keyboard)

    async def on_click(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("Đã chọn")
        await query.edit_message_text(f"Bạn chọn {query.data}")

    async with running_app(api, CommandHandler("start", start), CallbackQueryHandler(on_click)):
        api.push_command(222)
        await api.wait_for_messages(222)
        menu = api.last_message(222)
        assert menu is not None and menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "p:1"
        update_id = api.click_button(222, "Mỳ Chũ")
        await api.wait_for_calls("editMessageText")

    assert api.messages_to(222) == ["Bạn chọn p:1"]
    assert api.callback_answer(update_id) is not None
    assert api.callback_answer(update_id)["text"] == "Đã chọn"
    history = api.message_history(222, menu["message_id"])
    assert [m["text"] for m in history] == ["Chọn sản phẩm", "Bạn chọn p:1"]
    assert "reply_markup" not in history[-1]  # editMessageText without markup removes it
    callback = api.updates[update_id]["callback_query"]
    assert callback["message"]["from"]["id"] == 123456
    assert callback["message"]["text"] == "Chọn sản phẩm"


# ---------------------------------------------------------------------------------- validation


@pytest.mark.asyncio
async def test_html_validation(api: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match='(?i)find end tag corresponding to start tag "b"'):
        await bot.send_message(1, "<b>x", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)must be replaced with &amp;"):
        await bot.send_message(1, "Giò & chả", parse_mode="HTML")
    with pytest.raises(BadRequest, match='(?i)unsupported start tag "br/"'):
        await bot.send_message(1, "a<br/>b", parse_mode="HTML")

    message = await bot.send_message(1, html.escape("a < b & c > d"), parse_mode="HTML")
    assert message.text == "a < b & c > d"
    message = await bot.send_message(
        1, '<b>Đậm</b> <a href="https://ocop.vn/?a=1&amp;b=2">link</a> &#128512;', parse_mode="HTML"
    )
    assert message.text == "Đậm link 😀"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 3), ("text_link", 4, 4)]
    assert message.entities[1].url == "https://ocop.vn/?a=1&b=2"

    assert [c.description for c in api.failed] == [
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        api.failed[1].description,
        'Bad Request: can\'t parse entities: Unsupported start tag "br/" at byte offset 1',
    ]
    assert api.messages_to(1) == ["a < b & c > d", "Đậm link 😀"]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("ă<x>", 'Unsupported start tag "x" at byte offset 2'),  # byte offsets, not chars
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("a &nbsp; b", "Character '&' at byte offset 2"),
    ],
)
def test_parse_html_rejects(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as excinfo:
        parse_html(source)
    assert error in str(excinfo.value)


def test_parse_html_accepts_supported_tags() -> None:
    text, entities = parse_html(
        "<strong>a</strong><em>b</em><ins>c</ins><del>d</del><tg-spoiler>e</tg-spoiler>"
        '<span class="tg-spoiler">f</span><code>g</code><pre><code class="language-py">h</code></pre>'
        '<blockquote expandable>i</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        "&lt;&gt;&amp;&quot;&#x1F600;"
    )
    assert text == 'abcdefghi👍<>&"😀'
    assert [e["type"] for e in entities] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "spoiler", "code", "pre",
        "expandable_blockquote", "custom_emoji",
    ]  # fmt: skip
    assert entities[7]["language"] == "py"
    assert parse_html("a & b", strict=False) == ("a & b", [])


def test_parse_markdown_v2() -> None:
    assert parse_markdown_v2("*Giá:* 10\\.000đ")[0] == "Giá: 10.000đ"
    with pytest.raises(EntityParseError, match="Character '.' is reserved"):
        parse_markdown_v2("Giá: 10.000đ")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*đậm")


@pytest.mark.asyncio
async def test_text_length_and_empty_text(api: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="^Message is too long$"):
        await bot.send_message(1, "x" * 4097)
    await bot.send_message(1, "x" * 4096)
    # the limit applies to the visible text after HTML parsing
    await bot.send_message(1, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1, "<b>" + "y" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)text is empty"):
        await bot.send_message(1, "")
    with pytest.raises(BadRequest, match="(?i)text is empty"):
        await bot.send_message(1, "  <b> </b>\n", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)character '!' is reserved"):
        await bot.send_message(1, "Xin chào!", parse_mode="MarkdownV2")

    assert len(api.calls("sendMessage")) == 2
    assert [c.status for c in api.failed] == [400] * 5
    assert api.failed[0].description == "Bad Request: message is too long"


@pytest.mark.asyncio
async def test_keyboard_and_answer_limits(api: FakeTelegramAPI, bot: Bot) -> None:
    ok_data = "ă" * 32  # 64 bytes in UTF-8
    await bot.send_message(
        1, "ok", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data=ok_data)]])
    )
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(
            1,
            "too long",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data=ok_data + "a")]]),
        )

    callback_update = api.push_callback(1, 1, ok_data)
    query_id = api.updates[callback_update]["callback_query"]["id"]
    with pytest.raises(BadRequest, match="(?i)message_too_long"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="x" * 200)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query_id)  # second answer
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("999")

    inline_update = api.push_inline_query(7, "mỳ")
    inline_id = api.updates[inline_update]["inline_query"]["id"]

    def article(result_id: str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(result_id, "Mỳ", InputTextMessageContent("Mỳ Chũ"))

    with pytest.raises(BadRequest, match="(?i)results_too_much"):
        await bot.answer_inline_query(inline_id, [article(str(i)) for i in range(51)])
    with pytest.raises(BadRequest, match="(?i)result_id_invalid"):
        await bot.answer_inline_query(inline_id, [article("x" * 65)])
    assert await bot.answer_inline_query(inline_id, [article(str(i)) for i in range(50)])
    assert len(api.inline_answer(inline_update)["results"]) == 50


@pytest.mark.asyncio
async def test_wire_format_with_raw_http(api: FakeTelegramAPI) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        response = await client.post(f"/bot{TOKEN}/noSuchMethod")
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

        response = await client.post("/bot999:WRONG/getMe")
        assert response.status_code == 401
        assert response.json()["description"] == "Unauthorized"

        response = await client.get(f"/bot{TOKEN}/GETME")  # case-insensitive, GET ok
        assert response.json()["result"]["username"] == "ocop_test_bot"

        response = await client.post(  # JSON body, as other clients send it
            f"/bot{TOKEN}/sendMessage",
            json={"chat_id": 5, "text": "json", "reply_markup": {"remove_keyboard": True}},
        )
        assert response.json()["result"]["text"] == "json"

        response = await client.post(
            f"/bot{TOKEN}/sendMessage", data={"chat_id": "5", "text": "x", "reply_markup": "{not json"}
        )
        assert response.status_code == 400
        assert response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: can't parse reply keyboard markup JSON object",
        }
        response = await client.post(
            f"/bot{TOKEN}/sendMessage",
            data={
                "chat_id": "5",
                "text": "x",
                "reply_markup": json.dumps({"inline_keyboard": [[{"text": "t"}]]}),
            },
        )
        assert response.status_code == 400
        assert "Text buttons are unallowed" in response.json()["description"]

    call = api.calls("sendMessage")[0]
    assert call.params == {"chat_id": 5, "text": "json", "reply_markup": {"remove_keyboard": True}}


# ---------------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_get_updates_offset_limit_longpoll_allowed_updates(api: FakeTelegramAPI, bot: Bot) -> None:
    u1, u2, u3 = (api.push_message(1, text) for text in ("a", "b", "c"))
    updates = await bot.get_updates(limit=2)
    assert [u.update_id for u in updates] == [u1, u2]
    updates = await bot.get_updates(offset=u2 + 1)
    assert [u.message.text for u in updates] == ["c"]
    assert api.is_confirmed(u1) and api.is_confirmed(u2) and not api.is_confirmed(u3)

    # a long poll returns as soon as an update is pushed
    before = get_updates_count(api)
    poll = asyncio.create_task(bot.get_updates(offset=u3 + 1, timeout=dtm.timedelta(seconds=5)))
    await wait_for_get_updates(api, before)
    u4 = api.push_message(1, "d")
    assert [u.update_id for u in await poll] == [u4]

    # allowed_updates filters (and drops) other update types; setting persists
    api.push_inline_query(5, "x")
    u6 = api.push_message(1, "e")
    updates = await bot.get_updates(offset=u4 + 1, allowed_updates=["message"])
    assert [u.update_id for u in updates] == [u6]
    u7 = api.push_callback(1, 1, "cb")
    assert await bot.get_updates(offset=u6 + 1) == ()
    updates = await bot.get_updates(offset=u6 + 1, allowed_updates=[])  # back to default
    assert updates == ()
    assert not api.was_delivered(u7)

    # a second concurrent poller terminates the first one with 409
    async with Bot(TOKEN, base_url=api.base_url) as other:
        before = get_updates_count(api)
        first = asyncio.create_task(bot.get_updates(offset=u6 + 1, timeout=dtm.timedelta(seconds=5)))
        await wait_for_get_updates(api, before)
        second = asyncio.create_task(other.get_updates(offset=u6 + 1, timeout=dtm.timedelta(seconds=5)))
        with pytest.raises(Conflict, match="(?i)terminated by other getupdates request"):
            await first
        await api.wait_for(lambda: api._active_poll is not None)
        u8 = api.push_message(1, "f")
        assert [u.update_id for u in await second] == [u8]


@pytest.mark.asyncio
async def test_webhook_methods(api: FakeTelegramAPI, bot: Bot) -> None:
    api.push_message(1, "pending")
    assert await bot.set_webhook("https://example.com/hook", secret_token="s3cr3t")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook" and info.pending_update_count == 1
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="(?i)https url must be provided"):
        await bot.set_webhook("http://example.com/hook")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()
    assert await bot.close() and await bot.log_out()


@pytest.mark.asyncio
async def test_location_and_contact_updates(api: FakeTelegramAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = ReplyKeyboardMarkup(
            [
                [
                    KeyboardButton("📍 Gửi vị trí", request_location=True),
                    KeyboardButton("📞 Gửi SĐT", request_contact=True),
                ]
            ],
            resize_keyboard=True,
        )
        await update.message.reply_text("Chia sẻ vị trí", reply_markup=keyboard)

    async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        loc = update.message.location
        await update.message.reply_venue(loc.latitude, loc.longitude, "Cửa hàng OCOP", "Lục Ngạn, Bắc Giang")

    async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        contact = update.message.contact
        assert contact.user_id == update.effective_user.id
        await update.message.reply_text(f"SĐT: {contact.phone_number}")

    async with running_app(
        api,
        CommandHandler("start", start),
        MessageHandler(filters.LOCATION, on_location),
        MessageHandler(filters.CONTACT, on_contact),
    ):
        api.push_command(333)
        await api.wait_for_messages(333)
        keyboard = api.reply_keyboard(333)
        assert keyboard is not None and keyboard["keyboard"][0][0]["request_location"] is True
        assert "reply_markup" not in api.last_message(333)  # reply keyboards are not echoed
        api.push_location(333, 21.38, 106.52)
        await api.wait_for_calls("sendVenue")
        api.push_contact(333, "+84912345678", "An")
        await api.wait_for_messages(333, 2)

    venue = api.calls("sendVenue")[0].result
    assert venue["venue"]["title"] == "Cửa hàng OCOP"
    assert venue["location"] == {"latitude": 21.38, "longitude": 106.52}
    assert api.messages_to(333) == ["Chia sẻ vị trí", "SĐT: +84912345678"]


@pytest.mark.asyncio
async def test_inline_query_answered(api: FakeTelegramAPI) -> None:
    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        await query.answer(
            [
                InlineQueryResultArticle(
                    "p1",
                    f"Mỳ Chũ ({query.query})",
                    InputTextMessageContent("<b>Mỳ Chũ</b>", parse_mode="HTML"),
                )
            ],
            cache_time=0,
        )

    async with running_app(api, InlineQueryHandler(inline)):
        update_id = api.push_inline_query(444, "mỳ", language_code="en")
        await api.wait_for_calls("answerInlineQuery")

    answer = api.inline_answer(update_id)
    assert answer is not None
    assert answer["cache_time"] == 0
    assert answer["results"][0]["title"] == "Mỳ Chũ (mỳ)"
    assert answer["results"][0]["input_message_content"]["parse_mode"] == "HTML"


# ---------------------------------------------------------------------------------- other methods


@pytest.mark.asyncio
async def test_send_document_multipart(api: FakeTelegramAPI, bot: Bot) -> None:
    payload = b"%PDF-1.4\r\n--not-a-boundary\r\n\r\n" + bytes(range(256)) * 4
    message = await bot.send_document(
        9, document=payload, filename='báo giá "OCOP".pdf', caption="<i>Báo giá</i>", parse_mode="HTML"
    )
    assert message.document.file_name == 'báo giá "OCOP".pdf'
    assert message.caption == "Báo giá"
    assert [e.type for e in message.caption_entities] == ["italic"]

    (uploaded,) = api.documents
    assert uploaded.filename == 'báo giá "OCOP".pdf'
    assert uploaded.content == payload
    assert uploaded.mime_type == "application/pdf"
    call = api.calls("sendDocument")[0]
    assert call.files["document"].content == payload
    assert call.params["caption"] == "<i>Báo giá</i>"

    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload
    # re-sending by file_id works without a new upload
    again = await bot.send_document(9, document=message.document.file_id)
    assert again.document.file_id == message.document.file_id


@pytest.mark.asyncio
async def test_commands_menu_and_misc_methods(api: FakeTelegramAPI, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Bắt đầu")], language_code="vi")
    assert await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    assert await bot.set_my_commands([BotCommand("find", "Tìm")], scope=BotCommandScopeAllPrivateChats())
    assert [c.description for c in await bot.get_my_commands(language_code="vi")] == ["Bắt đầu"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert api.get_commands("vi") == [{"command": "start", "description": "Bắt đầu"}]
    assert api.get_commands(scope={"type": "all_private_chats"})[0]["command"] == "find"
    assert await bot.delete_my_commands(language_code="vi")
    assert await bot.get_my_commands(language_code="vi") == ()
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start!", "x")])

    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(), MenuButtonCommands)
    assert await bot.send_chat_action(1, "typing")
    with pytest.raises(BadRequest, match="(?i)wrong parameter action"):
        await bot.send_chat_action(1, "dancing")

    location = await bot.send_location(1, 21.27, 106.19)
    assert location.location.latitude == pytest.approx(21.27)

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    message = await bot.send_message(1, "menu", reply_markup=keyboard)
    edited = await bot.edit_message_reply_markup(1, message.message_id, reply_markup=None)
    assert edited.reply_markup is None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(1, message.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("menu", 1, message.message_id)
    assert await bot.delete_message(1, message.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(1, message.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", 1, message.message_id)
    assert api.messages_to(1) == []
    assert api.is_deleted(1, message.message_id)

    chat = await bot.get_chat(1)
    assert chat.id == 1 and chat.type == "private"
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat(987654)


# ---------------------------------------------------------------------------------- faults


@pytest.mark.asyncio
async def test_429_without_rate_limiter_raises_retry_after(api: FakeTelegramAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", "429", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
        await bot.send_message(5, "hello")
    assert api.messages_to(5) == []
    await bot.send_message(5, "hello")

    assert api.messages_to(5) == ["hello"]
    assert len(api.calls("sendMessage", chat_id=5)) == 1
    (failure,) = api.failed
    assert failure.fault == "429" and failure.status == 429
    assert failure.description == "Too Many Requests: retry after 3"


@pytest.mark.asyncio
async def test_429_with_aio_rate_limiter_retries(api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", "429", times=2, retry_after=0.1)
    async with ExtBot(TOKEN, base_url=api.base_url, rate_limiter=AIORateLimiter(max_retries=2)) as bot:
        message = await bot.send_message(5, "hello")
    assert message.text == "hello"
    assert api.messages_to(5) == ["hello"]  # delivered exactly once
    assert len(api.calls("sendMessage")) == 1
    assert [c.fault for c in api.failed] == ["429", "429"]


@pytest.mark.asyncio
async def test_429_with_aio_rate_limiter_gives_up(api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", "429", times=2, retry_after=0.1)
    async with ExtBot(TOKEN, base_url=api.base_url, rate_limiter=AIORateLimiter(max_retries=1)) as bot:
        with pytest.raises(RetryAfter):
            await bot.send_message(5, "hello")
    assert api.messages_to(5) == []
    assert len(api.failed) == 2


@pytest.mark.asyncio
async def test_server_errors_disconnect_and_timeout(api: FakeTelegramAPI) -> None:
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=api.base_url, request=request) as bot:
        api.fail_next("sendMessage", "500")
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(7, "x")
        api.fail_next("sendMessage", "502")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(7, "x")
        api.fail_next("sendMessage", "disconnect")
        with pytest.raises(NetworkError) as excinfo:
            await bot.send_message(7, "x")
        assert not isinstance(excinfo.value, TimedOut)
        api.fail_next("sendMessage", "timeout")
        with pytest.raises(TimedOut):
            await bot.send_message(7, "x")
        api.fail_next("sendMessage", "403")
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(7, "x")
        await bot.send_message(7, "ok")

    assert api.messages_to(7) == ["ok"]
    assert [c.fault for c in api.failed] == ["500", "502", "disconnect", "timeout", "403"]
    assert [c.status for c in api.failed] == [500, 502, None, None, 403]


@pytest.mark.asyncio
async def test_slow_answer_within_client_timeout_is_not_a_failure(api: FakeTelegramAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", "timeout", seconds=0.05)  # client read timeout is 5 s
    await bot.send_message(7, "slow")
    assert api.messages_to(7) == ["slow"]
    assert api.failed == []
    assert api.calls("sendMessage")[0].fault == "timeout"


@pytest.mark.asyncio
async def test_processed_but_response_lost_shows_duplicates(api: FakeTelegramAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", "disconnect", processed=True)
    with pytest.raises(NetworkError):
        await bot.send_message(8, "order #1")
    await bot.send_message(8, "order #1")  # naive retry
    assert api.messages_to(8) == ["order #1", "order #1"]
    assert [c.response_lost for c in api.calls("sendMessage")] == [True, False]
    assert api.failed == []


@pytest.mark.asyncio
async def test_block_chat(api: FakeTelegramAPI, bot: Bot) -> None:
    api.block_chat(9)
    with pytest.raises(Forbidden, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(9, "x")
    api.unblock_chat(9)
    await bot.send_message(9, "x")
    assert api.messages_to(9) == ["x"]


@pytest.mark.asyncio
async def test_stop_and_start_listening(api: FakeTelegramAPI, bot: Bot) -> None:
    port = api.port
    await api.stop_listening()
    assert not api.listening
    with pytest.raises(NetworkError):
        await bot.get_me()
    await api.start_listening()
    assert api.port == port
    assert (await bot.get_me()).username == "ocop_test_bot"


@pytest.mark.asyncio
async def test_polling_recovers_after_outage(api: FakeTelegramAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("pong")

    async with running_app(api, CommandHandler("start", start)):
        await wait_for_get_updates(api, 0)
        await api.stop_listening()  # drops the pending long poll
        api.push_command(555)
        await api.start_listening()
        assert await api.wait_for_messages(555, 1) == ["pong"]


@pytest.mark.asyncio
async def test_wait_for_times_out_without_sleeping_loops(api: FakeTelegramAPI) -> None:
    with pytest.raises(TimeoutError, match="expected 1 successful sendMessage"):
        await api.wait_for_calls("sendMessage", 1, timeout=0.05)
    with pytest.raises(ValueError, match="unknown Bot API method"):
        api.fail_next("sendMesage", "429")
