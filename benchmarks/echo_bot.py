"""The reference `bench_updates.py` measures the bot against: a minimal python-telegram-bot 22 echo bot.

It is built the way `bot.channels.telegram.build_application` builds ours — the same Defaults (HTML), the
same rate limiter class with the same overall limit, the aiohttp Bot API client (`AiohttpRequest`), the same
per-chat update processor when updates run concurrently, `gc.freeze()` after start-up — and receives updates
with python-telegram-bot's own Updater (long polling), but does nothing of its own: a text is answered with
the text (escaped) and one button, a tap on a button is answered and its message edited. So it makes the
same Bot API calls per update as the bot does for a search or a tap, and the difference between the two
is what the bot spends on its own work (database, search, rendering, the durable inbox).

Not a bot to run: `python benchmarks/bench_updates.py` starts it against the fake Bot API server.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, CallbackQueryHandler, Defaults, MessageHandler, filters

from bot.channels.telegram import PerChatUpdateProcessor, bot_urls
from bot.channels.telegram_http import AiohttpRequest

Done = Callable[[], None]


def build_echo_bot(
    token: str, base_url: str, *, concurrent_updates: int, overall_max_rate: float, done: Done
) -> Application:  # type: ignore[type-arg]
    """The echo bot; `done()` is called once per update handled (for the benchmark's count)."""
    builder = (
        Application.builder()
        .token(token)
        .defaults(
            Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
        .rate_limiter(AIORateLimiter(overall_max_rate=overall_max_rate, max_retries=3))
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .job_queue(None)
    )
    if concurrent_updates > 1:
        builder = builder.concurrent_updates(PerChatUpdateProcessor(concurrent_updates))
    api, files = bot_urls(base_url)
    application = builder.base_url(api).base_file_url(files).build()
    application.add_handler(MessageHandler(filters.TEXT, counted(echo, done)))
    application.add_handler(CallbackQueryHandler(counted(tap, done)))
    return application


def counted(callback: Callable[[Update, Any], Awaitable[None]], done: Done) -> Callable[..., Awaitable[None]]:
    async def wrapper(update: Update, context: Any) -> None:
        try:
            await callback(update, context)
        finally:
            done()

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
