"""Telegram updates through the durable inbox: received (long polling or webhook), committed, then handled.

Polling asks for the next batch (whose offset tells Telegram the previous one arrived) only after the
previous batch is committed to `inbox`; the webhook answers 200 only after the update is committed. Each
update is then handled from the inbox (bot/inbox.py): the handler's changes and the replies it owes are
committed together, the replies are sent (network errors and 5xx retried with back-off), and the entry
is marked done. A SIGKILL at any moment loses nothing Telegram was told we have; after a restart the
unfinished entries are handled (or their replies sent) again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Bot as TelegramBot
from telegram import Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.channels.telegram import (
    ALLOWED_UPDATES,
    CHANNEL,
    Spot,
    TelegramChannel,
    UnreadAnswers,
    _answer_tap,
    _retry_after,
    _toast,
    in_topic,
    incoming_from_callback,
    incoming_from_message,
    read_plain,
    render_reply,
    spot_of,
)
from bot.inbox import InboxProcessor, Unreadable
from bot.webhooks import BadBody, BodyTooLarge, parse_object, read_body
from catalog import chat_moves, inbox, sessions
from catalog.db import Turn
from catalog.inbox import Accepted
from handlers.messages import Reply, h, reply_dump, reply_load
from handlers.router import Finish
from locales import translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

POLL_TIMEOUT = 25  # seconds a getUpdates long poll waits
POLL_LEASE = 90.0  # seconds the polling lease lasts; renewed every 30 s while polling
MAX_UPDATE_BYTES = 1024 * 1024
REORDER_WINDOW = 5.0  # seconds (webhook mode): a process may stall for a moment (a GC pause, a busy machine:
# 2.4 s seen with 4 processes on 2 loaded cores)
SEND_ATTEMPTS = 6  # a reply is tried this often (0.5, 1, 2, 4, 8 s apart) before the entry counts a failure
T = TypeVar("T")
# A tap carries the whole message its button was on (text, entities, keyboard): handling it reads only where that
# message is (its chat, its id, its forum topic), so only that is turned into python-telegram-bot objects.
TAPPED_MESSAGE_KEYS = ("message_id", "date", "chat", "message_thread_id", "is_topic_message")


def lean_update(update: dict[str, Any]) -> dict[str, Any]:
    """The update as handling needs it: a tap's message reduced to TAPPED_MESSAGE_KEYS (a copy; the stored
    payload keeps everything)."""
    query = update.get("callback_query")
    if not isinstance(query, dict) or not isinstance(query.get("message"), dict):
        return update
    message = query["message"]
    return {**update, "callback_query": {**query, "message": {k: message[k] for k in TAPPED_MESSAGE_KEYS
                                                              if k in message}}}


def update_chat_key(update: dict[str, Any]) -> str:
    """Whose updates keep their order: the chat's (a tap: the chat its message is in); inline queries none."""
    for kind in ("message", "edited_message", "channel_post"):
        body = update.get(kind)
        if isinstance(body, dict) and isinstance(body.get("chat"), dict):
            return str(body["chat"].get("id", ""))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id", ""))
        sender = query.get("from")
        return str(sender.get("id", "")) if isinstance(sender, dict) else ""
    return ""


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int = SEND_ATTEMPTS, base: float = 0.5) -> T:
    """`call()`, tried again after a network error, a timeout or a 5xx (back-off doubling from `base`), and
    after a 429 once the time Telegram asked for has passed. Other errors are raised at once."""
    for attempt in range(attempts):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(_retry_after(exc))
        except (BadRequest, Forbidden, ChatMigrated, InvalidToken, Conflict):
            raise
        except NetworkError:  # TimedOut, 5xx, a dropped connection
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(base * 2 ** attempt)
    raise AssertionError("unreachable")


class PollingTaken(Exception):
    """Another live process already receives this bot's updates by long polling."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class TelegramInbox:
    """Receives updates into the inbox and handles them from there."""

    def __init__(self, channel: TelegramChannel, bot: TelegramBot, *, slots: int = 8) -> None:
        self.channel = channel
        self.bot = bot
        self.replying = UnreadAnswers(bot)  # the replies' sent messages are never read back
        self.db = channel.services.db
        self.processor = InboxProcessor(self.db, CHANNEL, self.handle, slots=slots, on_parked=self._on_parked,
                                        on_flood=self._on_flood)
        chats = channel.router.chats
        if chats is not None:  # a chat's state, read as its turn is taken, is where its next message starts from
            self.processor.chat_row = lambda key, row: chats.refresh(CHANNEL, key, row)
        self._poll_task: asyncio.Task[None] | None = None
        self._secret = ""
        self._webhook_path = ""
        self._stopping = False
        self.offset: int | None = None
        self._progress: dict[int, int] = {}
        self._leased_at: float | None = None  # entry id → replies already sent (for a retry in this process)
        # webhook posts waiting for their update's commit, and the task committing them (see _accept_posted)
        self._posted: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._committing: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------------------- receiving

    async def accept(self, updates: list[Any]) -> int:
        """Commit a batch of raw updates; queue the new ones. Returns how many were new."""
        items = [(str(u["update_id"]), update_chat_key(u), u, u["update_id"]) for u in updates
                 if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        async with self.channel.db_gate:
            accepted = await inbox.accept(self.db, CHANNEL, items, self.processor.owner)
        for entry in accepted:
            self.processor.submit(entry)
        return len(accepted)

    async def _accept_posted(self, update: dict[str, Any]) -> None:
        """A webhook post's update, committed with the others posted while the previous commit was under way: one
        transaction (and one connection) for all of them instead of one each. Returns once the update is committed
        (only then may the post be answered 200); raises when it could not be stored."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._posted.append((update, waiter))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_posted(), name="telegram-webhook-accept")
        await waiter

    async def _commit_posted(self) -> None:
        while self._posted:
            batch, self._posted = self._posted, []
            try:
                await self.accept([update for update, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                # one update the database refuses must not fail the others: each on its own
                for update, waiter in batch:
                    try:
                        await self.accept([update])
                    except Exception as own:
                        _settle(waiter, own)
                    else:
                        _settle(waiter)
            else:
                for _, waiter in batch:
                    _settle(waiter)

    @property
    def _lease_name(self) -> str:
        return f"telegram-polling:{self.bot.id}"  # the bot's id (the token's first part), not the token

    async def start_polling(self) -> None:
        """Refuse (PollingTaken) when another live process already polls this bot: Telegram would answer
        both with 409 Conflict, each taking the other's updates."""
        holder = await inbox.hold_lease(self.db, self._lease_name, self.processor.owner,
                                        self.processor.live_owners, POLL_LEASE)
        if holder:
            raise PollingTaken(holder)
        self._leased_at = asyncio.get_running_loop().time()
        await self._warm_up()
        await self.processor.start()
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._poll_task = asyncio.create_task(self._poll(), name="telegram-inbox-polling")

    async def _warm_up(self) -> None:
        """Load the catalogue and build its search index before the first update: otherwise the first message
        builds it, and the process takes no update meanwhile (seconds on a busy machine, long enough for
        another process to answer the same chat's next message first)."""
        async with self.db.session() as session:
            await self.channel.services.catalog.get(session)

    async def _get_updates(self) -> list[Any]:
        kwargs = {"timeout": POLL_TIMEOUT, "allowed_updates": ALLOWED_UPDATES, "limit": 100}
        if self.offset is not None:
            kwargs["offset"] = self.offset
        # The raw JSON, not PTB's Update objects: an update PTB cannot parse is parked on its own instead of
        # failing the whole batch again and again.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "use Bot.get_updates": on purpose
            result = await self.bot.do_api_request("getUpdates", api_kwargs=kwargs, read_timeout=POLL_TIMEOUT + 10)
        return result if isinstance(result, list) else []

    async def _poll(self) -> None:
        delay = 1.0
        conflict_reported = False
        while not self._stopping:
            try:
                updates = await self._get_updates()
                ids = [u["update_id"] for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
                if ids:
                    await self.accept(updates)
                    # Only now, with the batch committed, may the next request confirm it.
                    self.offset = max(ids) + 1
                delay, conflict_reported = 1.0, False
                await self._renew_lease()
            except asyncio.CancelledError:
                raise
            except Conflict:
                if not conflict_reported:
                    log.error("another process is receiving this bot's updates (409 Conflict): run one polling "
                              "process per bot token, or use the webhook; retrying")
                    conflict_reported = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except InvalidToken:
                log.error("Telegram rejected the bot token while polling; stopped receiving updates")
                return
            except TelegramError as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception as exc:  # the database refused the batch: it is asked for again, nothing confirmed
                log.error("could not store received updates (%s: %s); asking again in %.0f s",
                          type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _renew_lease(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._leased_at < POLL_LEASE / 3:
            return
        holder = await inbox.hold_lease(self.db, self._lease_name, self.processor.owner,
                                        self.processor.live_owners, POLL_LEASE)
        if holder:
            log.error("another process (%s) took over polling this bot; this one stops receiving updates", holder)
            self._stopping = True
            return
        self._leased_at = loop.time()

    async def start_webhook(self, url_path: str, secret: str) -> None:
        """Start handling from the inbox and answer webhook posts at `url_path` (served by the bot's one web
        application, bot/web/app.py, through `routes()`); `register_webhook` then tells Telegram the URL."""
        # Telegram posts updates over several connections at once, and behind a proxy to several processes:
        # an update waits up to this long for an earlier update id that is still on its way (bot/inbox.py).
        self.processor.reorder_window = REORDER_WINDOW
        await self._warm_up()
        await self.processor.start()
        self._secret = secret
        self._webhook_path = "/" + url_path.strip("/")

    def routes(self) -> list[BaseRoute]:
        """The webhook route (after `start_webhook`), for the bot's one web application."""
        if not self._webhook_path:
            return []
        return [Route(self._webhook_path, self._webhook, methods=["POST"], name="telegram-webhook")]

    async def register_webhook(self, url: str) -> None:
        """Ask Telegram to post updates to `url` (once the web application is listening)."""
        await self.bot.set_webhook(url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES,
                                   drop_pending_updates=False)

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            update = parse_object(await read_body(request, MAX_UPDATE_BYTES))
        except BodyTooLarge:
            return PlainTextResponse("too large", status_code=413)
        except BadBody:
            return PlainTextResponse("bad request", status_code=400)
        if not isinstance(update.get("update_id"), int):
            return PlainTextResponse("bad request", status_code=400)
        try:
            await self._accept_posted(update)
        except Exception as exc:  # not stored: Telegram must send it again
            log.error("could not store a webhook update (%s); Telegram will resend it", type(exc).__name__)
            return PlainTextResponse("try again", status_code=500)
        return JSONResponse({"ok": True})

    async def stop_receiving(self) -> None:
        self._stopping = True
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poll_task
            self._poll_task = None
        if self._committing is not None:  # webhook posts being stored: finish, so their entries get handled
            with contextlib.suppress(Exception):
                await self._committing

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.processor.stop()
        if self._leased_at is not None:
            with contextlib.suppress(Exception):
                await inbox.release_lease(self.db, self._lease_name, self.processor.owner)

    # ------------------------------------------------------------------------------- handling

    def _update(self, entry: Accepted) -> Update:
        try:
            return Update.de_json(lean_update(entry.payload), self.bot)
        except Exception as exc:
            raise Unreadable(type(exc).__name__) from exc

    async def handle(self, entry: Accepted) -> None:
        plain = read_plain(entry.payload)  # a text or a tap, most updates: read without PTB's objects
        if plain is not None:
            incoming, spot = plain
        else:
            update = self._update(entry)
            if update.inline_query is not None:
                with contextlib.suppress(TelegramError):  # a late answer to an inline query is useless anyway
                    await self.channel.on_inline_query(update, _Context(self.bot))
                self.processor.finished(entry)
                return
            spot = spot_of(update)
        if entry.replies is not None:  # handled before (a retry, a restart): only the sending is left
            replies = [reply_load(r) for r in entry.replies]
        elif plain is not None:
            replies = await self.channel.route(incoming, finish=self._finish(entry))
        else:
            replies = await self._decide(update, entry)
        error = await self._send(spot, entry, replies)
        self._progress.pop(entry.id, None)
        self.processor.finished(entry, error)

    def _finish(self, entry: Accepted) -> Finish:
        """What the router runs in the update's transaction: the entry marked handled, with the replies it owes (on
        SQLite also the entries finished since the last such transaction marked done)."""

        async def finish(session: AsyncSession | Turn, replies: list[Reply]) -> None:
            await inbox.mark_handled(session, entry.id, [reply_dump(r) for r in replies])
            await self.processor.mark_done_with(session, entry)

        return finish

    async def _decide(self, update: Update, entry: Accepted) -> list[Reply]:
        """Run any other update through the router; its replies are committed with its changes."""
        finish = self._finish(entry)
        incoming = None
        message = update.message
        if message is not None and message.migrate_to_chat_id:
            # "this group is now a supergroup": where its messages (the staff chat's cards) go from now on
            async with self.db.session() as session:
                await chat_moves.record(session, CHANNEL, str(message.chat.id), str(message.migrate_to_chat_id))
                await finish(session, [])
            settings = self.channel.settings
            if str(settings.staff_chat_id) == str(message.chat.id):
                settings.staff_chat_id = message.migrate_to_chat_id
                log.error("the staff chat %s became the supergroup %s: using the new id; set OCOP_STAFF_CHAT_ID=%s",
                          message.chat.id, message.migrate_to_chat_id, message.migrate_to_chat_id)
            return []
        if update.message is not None:
            incoming = incoming_from_message(update.message)
            if incoming is None and update.message.chat.type == "private":
                replies = [Reply(self.channel._cannot_read(update.message))]
                async with self.db.session() as session:
                    await finish(session, replies)
                return replies
        elif update.callback_query is not None:
            incoming = incoming_from_callback(update.callback_query)
        if incoming is None:
            async with self.db.session() as session:
                await finish(session, [])
            return []
        return await self.channel.route(incoming, finish=finish)

    async def _send(self, spot: Spot, entry: Accepted, replies: list[Reply]) -> str:
        """Send the replies (from the first not yet sent); returns a note of what could not be sent."""
        chat_id: int | str | None = spot.chat_id
        answered: asyncio.Future[None] | None = None
        if spot.query_id is not None:
            notice = next((r.notice for r in replies if r.notice), "")
            answered = asyncio.ensure_future(_answer_quietly(self.replying, spot.query_id, _toast(notice)))
        edit_id = spot.message_id
        done = self._progress.get(entry.id, 0)
        try:
            for index, reply in enumerate(replies):
                reply = in_topic(reply, spot)
                edit = edit_id if reply.edit else None
                if reply.edit:
                    edit_id = None
                if index < done or chat_id is None:
                    continue
                try:
                    await with_retries(lambda r=reply, e=edit, c=chat_id: render_reply(self.replying, c, r, edit_message_id=e))
                except ChatMigrated as exc:  # the group became a supergroup: say it there
                    chat_id = exc.new_chat_id
                    await with_retries(lambda r=reply, c=chat_id: render_reply(self.replying, c, r))
                except Forbidden:
                    return "the user blocked the bot"
                except BadRequest as exc:
                    log.warning("Telegram refused a reply in chat %s: %s", chat_id, exc.message[:200])
                    with contextlib.suppress(Unreadable):
                        await self._sorry(self._update(entry))
                    return f"BadRequest: {exc.message[:200]}"
                self._progress[entry.id] = index + 1
        finally:
            if answered is not None:
                await answered
        return ""

    async def _sorry(self, update: Update) -> None:
        user = update.effective_user
        t = translator(self.channel._language(user.language_code if user else None))
        sorry = t._("Sorry, something went wrong on our side. Please try again in a moment.")
        with contextlib.suppress(TelegramError):
            if update.effective_chat is not None:
                await self.bot.send_message(update.effective_chat.id, h(sorry))

    async def _on_flood(self, entry: Accepted) -> None:
        """The chat sends faster than a person: say once, politely, that every message will be answered, slowly."""
        update = Update.de_json(entry.payload, self.bot)
        chat = update.effective_chat
        if chat is None:
            return
        user = update.effective_user
        async with self.db.session() as session:
            stored = await sessions.stored_language(session, CHANNEL, str(chat.id))
        t = translator(stored or self.channel._language(user.language_code if user else None))
        text = t._("You are sending messages faster than I can read them. I will answer every one, in order, "
                   "but more slowly: about one a second.")
        await with_retries(lambda: self.bot.send_message(chat.id, h(text)))

    async def _on_parked(self, entry: Accepted) -> None:
        """The update could not be handled: tell the user, when there is a chat to tell."""
        with contextlib.suppress(Exception):
            update = Update.de_json(entry.payload, self.bot)
            if update.inline_query is None:
                await self._sorry(update)


def _settle(waiter: asyncio.Future[None], error: BaseException | None = None) -> None:
    if waiter.done():  # the post's request was cancelled (its client went away); the update is stored all the same
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


async def _answer_quietly(bot: TelegramBot | UnreadAnswers, query_id: str, text: str) -> None:
    with contextlib.suppress(TelegramError):
        await _answer_tap(bot, query_id, text)


class _Context:
    """What the channel's PTB callbacks read from their context: the bot."""

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot
