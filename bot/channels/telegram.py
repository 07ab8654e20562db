"""The Telegram channel: python-telegram-bot updates → `Incoming` → router → `Reply` rendered back."""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import re
import warnings
from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any

from telegram import Bot as TelegramBot
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputFile,
    InputTextMessageContent,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
    Update,
)
from telegram.constants import InlineQueryLimit, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.channels.telegram_http import AiohttpRequest
from bot.config import Settings
from bot.outbound import DeliveryError
from catalog.search import ProductDoc
from handlers import cards
from handlers.context import Services
from handlers.messages import Button, Incoming, Location, Reply, SharedContact, SharedDocument, h
from handlers.router import Finish, Router
from locales import N_, Translator, normalise_language, translator

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_CAPTION = MessageLimit.CAPTION_LENGTH  # 1024
MAX_TOAST = 200  # answerCallbackQuery text
INLINE_RESULTS = InlineQueryLimit.RESULTS  # 50
INLINE_CACHE_SECONDS = 30  # small: the catalogue can be re-imported at any time

# Every kind of update the bot handles; polling and the webhook ask Telegram for exactly these.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]

# The command menu; descriptions are msgids translated per language when the menu is set.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Start and show the main menu")),
    ("help", N_("What I can do and how to ask")),
    ("lang", N_("Change language · Đổi ngôn ngữ")),
    ("myenquiries", N_("My wholesale enquiries")),
    ("forget", N_("Delete my enquiries and contact details")),
)

# --------------------------------------------------------------------------------------------------
# Splitting long HTML texts
# --------------------------------------------------------------------------------------------------

_ATOM = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|.", re.S)
_OPEN_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>")
_CLOSE_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts in (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class _Open:
    name: str
    tag: str  # the opening tag as written, e.g. '<a href="…">', reopened in the next part


def _apply(stack: tuple[_Open, ...], atom: str) -> tuple[_Open, ...]:
    """The open-tag stack after `atom`."""
    if atom.startswith("</"):
        closing = _CLOSE_TAG.fullmatch(atom)
        if closing:
            name = closing.group(1).lower()
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth].name == name:
                    return stack[:depth]
        return stack
    if atom.startswith("<"):
        opening = _OPEN_TAG.fullmatch(atom)
        if opening:
            return (*stack, _Open(opening.group(1).lower(), atom))
    return stack


def _closing(stack: Sequence[_Open]) -> str:
    return "".join(f"</{tag.name}>" for tag in reversed(stack))


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split reply HTML into parts of at most `limit` UTF-16 units (counting the markup, so the
    visible text is always within Telegram's limit), cutting at a paragraph, else a line, else a
    space, never inside a tag or an entity. Tags open at a cut are closed and reopened in the next part.
    """
    if _u16(text) <= limit:
        return [text] if text.strip() else []
    atoms = _ATOM.findall(text)
    parts: list[str] = []
    stack: tuple[_Open, ...] = ()
    i = 0
    while i < len(atoms):
        prefix = "".join(tag.tag for tag in stack)
        size = _u16(prefix)
        cur = stack
        # best[priority] = (cut index, stack at the cut); a later cut of the same priority wins
        best: dict[int, tuple[int, tuple[_Open, ...]]] = {}
        j = i
        while j < len(atoms):
            atom = atoms[j]
            after = _apply(cur, atom)
            if size + _u16(atom) + _u16(_closing(after)) > limit and j > i:
                break
            size += _u16(atom)
            cur = after
            j += 1
            if atom == "\n":
                best[2 if j - 2 >= i and atoms[j - 2] == "\n" else 1] = (j, cur)
            elif atom.isspace():
                best[0] = (j, cur)
        if j >= len(atoms):
            cut, cut_stack = len(atoms), cur
        else:
            cut, cut_stack = j, cur
            # Prefer a paragraph break, then a line break, then a space, but not one so early
            # that the part would be mostly empty.
            for priority in (2, 1, 0):
                if priority in best and best[priority][0] - i >= (j - i) // 2:
                    cut, cut_stack = best[priority]
                    break
        body = "".join(atoms[i:cut])
        part = prefix + body + (_closing(cut_stack) if cut < len(atoms) else "")
        if re.sub(r"<[^<>]*>", "", part).strip():
            parts.append(part.strip())
        stack, i = cut_stack, cut
    return parts


# --------------------------------------------------------------------------------------------------
# Rendering a Reply
# --------------------------------------------------------------------------------------------------


def inline_markup(rows: list[list[Button]]) -> dict[str, Any] | None:
    """Inline buttons, as the Bot API's InlineKeyboardMarkup JSON: a payload becomes callback_data, a URL a link
    button. Plain JSON rather than python-telegram-bot's objects, which PTB would only turn back into this JSON
    on every call (`TelegramObject.to_dict`): building and dumping a list's six buttons was ≈100 µs, a sixth of the
    CPU of sending it. PTB passes a dict parameter through as it is."""
    keyboard = []
    for row in rows:
        line = []
        for button in row:
            if button.kind == "url" or (button.url and not button.payload):
                line.append({"text": button.label, "url": button.url})
            elif button.kind == "payload":
                line.append({"text": button.label, "callback_data": button.payload})
            # location/contact requests exist only on the reply keyboard
        if line:
            keyboard.append(line)
    return {"inline_keyboard": keyboard} if keyboard else None


def reply_keyboard(rows: list[list[Button]]) -> ReplyKeyboardMarkup | None:
    """The keyboard under the typing field: share-location / share-contact buttons, or plain choices."""
    keyboard = [
        [
            KeyboardButton(
                button.label,
                request_location=button.kind == "location" or None,
                request_contact=button.kind == "contact" or None,
            )
            for button in row
        ]
        for row in rows
        if row
    ]
    if not keyboard:
        return None
    return ReplyKeyboardMarkup(keyboard, resize_keyboard=True, one_time_keyboard=True)


def _chat(chat_id: str | int) -> int | str:
    """Telegram wants numeric ids as numbers; '@channel' names stay strings."""
    if isinstance(chat_id, int):
        return chat_id
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def _labels(rows: list[list[Button]]) -> str:
    return h(" · ".join(button.label for row in rows for button in row))


def _is_not_modified(error: BadRequest) -> bool:
    return "not modified" in error.message.lower()


async def _photo_source(image: str) -> str | InputFile:
    """A URL as is (Telegram fetches it); a file path on this server read and uploaded (multipart)."""
    if image.startswith(("http://", "https://")):
        return image
    path = Path(image)
    data = await asyncio.to_thread(path.read_bytes)
    return InputFile(io.BytesIO(data), filename=path.name)


async def _send_photo(
    bot: TelegramBot, chat: int | str, reply: Reply, parts: list[str], inline: dict[str, Any] | None,
    below: Any,
) -> tuple[Message | None, list[str]]:
    """The reply's photo, with the text as its caption (and the buttons under it) when the text fits in one
    caption, else alone before the text. A photo that cannot be read or sent is logged and left out: the
    text still goes (returns the parts still to send)."""
    try:
        photo = await _photo_source(reply.image)
    except OSError as error:
        log.warning("product photo %r cannot be read (%s); sending the text alone", reply.image, error)
        return None, parts
    as_caption = len(parts) == 1 and _u16(parts[0]) <= MAX_CAPTION and below is None
    try:
        if as_caption:
            return await bot.send_photo(chat, photo, caption=parts[0], reply_markup=inline), []
        return await bot.send_photo(chat, photo), parts
    except BadRequest as error:  # a URL Telegram cannot fetch, a file that is not an image…
        log.warning("Telegram refused the product photo %r (%s); sending the text alone", reply.image, error)
        return None, parts


def in_topic(reply: Reply, message: Any) -> Reply:
    """A reply to a message posted in a forum topic (a staff member working a card there) stays in that topic."""
    if reply.thread_id is not None or message is None or not getattr(message, "is_topic_message", False):
        return reply
    thread = getattr(message, "message_thread_id", None)
    return replace(reply, thread_id=thread) if isinstance(thread, int) else reply


def _is_thread_gone(error: BadRequest) -> bool:
    """Telegram's answer for a message_thread_id whose forum topic was deleted (or is closed)."""
    message = error.message.lower()
    return "thread not found" in message or "topic_deleted" in message or "topic_closed" in message


async def render_reply(
    bot: TelegramBot, chat_id: str | int, reply: Reply, *, edit_message_id: str | int | None = None
) -> Message | None:
    """Send one Reply to a chat (or edit `edit_message_id` when the reply asks for it).

    Returns the last message sent or edited, None when the reply had nothing to show.
    Telegram errors propagate; the caller decides what they mean.
    """
    chat = _chat(chat_id)
    inline = inline_markup(reply.buttons)
    below: ReplyKeyboardMarkup | ReplyKeyboardRemove | None = reply_keyboard(reply.keyboard)
    if below is None and reply.remove_keyboard:
        below = ReplyKeyboardRemove()
    parts = split_html(reply.text) if reply.text else []
    last: Message | None = None
    # In a forum supergroup, new messages go to the reply's topic (edits stay where their message is).
    topic: dict[str, Any] = {} if reply.thread_id is None else {"message_thread_id": reply.thread_id}

    editable = str(edit_message_id or "").isdecimal()
    if reply.image and parts and not (reply.edit and editable):
        last, parts = await _send_photo(bot, chat, reply, parts, inline, below)
    if parts and reply.edit and editable and len(parts) == 1 and below is None:
        try:
            edited = await bot.edit_message_text(
                parts[0], chat_id=chat, message_id=int(str(edit_message_id)), reply_markup=inline
            )
            last = edited if isinstance(edited, Message) else None
            parts = []
        except BadRequest as error:
            if _is_not_modified(error):
                # The message already shows exactly this (a double tap): nothing to change or resend.
                return None
            log.info("could not edit message %s in chat %s (%s); sending a new one", edit_message_id, chat, error)

    if parts and inline is not None and below is not None and len(parts) == 1:
        # A message carries one kind of keyboard: the text keeps its own buttons, and the keyboard
        # under the typing field goes on a message made of its labels (a lone removal is dropped).
        last = await bot.send_message(chat, parts[0], reply_markup=inline, **topic)
        if reply.keyboard:
            last = await bot.send_message(chat, _labels(reply.keyboard), reply_markup=below, **topic)
        parts = []
    elif not parts and reply.keyboard and not reply.venue and not reply.document:
        parts = [_labels(reply.keyboard)]

    for index, part in enumerate(parts):
        # Inline buttons belong under the end of the text; the reply keyboard comes with its start.
        markup: Any = inline if index == len(parts) - 1 and inline is not None else None
        if markup is None and index == 0:
            markup = below
        last = await bot.send_message(chat, part, reply_markup=markup, **topic)

    if reply.venue is not None:
        venue = reply.venue
        last = await bot.send_venue(
            chat, latitude=venue.latitude, longitude=venue.longitude,
            title=venue.title[:256] or "OCOP", address=(venue.address or venue.title)[:256] or "OCOP", **topic,
        )
    if reply.document is not None:
        document = reply.document
        caption = document.caption
        if caption and _u16(caption) > MAX_CAPTION:
            for part in split_html(caption):
                await bot.send_message(chat, part, **topic)
            caption = ""
        last = await bot.send_document(
            chat,
            InputFile(io.BytesIO(document.data), filename=document.filename),
            caption=caption or None,
            **topic,
        )
    return last


class UnreadAnswers:
    """The bot, for replies whose sent message nobody reads (the durable inbox's replies to a chat): text
    messages are sent and edited, and taps answered, with the bot's defaults, through its rate limiter, but
    Telegram's answer is not turned into a `Message` (building one was about an eighth of an update's CPU time),
    nor even parsed when it says success: these methods return None. Everything else is the bot's own.

    With the project's `AiohttpRequest` (bot/channels/telegram_http.py) the call skips python-telegram-bot's
    layers too (`do_api_request`, `_post`, `RequestData` with a `RequestParameter` per field, the answer's JSON
    parsed for a `True` nobody reads): the fields go as one JSON body straight to the Bot API, through the
    same rate limiter (its `process_request`, as PTB's `ExtBot` calls it), and an error answer raises the
    exception PTB would raise for it (`bot_api_error`). ≈0.1 ms of CPU less a call."""

    def __init__(self, bot: TelegramBot) -> None:
        self._bot = bot
        defaults = getattr(bot, "defaults", None)  # the application's (HTML, no link previews), as the bot's own
        self._defaults = {  # methods apply them; a None is left out of the request. As JSON once (the link
            name: _json(getattr(defaults, name, None))  # preview options are an object PTB would dump every call)
            for name in ("parse_mode", "link_preview_options", "disable_notification", "protect_content")
        }
        self._defaults = {name: value for name, value in self._defaults.items() if value is not None}
        request = getattr(bot, "request", None)
        self._direct: AiohttpRequest | None = request if isinstance(request, AiohttpRequest) else None
        self._limiter = getattr(bot, "rate_limiter", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    async def _call(self, endpoint: str, fields: dict[str, Any]) -> None:
        data = {**self._defaults}
        for name, value in fields.items():
            if value is not None:  # as PTB: Telegram takes a missing field better than a null
                data[name] = value.to_dict() if isinstance(value, TelegramObject) else value
        if self._direct is None:
            # (`do_api_request` says "use Bot.send_message" each time: on purpose, the filter below keeps it quiet.)
            await self._bot.do_api_request(endpoint, api_kwargs=data)
        elif self._limiter is None:
            await self._post(endpoint, data)
        else:
            await self._limiter.process_request(callback=self._post, args=(endpoint, data), kwargs={},
                                                endpoint=endpoint, data=data, rate_limit_args=None)

    async def _post(self, endpoint: str, data: dict[str, Any]) -> None:
        assert self._direct is not None
        try:
            code, payload = await self._direct.post_json(f"{self._bot.base_url}/{endpoint}", data)
        except TelegramError:
            raise
        except Exception as exc:  # as PTB's request wrapper: anything else from the transport is a network error
            raise NetworkError(f"Unknown error in HTTP implementation: {exc!r}") from exc
        if not 200 <= code <= 299:
            raise bot_api_error(code, payload)

    async def send_message(
        self, chat_id: int | str, text: str, *, reply_markup: Any = None, message_thread_id: int | None = None
    ) -> None:
        await self._call("sendMessage", {"chat_id": chat_id, "message_thread_id": message_thread_id, "text": text,
                                         "reply_markup": reply_markup})

    async def edit_message_text(
        self, text: str, *, chat_id: int | str, message_id: int, reply_markup: Any = None
    ) -> None:
        await self._call(
            "editMessageText",
            {"chat_id": chat_id, "message_id": message_id, "text": text, "reply_markup": reply_markup},
        )

    async def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> None:
        await self._call("answerCallbackQuery", {"callback_query_id": callback_query_id, "text": text})


def bot_api_error(code: int, payload: bytes) -> TelegramError:
    """The exception python-telegram-bot raises for a Bot API answer with HTTP status `code` (not 2xx): the
    answer's description as the message; ChatMigrated and RetryAfter from its parameters; by status Forbidden
    (403), InvalidToken (401, 404), BadRequest (400), Conflict (409), else NetworkError."""
    try:
        message = f"{HTTPStatus(code).phrase} ({code})"
    except ValueError:
        message = f"Unknown HTTPError ({code})"
    try:
        answer = json.loads(payload.decode("utf-8", "replace"))
        if not isinstance(answer, dict):
            raise ValueError("not an object")
    except ValueError:
        message += f". Parsing the server response {payload!r} failed"
        answer = {}
    message = answer.get("description") or message
    parameters = answer.get("parameters")
    if isinstance(parameters, dict) and parameters:
        if parameters.get("migrate_to_chat_id"):
            return ChatMigrated(parameters["migrate_to_chat_id"])
        if parameters.get("retry_after"):
            return RetryAfter(parameters["retry_after"])
        message += f". The server response contained unknown parameters: {parameters}"
    kind: type[TelegramError] = {
        HTTPStatus.FORBIDDEN: Forbidden, HTTPStatus.UNAUTHORIZED: InvalidToken, HTTPStatus.NOT_FOUND: InvalidToken,
        HTTPStatus.BAD_REQUEST: BadRequest, HTTPStatus.CONFLICT: Conflict,
    }.get(code, NetworkError)
    return kind(message)


def _json(value: Any) -> Any:
    return value.to_dict() if isinstance(value, TelegramObject) else value


warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.(send_message|edit_message_text)' instead", category=PTBUserWarning
)


class TelegramDeliverer:
    """Delivers outbox messages (e.g. enquiries to the staff chat) through the bot."""

    channel = CHANNEL

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot

    async def deliver(self, chat_id: str, reply: Reply, *, edit_message_id: str | None = None) -> str:
        """Send (or edit) and return Telegram's message id (ids, comma-separated, when the reply took several
        messages: all of them may have to be erased later); raise DeliveryError on failure."""
        recorder = _Recorder(self.bot)
        try:
            try:
                message = await render_reply(recorder, chat_id, reply, edit_message_id=edit_message_id)  # type: ignore[arg-type]
            except BadRequest as error:
                if reply.thread_id is None or not _is_thread_gone(error) or recorder.sent:
                    raise
                # The routing rule's forum topic was deleted (or closed): the card goes to the chat's general
                # topic rather than being lost.
                log.warning("topic %s of chat %s is gone (%s): sending to the chat's general topic instead",
                            reply.thread_id, chat_id, error.message)
                reply = replace(reply, thread_id=None)
                message = await render_reply(recorder, chat_id, reply, edit_message_id=edit_message_id)  # type: ignore[arg-type]
        except RetryAfter as error:
            raise DeliveryError(str(error), retry_after=_retry_after(error)) from error
        except ChatMigrated as error:
            raise DeliveryError(f"ChatMigrated: {error}", migrated_to=str(error.new_chat_id)) from error
        except (BadRequest, Forbidden, InvalidToken, EndPointNotFound) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}", permanent=True) from error
        except NetworkError as error:  # includes TimedOut
            raise DeliveryError(f"{type(error).__name__}: {error}") from error
        except TelegramError as error:  # e.g. Conflict: worth another try later
            raise DeliveryError(f"{type(error).__name__}: {error}") from error
        if message is None:
            if reply.edit and edit_message_id:
                return str(edit_message_id)  # already showing this content
            raise DeliveryError("nothing to send: the reply is empty", permanent=True)
        ids = [str(i) for i in recorder.sent if i != message.message_id] + [str(message.message_id)]
        return ",".join(ids)


class _Recorder:
    """The bot, noting the id of every message it sends (render_reply returns only the last)."""

    def __init__(self, bot: TelegramBot) -> None:
        self._bot = bot
        self.sent: list[int] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._bot, name)
        if not name.startswith("send_"):
            return attribute

        async def sending(*args: Any, **kwargs: Any) -> Any:
            message = await attribute(*args, **kwargs)
            if isinstance(message, Message):
                self.sent.append(message.message_id)
            return message

        return sending


def _seconds(value: Any) -> float:
    """RetryAfter.retry_after in seconds, whether PTB gives an int or (PTB_TIMEDELTA) a timedelta."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # the int form is what we want
        return _seconds(error.retry_after)


# --------------------------------------------------------------------------------------------------
# Updates → Incoming → router
# --------------------------------------------------------------------------------------------------


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates of different chats concurrently and those of one chat in arrival order.

    Updates reach `do_process_update` in the order they were received (PTB starts one task per
    update in order, and the semaphore is FIFO), so a FIFO lock per chat keeps each chat in order.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _order_key(update: object) -> int | None:
    """Which updates must not overtake each other: those of one chat. Inline queries need no order."""
    if not isinstance(update, Update) or update.inline_query is not None:
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


def incoming_from_message(message: Message) -> Incoming | None:
    """A user's message as the neutral `Incoming`; None for what the bot cannot read."""
    user = message.from_user
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": str(message.chat.id),
        "user_id": str(user.id if user else message.chat.id),
        "display_name": user.full_name if user else (message.chat.title or ""),
        "language_hint": user.language_code if user else None,
    }
    if message.text is not None:
        return Incoming(**base, text=message.text)
    if message.location is not None:
        return Incoming(**base, location=Location(message.location.latitude, message.location.longitude))
    if message.contact is not None:
        contact = message.contact
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        shared = SharedContact(contact.phone_number, name, str(contact.user_id) if contact.user_id else "")
        return Incoming(**base, contact=shared)
    if message.document is not None:
        doc = message.document
        return Incoming(**base, document=SharedDocument(doc.file_id, doc.file_name or "", doc.file_size,
                                                        doc.mime_type or ""))
    return None


def incoming_from_callback(query: CallbackQuery) -> Incoming | None:
    """A button tap as `Incoming(payload=…)`, with the id of the message the button was on."""
    if query.data is None or query.message is None:
        return None  # a game button, or a button on an inline-mode message (we send none)
    return Incoming(
        channel=CHANNEL,
        chat_id=str(query.message.chat.id),
        user_id=str(query.from_user.id),
        display_name=query.from_user.full_name,
        language_hint=query.from_user.language_code,
        payload=query.data,
        message_id=str(query.message.message_id),
    )


@dataclass(frozen=True, slots=True)
class Spot:
    """Where an update's replies go: its chat, the tap to answer (its query's id) and the message the button was on
    (edited in place), and the forum topic the update came from (read by `in_topic`)."""

    chat_id: int | None
    query_id: str | None = None
    message_id: int | None = None
    is_topic_message: bool = False
    message_thread_id: int | None = None


def spot_of(update: Update) -> Spot:
    """The Spot of an update python-telegram-bot has read."""
    query = update.callback_query
    chat = update.effective_chat
    where = query.message if query is not None else update.effective_message
    thread = getattr(where, "message_thread_id", None)
    return Spot(
        chat.id if chat is not None else None,
        query.id if query is not None else None,
        query.message.message_id if query is not None and query.message is not None else None,
        bool(getattr(where, "is_topic_message", False)),
        thread if isinstance(thread, int) else None,
    )


def _get(data: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """data[key] when data is a dict and the value of that type; else None."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def read_plain(update: dict[str, Any]) -> tuple[Incoming, Spot] | None:
    """A text message or a tap on a button, read straight from the update's JSON (the same `Incoming` as
    `incoming_from_message` / `incoming_from_callback`, and its Spot), without building python-telegram-bot's
    objects (≈0.2 ms of CPU an update); None for any other update, or one not in the shape expected, which then
    goes through PTB's `Update`."""
    query = update.get("callback_query")
    if query is not None:
        message, sender = _get(query, "message", dict), _get(query, "from", dict)
        text, payload, query_id = None, _get(query, "data", str), _get(query, "id", str)
        message_id = _get(message, "message_id", int)
        if sender is None or payload is None or query_id is None or message_id is None:
            return None
    else:
        message = _get(update, "message", dict)
        text = _get(message, "text", str)
        if message is None or text is None:
            return None
        sender, payload, query_id, message_id = message.get("from"), None, None, None
    user = _user(sender) if sender is not None else None
    chat = _get(message, "chat", dict)
    chat_id, topic = _get(chat, "id", int), message.get("is_topic_message", False)
    if (sender is not None and user is None) or chat_id is None or not isinstance(topic, bool):
        return None
    if user is None:  # no sender (a message sent to a channel): the chat speaks, as in incoming_from_message
        user = str(chat_id), _get(chat, "title", str) or "", None
    incoming = Incoming(
        channel=CHANNEL, chat_id=str(chat_id), user_id=user[0], display_name=user[1], language_hint=user[2],
        text=text, payload=payload, message_id=str(message_id) if message_id is not None else None,
    )
    return incoming, Spot(chat_id, query_id, message_id, topic, _get(message, "message_thread_id", int))


def _user(sender: Any) -> tuple[str, str, str | None] | None:
    """(id, full name as PTB's `User.full_name`, language code) of a `from` field; None if not in that shape."""
    user_id, first = _get(sender, "id", int), _get(sender, "first_name", str)
    last, language = sender.get("last_name"), sender.get("language_code")
    if user_id is None or first is None or not isinstance(last, str | None) or not isinstance(language, str | None):
        return None
    return str(user_id), f"{first} {last}" if last else first, language


class TelegramChannel:
    """The python-telegram-bot callbacks: each turns an update into `Incoming` and renders the replies."""

    def __init__(self, settings: Settings, services: Services, router: Router, *, concurrent: bool) -> None:
        self.settings = settings
        self.services = services
        self.router = router
        # On SQLite two write transactions at once can fail instead of waiting, so while updates of
        # different chats run concurrently, their database work still goes one at a time.
        self.db_gate: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if concurrent and settings.is_sqlite else nullcontext()
        )

    async def route(self, incoming: Incoming, *, finish: Finish | None = None) -> list[Reply]:
        async with self.db_gate:
            return await self.router.handle(incoming, finish=finish)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, commands, a shared location or contact."""
        message = update.message
        if message is None:
            return
        incoming = incoming_from_message(message)
        if incoming is None:
            if message.chat.type == "private":
                await message.reply_text(self._cannot_read(message))
            return
        replies = await self.route(incoming)
        for reply in replies:
            await render_reply(context.bot, message.chat.id, in_topic(reply, message))

    def _cannot_read(self, message: Message) -> str:
        t = translator(self._language(message.from_user.language_code if message.from_user else None))
        return h(t._("I can read text messages, shared locations and contacts. "
                     "Type the name of a product, or /help."))

    def _language(self, hint: str | None) -> str:
        return normalise_language(hint) or self.settings.default_language

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap on an inline button: route its payload, answer the tap, then show the replies."""
        query = update.callback_query
        if query is None:
            return
        incoming = incoming_from_callback(query)
        if incoming is None:
            await query.answer()
            return
        replies = await self.route(incoming)
        notice = next((r.notice for r in replies if r.notice), "")
        # Answering the tap and showing the answer are independent requests: make them at once.
        answered = asyncio.ensure_future(_answer_tap(query.get_bot(), query.id, _toast(notice)))
        try:
            edit_id = incoming.message_id  # only the first reply that asks to edit replaces the message
            for reply in replies:
                edit = edit_id if reply.edit else None
                await render_reply(context.bot, incoming.chat_id, in_topic(reply, query.message), edit_message_id=edit)
                if reply.edit:
                    edit_id = None
        finally:
            await answered

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`@bot mỳ chũ` in any chat: products to share, as articles."""
        query = update.inline_query
        if query is None:
            return
        t = translator(self._language(query.from_user.language_code))
        text = query.query.strip()[:200]
        results: list[InlineQueryResultArticle] = []
        if text:
            async with self.services.db.session() as session:
                catalog = await self.services.catalog.get(session)
            answer = catalog.index.search(text, limit=INLINE_RESULTS)
            hits = answer.results or answer.suggestions
            results = [product_article(hit.doc, t) for hit in hits[:INLINE_RESULTS]]
        button = None
        if not results:
            label = t._("Type a product name, e.g. mỳ Chũ") if not text else t._("Nothing found: open the bot")
            button = InlineQueryResultsButton(text=label[:64], start_parameter="inline")
        await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False, button=button)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure and tell the user politely, in their language; never show a traceback."""
        log.error("error while handling a Telegram update", exc_info=context.error)
        if not isinstance(update, Update) or update.inline_query is not None:
            return
        user = update.effective_user
        t = translator(self._language(user.language_code if user else None))
        sorry = t._("Sorry, something went wrong on our side. Please try again in a moment.")
        if isinstance(context.error, Forbidden):
            return  # the user blocked the bot: nobody to tell
        try:
            if update.callback_query is not None:
                try:
                    await update.callback_query.answer(_toast(sorry), show_alert=True)
                    return
                except BadRequest:
                    pass  # already answered: say it in the chat instead
            if update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, h(sorry))
        except TelegramError as error:  # the query expired, Telegram is down…
            log.info("could not tell the user about the error: %s", error)


async def _answer_tap(bot: TelegramBot | UnreadAnswers, query_id: str, text: str) -> None:
    """Stop the button's spinner; a tap that is too old to answer still gets its replies."""
    try:
        await bot.answer_callback_query(query_id, text or None)
    except BadRequest as error:
        log.info("could not answer a button tap: %s", error)


def _toast(text: str) -> str:
    """A reply's notice as callback-answer text: plain, at most 200 characters."""
    plain = html.unescape(re.sub(r"<[^<>]*>", "", text)).strip()
    return plain if len(plain) <= MAX_TOAST else plain[: MAX_TOAST - 1] + "…"


def product_article(doc: ProductDoc, t: Translator) -> InlineQueryResultArticle:
    """One product as an inline result: the shared message is a short, escaped product summary."""
    stars = cards.stars_text(t, doc.stars)
    category = cards.category_name(t, doc.category)
    lines = [f"<b>{h(doc.name_vi)}</b>"]
    if doc.name_en:
        lines.append(f"<i>{h(doc.name_en)}</i>")
    lines.append(h(f"{stars} · {category}"))
    place = [doc.commune] if doc.commune else []
    if doc.district:
        place.append(cards.former_district(t, doc.district))
    if doc.province:
        place.append(doc.province)
    if place:
        lines.append(h(t._("Place: {place}", place=", ".join(place))))
    if doc.producer:
        lines.append(h(t._("Producer: {name}", name=doc.producer)))
    short_stars = f"{doc.stars}★" if doc.stars else ""
    return InlineQueryResultArticle(
        id=doc.slug[:64],
        title=doc.name_vi,
        description=" · ".join(p for p in (doc.name_en, short_stars, doc.district) if p),
        input_message_content=InputTextMessageContent("\n".join(lines), parse_mode=ParseMode.HTML),
    )


# --------------------------------------------------------------------------------------------------
# The Application
# --------------------------------------------------------------------------------------------------


def bot_urls(base: str) -> tuple[str, str]:
    """(base_url, base_file_url) for a Bot API server given as 'http://host:port' or '…/bot'."""
    if "{" in base:
        return base, base.replace("/bot", "/file/bot", 1)
    root = base.rstrip("/").removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


async def set_command_menus(bot: TelegramBot) -> None:
    """The command menu in Vietnamese and English; Vietnamese for every other language."""
    for language in ("vi", "en", None):
        t = translator(language or "vi")
        commands = [BotCommand(name, t._(description)) for name, description in COMMANDS]
        await bot.set_my_commands(commands, language_code=language)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    try:
        await set_command_menus(application.bot)
    except TelegramError as error:
        # The menu is a convenience; the bot still works without it.
        log.warning("could not set the command menus: %s", error)


def rate_limiter(settings: Settings, overall_max_rate: float) -> AIORateLimiter:
    """Telegram's limits: per process, or (OCOP_REDIS_URL) one overall limit shared by every process."""
    if settings.redis_url and overall_max_rate > 0 and settings.telegram_token is not None:
        from bot.shared_rate import SharedRateLimiter

        bot_key = settings.telegram_token.get_secret_value().partition(":")[0]  # the bot's id, not the secret
        return SharedRateLimiter(settings.redis_url, bot_key, per_second=overall_max_rate, max_retries=3)
    return AIORateLimiter(overall_max_rate=overall_max_rate, max_retries=3)


def build_application(
    settings: Settings,
    services: Services,
    router: Router,
    *,
    concurrent_updates: int = 8,
    overall_max_rate: float = 30,
) -> Application:  # type: ignore[type-arg]
    """The whole Telegram bot in one place: client, rate limits, handlers, error handler, menus.

    `concurrent_updates` > 1 handles different chats at once, each chat in order: a request to the real
    Bot API takes tens to hundreds of milliseconds, and one update at a time would make every chat wait
    on every other chat's network round trips. `overall_max_rate` is Telegram's ~30 messages/second bulk
    limit (0 = no limit, for benchmarks against a local server).
    """
    if settings.telegram_token is None:
        raise ValueError("OCOP_TELEGRAM_TOKEN is not set")
    builder = (
        Application.builder()
        .token(settings.telegram_token.get_secret_value())
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(rate_limiter(settings, overall_max_rate))
        # aiohttp instead of PTB's default httpx: half the client CPU per Bot API call (see the module)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .job_queue(None)
        .post_init(_post_init)
    )
    concurrent = concurrent_updates > 1
    if concurrent:
        builder = builder.concurrent_updates(PerChatUpdateProcessor(concurrent_updates))
    if settings.telegram_base_url:
        base_url, file_url = bot_urls(settings.telegram_base_url)
        builder = builder.base_url(base_url).base_file_url(file_url)
    application = builder.build()

    channel = TelegramChannel(settings, services, router, concurrent=concurrent)
    # Documents too: an admin sends a catalogue file in the staff chat (handlers/catalog_upload.py).
    readable = filters.TEXT | filters.LOCATION | filters.CONTACT | filters.Document.ALL
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & readable, channel.on_message))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~readable, channel.on_message)
    )
    application.add_handler(CallbackQueryHandler(channel.on_callback))
    application.add_handler(InlineQueryHandler(channel.on_inline_query))
    application.add_error_handler(channel.on_error)
    application.bot_data["channel"] = channel
    services.files[CHANNEL] = partial(download_file, application.bot)
    return application


async def download_file(bot: TelegramBot, file_id: str) -> bytes:
    """A file a user sent, by its file_id (getFile, then the download; Bot API files are at most 20 MB)."""
    file = await bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())
