"""The reference `bench_updates.py` measures the bot against: a minimal python-telegram-bot 22 echo bot.

It is built the way `bot.channels.telegram.build_application` builds ours — the same Defaults (HTML), the
same rate limiter class with the same overall limit, the aiohttp Bot API client (`AiohttpRequest`), the same
per-chat update processor when updates run concurrently, `gc.freeze()` after start-up — and receives updates
with python-telegram-bot's own Updater (long polling), but does nothing of its own: a text is answered with
the text (escaped) and one button, a tap on a button is answered and its message edited. So it makes the
same Bot API calls per update as the bot does for a search or a tap, and the difference between the two
is what the bot spends on its own work (database, search, rendering, the durable inbox).

Two heavier references (`variant=`) show what durability alone costs, the floor under any durable bot:
- "durable": each getUpdates batch is written to an `inbox` table of a SQLite file (one INSERT per update in one
  transaction, committed before the call returns, so before the next getUpdates confirms the batch), and each
  update is marked done once its reply is sent (one UPDATE, its own commit);
- "stateful": the same, and before the reply the chat's state (a small JSON row) is read and written back with the
  update marked handled, in one transaction; the done mark rides on the next update's transaction, as ours does.
Both use the stdlib's `sqlite3` on the event loop's thread (no thread hop, statements prepared once and cached by
the module) with the project's pragmas (`catalog/db.py`: WAL, synchronous=NORMAL, foreign keys on): the cheapest
this can be done in Python, and what the bot's own SQLite driver does (`catalog/sqlite_driver.py`, which also waits
for a lock without blocking the loop; this one has no other writer to wait for). Two more show what leaving the
loop's thread would cost: "stateful-aiosqlite" is "stateful" on plain `aiosqlite` (what SQLAlchemy's
`sqlite+aiosqlite` dialect drives unless given another connection): each statement a hop to the driver's thread and
back; "stateful-thread" runs the stdlib's driver on a thread of its own, one hop there and back for each transaction.

Not a bot to run: `python benchmarks/bench_updates.py` starts it against the fake Bot API server.
"""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, CallbackQueryHandler, Defaults, MessageHandler, filters

from bot.channels.telegram import PerChatUpdateProcessor, bot_urls
from bot.channels.telegram_http import AiohttpRequest

Done = Callable[[], None]
VARIANTS = ("echo", "durable", "stateful", "stateful-aiosqlite", "stateful-thread")


class Inbox:
    """The least a durable inbox needs, on one SQLite file (see the module's docstring); the stdlib's `sqlite3`."""

    def __init__(self, path: str, *, stateful: bool) -> None:
        self.path, self.stateful = path, stateful
        self.owed_done: list[tuple[int]] = []  # stateful: done marks for the next transaction

    async def open(self) -> None:
        self.db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: BEGIN/COMMIT written out
        await self.setup()

    async def setup(self) -> None:
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):  # as catalog/db.py
            await self.run(f"PRAGMA {pragma}")
        await self.run("CREATE TABLE IF NOT EXISTS inbox (update_id INTEGER PRIMARY KEY, payload TEXT NOT NULL,"
                       " status INTEGER NOT NULL DEFAULT 0)")  # 0 pending, 1 handled (replies owed), 2 done
        await self.run("CREATE TABLE IF NOT EXISTS chat (chat_id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    # the driver: one statement, one statement for many rows, one row read
    async def run(self, sql: str, params: Any = ()) -> None:
        self.db.execute(sql, params)

    async def run_many(self, sql: str, rows: list[Any]) -> None:
        self.db.executemany(sql, rows)

    async def one(self, sql: str, params: Any) -> Any:
        return self.db.execute(sql, params).fetchone()

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        """Store a getUpdates batch in one transaction (a redelivered update id is skipped)."""
        if not updates:
            return
        rows = [(u["update_id"], json.dumps(u, ensure_ascii=False)) for u in updates]
        await self.run("BEGIN")
        await self.run_many("INSERT OR IGNORE INTO inbox (update_id, payload) VALUES (?, ?)", rows)
        await self.run("COMMIT")

    async def handle(self, update_id: int, chat_id: int, text: str) -> None:
        """stateful: the chat's state read and written, the update marked handled, one commit."""
        owed, self.owed_done = self.owed_done, []
        await self.transaction(owed, update_id, chat_id, text)

    async def transaction(self, owed: list[tuple[int]], update_id: int, chat_id: int, text: str) -> None:
        await self.run("BEGIN")
        if owed:
            await self.run_many("UPDATE inbox SET status = 2, payload = '' WHERE update_id = ?", owed)
        row = await self.one("SELECT state FROM chat WHERE chat_id = ?", (chat_id,))
        state = json.loads(row[0]) if row else {"lang": "vi", "seen": 0}
        state["seen"] += 1
        state["last"] = text[:64]
        await self.run("INSERT INTO chat (chat_id, state) VALUES (?, ?)"
                       " ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state", (chat_id, json.dumps(state)))
        await self.run("UPDATE inbox SET status = 1 WHERE update_id = ?", (update_id,))
        await self.run("COMMIT")

    async def done(self, update_id: int) -> None:
        """The reply is sent: durable marks the update done now (its own commit), stateful with the next one."""
        if self.stateful:
            self.owed_done.append((update_id,))
        else:
            await self.run("UPDATE inbox SET status = 2, payload = '' WHERE update_id = ?", (update_id,))

    async def close(self) -> None:
        if self.owed_done:
            await self.run_many("UPDATE inbox SET status = 2, payload = '' WHERE update_id = ?", self.owed_done)
            self.owed_done = []
        await self.shut()

    async def shut(self) -> None:
        self.db.close()


def finish(coroutine: Awaitable[Any]) -> Any:
    """Run to its end, in the calling thread, a coroutine of `Inbox` (the stdlib driver's never suspends)."""
    try:
        coroutine.send(None)  # type: ignore[attr-defined]
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("an Inbox coroutine suspended")


class ThreadInbox(Inbox):
    """The stdlib's `sqlite3` on a thread of its own, each transaction one hop there and back (not one a statement,
    as with aiosqlite)."""

    async def open(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="echo-inbox")
        self.db = await self.hop(lambda: sqlite3.connect(self.path, isolation_level=None, check_same_thread=False))
        await self.hop(lambda: finish(Inbox.setup(self)))

    async def hop(self, call: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, call)

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        await self.hop(lambda: finish(Inbox.accept(self, updates)))

    async def transaction(self, owed: list[tuple[int]], update_id: int, chat_id: int, text: str) -> None:
        await self.hop(lambda: finish(Inbox.transaction(self, owed, update_id, chat_id, text)))

    async def done(self, update_id: int) -> None:
        if self.stateful:
            self.owed_done.append((update_id,))
        else:
            await self.hop(lambda: finish(Inbox.done(self, update_id)))

    async def close(self) -> None:
        await self.hop(lambda: finish(Inbox.close(self)))
        self.pool.shutdown()


class AioInbox(Inbox):
    """The same on plain `aiosqlite`: each statement runs on the driver's thread and the loop awaits it."""

    async def open(self) -> None:
        import aiosqlite

        self.adb = await aiosqlite.connect(self.path, isolation_level=None)
        await self.setup()

    async def run(self, sql: str, params: Any = ()) -> None:
        await self.adb.execute(sql, params)

    async def run_many(self, sql: str, rows: list[Any]) -> None:
        await self.adb.executemany(sql, rows)

    async def one(self, sql: str, params: Any) -> Any:
        async with self.adb.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def shut(self) -> None:
        await self.adb.close()


async def open_inbox(variant: str, path: str) -> Inbox:
    """The inbox of a durable `variant` (not "echo"), open."""
    cls = {"stateful-aiosqlite": AioInbox, "stateful-thread": ThreadInbox}.get(variant, Inbox)
    inbox = cls(path, stateful=variant.startswith("stateful"))
    await inbox.open()
    return inbox


class InboxRequest(AiohttpRequest):
    """The getUpdates request: the batch is stored in the inbox before the call returns (so before the next
    getUpdates confirms it to Telegram)."""

    def __init__(self, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbox = inbox

    async def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
        result = await super().post(url, *args, **kwargs)
        if url.endswith("/getUpdates") and isinstance(result, list):
            await self.inbox.accept(result)
        return result


def build_echo_bot(
    token: str, base_url: str, *, concurrent_updates: int, overall_max_rate: float, done: Done,
    inbox: Inbox | None = None,
) -> Application:  # type: ignore[type-arg]
    """The echo bot; `done()` is called once per update handled (for the benchmark's count). With an `inbox`, the
    durable or stateful variant (see the module's docstring)."""
    builder = (
        Application.builder()
        .token(token)
        .defaults(
            Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
        .rate_limiter(AIORateLimiter(overall_max_rate=overall_max_rate, max_retries=3))
        .request(AiohttpRequest())
        .get_updates_request(
            AiohttpRequest(connection_pool_size=1) if inbox is None else InboxRequest(inbox, connection_pool_size=1)
        )
        .job_queue(None)
    )
    if concurrent_updates > 1:
        builder = builder.concurrent_updates(PerChatUpdateProcessor(concurrent_updates))
    api, files = bot_urls(base_url)
    application = builder.base_url(api).base_file_url(files).build()
    on_text, on_tap = (echo, tap) if inbox is None else (durably(echo, inbox), durably(tap, inbox))
    application.add_handler(MessageHandler(filters.TEXT, counted(on_text, done)))
    application.add_handler(CallbackQueryHandler(counted(on_tap, done)))
    return application


def counted(callback: Callable[[Update, Any], Awaitable[None]], done: Done) -> Callable[..., Awaitable[None]]:
    async def wrapper(update: Update, context: Any) -> None:
        try:
            await callback(update, context)
        finally:
            done()

    return wrapper


def durably(callback: Callable[[Update, Any], Awaitable[None]], inbox: Inbox) -> Callable[..., Awaitable[None]]:
    """`callback` as a durable inbox runs it: (stateful: the chat's state and the handled mark first,) the reply,
    then the done mark."""

    async def wrapper(update: Update, context: Any) -> None:
        if inbox.stateful:
            chat = update.effective_chat
            assert chat is not None
            text = update.message.text if update.message else update.callback_query.data  # type: ignore[union-attr]
            await inbox.handle(update.update_id, chat.id, text or "")
        await callback(update, context)
        await inbox.done(update.update_id)

    return wrapper


async def echo(update: Update, context: Any) -> None:
    """A text back, with one button to tap (its payload shaped like a product button's, `p:…`)."""
    message = update.message
    assert message is not None and message.text is not None
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Again", callback_data=f"p:echo-{message.message_id}")]]
    )
    await message.reply_text(f"<b>Echo</b>: {html.escape(message.text)}", reply_markup=keyboard)


async def tap(update: Update, context: Any) -> None:
    """A tap: answered (the client's spinner stops) and the message edited in place."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"<b>Tapped</b>: {html.escape(query.data or '')}")
