"""Rendering replies on Telegram and delivering outbox messages, against the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Message, Update
from telegram.ext import AIORateLimiter, Defaults, ExtBot

from bot.channels.telegram import (
    PerChatUpdateProcessor,
    TelegramDeliverer,
    incoming_from_callback,
    incoming_from_message,
)
from bot.outbound import DeliveryError
from handlers.messages import Button, Document, Location, Reply, SharedContact, Venue, h
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "515151:RENDER-TEST"
CHAT = 777


@pytest.fixture
async def deliverer(api: FakeTelegramAPI) -> AsyncIterator[TelegramDeliverer]:
    """The bot as the Application builds it: HTML by default, 429s retried by the rate limiter."""
    from telegram.constants import ParseMode

    bot = ExtBot(TOKEN, base_url=api.base_url, defaults=Defaults(parse_mode=ParseMode.HTML),
                 rate_limiter=AIORateLimiter(max_retries=3))
    async with bot:
        yield TelegramDeliverer(bot)


def buttons_of(message: dict) -> list[str]:
    return [b.get("callback_data") or b.get("url") for row in message.get("reply_markup", {}).get(
        "inline_keyboard", []) for b in row]


async def test_long_reply_is_split_with_buttons_on_the_last_part(api: FakeTelegramAPI,
                                                                 deliverer: TelegramDeliverer) -> None:
    paragraphs = [f"<b>Sản phẩm {i}</b> — " + h("mỳ Chũ & vải thiều " * 20) for i in range(40)]
    reply = Reply("\n\n".join(paragraphs), buttons=[[Button("Xem thêm", "more:2")],
                                                   [Button("Web", url="https://ocop.example.org", kind="url")]])
    message_id = await deliverer.deliver(str(CHAT), reply)
    messages = api.bot_messages(CHAT)
    assert len(messages) >= 3
    assert all(len(m["text"]) <= 4096 for m in messages)
    assert [buttons_of(m) for m in messages[:-1]] == [[]] * (len(messages) - 1)
    assert buttons_of(messages[-1]) == ["more:2", "https://ocop.example.org"]
    # every message's id, the one with the buttons last (all of them may have to be erased on /forget)
    assert message_id == ",".join(str(m["message_id"]) for m in messages)
    assert "".join(m["text"] for m in messages).count("Sản phẩm") == 40
    bold = [e for m in messages for e in m.get("entities", []) if e["type"] == "bold"]
    assert len(bold) == 40  # the markup survived the split


async def test_location_keyboard_and_its_removal(api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    ask = Reply("Bạn đang ở đâu?", keyboard=[[Button("📍 Gửi vị trí", kind="location")],
                                            [Button("📞 Gửi số điện thoại", kind="contact")]])
    await deliverer.deliver(str(CHAT), ask)
    keyboard = api.reply_keyboard(CHAT)
    assert keyboard is not None
    assert keyboard["keyboard"] == [[{"text": "📍 Gửi vị trí", "request_location": True}],
                                    [{"text": "📞 Gửi số điện thoại", "request_contact": True}]]
    assert keyboard["resize_keyboard"] is True and keyboard["one_time_keyboard"] is True

    await deliverer.deliver(str(CHAT), Reply("Cảm ơn bạn!", remove_keyboard=True))
    assert api.reply_keyboard(CHAT) is None


async def test_inline_buttons_and_a_keyboard_go_on_two_messages(api: FakeTelegramAPI,
                                                                deliverer: TelegramDeliverer) -> None:
    reply = Reply("Cửa hàng gần nhất <i>theo quận</i>", buttons=[[Button("Bản đồ", "map:1")]],
                  keyboard=[[Button("📍 <Gửi> vị trí & xem", kind="location")]])
    await deliverer.deliver(str(CHAT), reply)
    first, second = api.bot_messages(CHAT)
    assert first["text"] == "Cửa hàng gần nhất theo quận" and buttons_of(first) == ["map:1"]
    assert second["text"] == "📍 <Gửi> vị trí & xem"  # the label, escaped on the way and shown as typed
    assert api.reply_keyboard(CHAT)["keyboard"][0][0]["request_location"] is True


async def test_venue_and_document(api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    await deliverer.deliver(str(CHAT), Reply("Điểm bán", venue=Venue(21.27, 106.19, "Điểm bán OCOP", "TP Bắc Giang")))
    venue = api.calls("sendVenue")[0].params
    assert (venue["title"], venue["address"]) == ("Điểm bán OCOP", "TP Bắc Giang")
    assert api.bot_messages(CHAT)[0]["text"] == "Điểm bán"

    csv = "ref,product\nL-1,Mỳ Chũ\n".encode()
    message_id = await deliverer.deliver(str(CHAT), Reply(document=Document("leads.csv", csv, caption="<b>3</b> leads")))
    uploaded = api.documents[-1]
    assert (uploaded.filename, uploaded.content) == ("leads.csv", csv)
    assert api.bot_messages(CHAT)[-1]["caption"] == "3 leads"
    assert message_id == str(api.bot_messages(CHAT)[-1]["message_id"])


async def test_edit_replaces_the_message_and_falls_back_to_sending(api: FakeTelegramAPI,
                                                                   deliverer: TelegramDeliverer) -> None:
    first = await deliverer.deliver(str(CHAT), Reply("Trang 1", buttons=[[Button("Tiếp", "page:2")]]))
    page2 = Reply("Trang 2", buttons=[[Button("Lùi", "page:1")]], edit=True)
    edited = await deliverer.deliver(str(CHAT), page2, edit_message_id=first)
    assert edited == first
    assert api.messages_to(CHAT) == ["Trang 2"]
    assert buttons_of(api.bot_messages(CHAT)[0]) == ["page:1"]

    # The same content again (a double tap): "message is not modified", nothing new is sent.
    assert await deliverer.deliver(str(CHAT), page2, edit_message_id=first) == first
    assert len(api.calls("sendMessage")) == 1

    # A message that cannot be edited any more: a new message instead.
    other = await deliverer.deliver(str(CHAT), Reply("Trang 3", edit=True), edit_message_id="9999")
    assert other != first and api.messages_to(CHAT) == ["Trang 2", "Trang 3"]


async def test_delivery_errors_are_classified(api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    api.block_chat(CHAT)
    with pytest.raises(DeliveryError) as blocked:
        await deliverer.deliver(str(CHAT), Reply("xin chào"))
    assert blocked.value.permanent and blocked.value.retry_after is None
    api.unblock_chat(CHAT)

    api.fail_next("sendMessage", "400", description="Bad Request: chat not found")
    with pytest.raises(DeliveryError) as bad:
        await deliverer.deliver(str(CHAT), Reply("xin chào"))
    assert bad.value.permanent

    api.fail_next("sendMessage", "502")
    with pytest.raises(DeliveryError) as down:
        await deliverer.deliver(str(CHAT), Reply("xin chào"))
    assert not down.value.permanent and down.value.retry_after is None

    # The rate limiter retries a 429 three times; a fourth one reaches the outbox with its delay.
    api.fail_next("sendMessage", "429", times=4, retry_after=0.2)
    with pytest.raises(DeliveryError) as flood:
        await deliverer.deliver(str(CHAT), Reply("xin chào"))
    assert flood.value.retry_after == pytest.approx(0.2) and not flood.value.permanent
    assert len(api.failed_calls("sendMessage")) == 2 + 1 + 4

    with pytest.raises(DeliveryError) as empty:
        await deliverer.deliver(str(CHAT), Reply(""))
    assert empty.value.permanent
    assert api.messages_to(CHAT) == []


async def test_429_then_success_is_sent_once(api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    api.fail_next("sendMessage", "429", retry_after=0.2)
    await deliverer.deliver(str(CHAT), Reply("một lần thôi"))
    assert api.messages_to(CHAT) == ["một lần thôi"]
    assert len(api.failed_calls("sendMessage")) == 1


def _update(data: dict) -> Update:
    update = Update.de_json(data, None)
    assert update is not None
    return update


USER = {"id": 42, "is_bot": False, "first_name": "Lan", "last_name": "Nguyễn", "language_code": "vi"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Lan"}


def test_messages_become_incoming() -> None:
    base = {"message_id": 5, "date": 1760000000, "chat": PRIVATE, "from": USER}
    text = incoming_from_message(_update({"update_id": 1, "message": {**base, "text": "mỳ chũ"}}).message)  # type: ignore[arg-type]
    assert text is not None
    assert (text.channel, text.chat_id, text.user_id, text.display_name, text.language_hint, text.text) == (
        "telegram", "42", "42", "Lan Nguyễn", "vi", "mỳ chũ")
    assert text.message_id is None

    located = incoming_from_message(_update({"update_id": 2, "message": {
        **base, "location": {"latitude": 21.27, "longitude": 106.19}}}).message)  # type: ignore[arg-type]
    assert located is not None and located.location == Location(21.27, 106.19)

    contact = incoming_from_message(_update({"update_id": 3, "message": {
        **base, "contact": {"phone_number": "+84912345678", "first_name": "Lan", "user_id": 42}}}).message)  # type: ignore[arg-type]
    assert contact is not None and contact.contact == SharedContact("+84912345678", "Lan", "42")

    sticker = {"file_id": "s", "file_unique_id": "u", "type": "regular", "width": 1, "height": 1,
               "is_animated": False, "is_video": False}
    assert incoming_from_message(_update({"update_id": 4, "message": {**base, "sticker": sticker}}).message) is None  # type: ignore[arg-type]


def test_button_taps_become_incoming() -> None:
    message = {"message_id": 9, "date": 1760000000, "chat": PRIVATE, "text": "Danh sách"}
    query = _update({"update_id": 5, "callback_query": {
        "id": "q1", "from": USER, "chat_instance": "c", "data": "p:my-chu", "message": message}}).callback_query
    assert query is not None
    tap = incoming_from_callback(query)
    assert tap is not None
    assert (tap.chat_id, tap.user_id, tap.payload, tap.message_id, tap.text) == ("42", "42", "p:my-chu", "9", None)

    inline_message = _update({"update_id": 6, "callback_query": {
        "id": "q2", "from": USER, "chat_instance": "c", "data": "p:x", "inline_message_id": "abc"}}).callback_query
    assert inline_message is not None and incoming_from_callback(inline_message) is None


async def test_updates_of_one_chat_keep_their_order_while_chats_overlap() -> None:
    processor = PerChatUpdateProcessor(16)
    finished: list[tuple[int, int]] = []
    running = 0
    most = 0

    async def work(chat: int, n: int, delay: float) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(delay)
        running -= 1
        finished.append((chat, n))

    def update(chat: int, n: int) -> Update:
        return _update({"update_id": chat * 100 + n, "message": {
            "message_id": n, "date": 1760000000, "chat": {"id": chat, "type": "private", "first_name": "A"},
            "from": {**USER, "id": chat}, "text": str(n)}})

    tasks = [asyncio.create_task(processor.process_update(update(chat, n), work(chat, n, 0.05 / (n + 1))))
             for n in range(5) for chat in (1, 2, 3)]
    await asyncio.gather(*tasks)
    for chat in (1, 2, 3):
        assert [n for c, n in finished if c == chat] == [0, 1, 2, 3, 4]  # later ones were quicker, yet wait
    assert most == 3  # one at a time per chat, the three chats at once
    assert processor._locks == {}  # nothing left behind


def test_message_type_is_used() -> None:
    # keep the import honest for type checkers: incoming_from_message takes a PTB Message
    assert Message.__name__ == "Message"


def test_inline_markup_is_the_json_ptb_would_send() -> None:
    """The inline keyboard goes as plain Bot API JSON, exactly what python-telegram-bot's objects dump to."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    from bot.channels.telegram import inline_markup

    rows = [[Button("Mỳ Chũ", "p:my-chu"), Button("Web", url="https://ocop.example.org", kind="url")],
            [Button("Gần tôi", kind="location")],  # a reply-keyboard request: not an inline button
            [Button("Xem thêm", "more:2")]]
    expected = InlineKeyboardMarkup([
        [InlineKeyboardButton("Mỳ Chũ", callback_data="p:my-chu"), InlineKeyboardButton("Web", url="https://ocop.example.org")],
        [InlineKeyboardButton("Xem thêm", callback_data="more:2")],
    ])
    assert inline_markup(rows) == expected.to_dict()
    assert inline_markup([[Button("Gần tôi", kind="location")]]) is None
