"""The running program (`ocop-bot run`): Telegram, Zalo and the delivery worker in one event loop."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.channels.telegram import TelegramDeliverer, build_application
from bot.channels.telegram_inbox import PollingTaken, TelegramInbox
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import ZaloAuthError
from bot.config import Settings
from bot.database import open_database
from bot.delivery import DeliveryWorker
from catalog import chat_moves
from catalog.db import Database
from handlers.context import Services
from handlers.router import Router

log = logging.getLogger(__name__)

NO_CHANNEL = (
    "ocop-bot: no channel configured: get a Telegram bot token from @BotFather and set "
    "OCOP_TELEGRAM_TOKEN (or configure Zalo), or try the bot in the terminal with `ocop-bot chat`"
)


class StartupError(Exception):
    """The bot cannot start; the message is one line for the user, the exit code says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Webhook:
    """Telegram webhook mode: Telegram posts to `url`; we listen on `listen:port` at the URL's path."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def url_path(self) -> str:
        return urlsplit(self.url).path.strip("/")


@dataclass
class RunningBot:
    """Everything `running_bot` started, for the caller (and tests) to look at."""

    db: Database
    services: Services
    router: Router
    telegram: Application | None = None  # type: ignore[type-arg]
    zalo: ZaloChannel | None = None
    worker: DeliveryWorker | None = None
    telegram_inbox: TelegramInbox | None = None
    staff_chat_problem: str = ""  # why the staff chat cannot receive cards (empty when it can)

    @property
    def channels(self) -> list[str]:
        return [name for name, part in (("telegram", self.telegram), ("zalo", self.zalo)) if part is not None]


def telegram_configured(settings: Settings) -> bool:
    return bool(settings.telegram_token and settings.telegram_token.get_secret_value().strip())


def channels_to_run(settings: Settings, only: str | None) -> tuple[bool, bool]:
    """(telegram, zalo) to start, or StartupError with a one-line explanation."""
    telegram = telegram_configured(settings) and only in (None, "telegram")
    zalo = settings.zalo_configured and only in (None, "zalo")
    if only == "telegram" and not telegram:
        raise StartupError(NO_CHANNEL.replace(" (or configure Zalo)", ""), 2)
    if only == "zalo" and not zalo:
        raise StartupError(
            "ocop-bot: Zalo is not configured: set OCOP_ZALO_APP_ID, OCOP_ZALO_OA_SECRET_KEY and "
            "OCOP_ZALO_ACCESS_TOKEN, or try the bot in the terminal with `ocop-bot chat`", 2
        )
    if not telegram and not zalo:
        raise StartupError(NO_CHANNEL, 2)
    return telegram, zalo


async def _start_telegram(
    stack: AsyncExitStack, application: Application, webhook: Webhook | None,  # type: ignore[type-arg]
    slots: int = 8,
) -> TelegramInbox:
    """initialize → start → polling/webhook, with the matching stops registered on `stack`."""
    # initialize() opens the HTTP connection pools before its getMe; they are closed even if that fails.
    stack.push_async_callback(application.bot.shutdown)
    try:
        await application.initialize()
    except InvalidToken as exc:
        # Not PTB's message: it quotes the token.
        raise StartupError("ocop-bot: Telegram rejected OCOP_TELEGRAM_TOKEN (check it with @BotFather)", 2) from exc
    except NetworkError as exc:
        raise StartupError(f"ocop-bot: cannot reach the Telegram Bot API: {exc}", 1) from exc
    stack.push_async_callback(application.shutdown)
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    stack.push_async_callback(application.stop)
    # Updates go through the durable inbox, not PTB's Updater (which confirms them before they are handled).
    receiver = TelegramInbox(application.bot_data["channel"], application.bot, slots=slots)
    stack.push_async_callback(receiver.stop)
    try:
        if webhook is None:
            await receiver.start_polling()
        else:
            await receiver.start_webhook(webhook.listen, webhook.port, webhook.url_path, webhook.url, webhook.secret)
    except PollingTaken as exc:
        host, _, rest = exc.holder.partition(":")
        raise StartupError(
            f"ocop-bot: another process (pid {rest.partition(':')[0]} on {host}) is already receiving this bot's "
            "updates by long polling; run one polling process per bot, or several with --webhook-url", 1) from exc
    except TelegramError as exc:
        raise StartupError(f"ocop-bot: Telegram refused to start receiving updates: {exc}", 1) from exc
    except OSError as exc:
        raise StartupError(f"ocop-bot: cannot start the Telegram webhook: {exc}", 1) from exc
    return receiver


@asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    channel: str | None = None,
    webhook: Webhook | None = None,
    db: Database | None = None,
    telegram_options: dict[str, Any] | None = None,
) -> AsyncIterator[RunningBot]:
    """Open the database and start every configured channel and the delivery worker; stop them all
    (in reverse order) on exit. `ocop-bot run` and the end-to-end tests both use this."""
    want_telegram, want_zalo = channels_to_run(settings, channel)
    async with AsyncExitStack() as stack:
        if db is None:
            db = await open_database(settings)
            stack.push_async_callback(db.dispose)
        settings = await follow_staff_chat_moves(db, settings)
        services = Services(db, settings)
        router = Router(services)
        bot = RunningBot(db, services, router)
        deliverers: dict[str, Any] = {}

        if want_zalo:
            bot.zalo = ZaloChannel(services, router, settings)
            try:
                await bot.zalo.start()
            except ZaloAuthError as exc:
                raise StartupError(f"ocop-bot: Zalo refused the OA tokens: {exc}", 2) from exc
            except OSError as exc:  # e.g. the webhook port is taken
                raise StartupError(f"ocop-bot: cannot start the Zalo webhook: {exc}", 1) from exc
            stack.push_async_callback(bot.zalo.stop)
            deliverers["zalo"] = bot.zalo.deliverer

        if want_telegram:
            options = dict(telegram_options or {})
            bot.telegram = build_application(settings, services, router, **options)
            bot.telegram_inbox = await _start_telegram(stack, bot.telegram, webhook,
                                                       max(1, options.get("concurrent_updates", 8)))
            deliverers["telegram"] = TelegramDeliverer(bot.telegram.bot)
            bot.staff_chat_problem = await check_staff_chat(bot.telegram.bot, settings, db)

        bot.worker = DeliveryWorker(db, deliverers, settings)
        services.on_outbox = bot.worker.wake  # a committed enquiry is sent at once, not at the next poll
        await bot.worker.start()
        stack.push_async_callback(bot.worker.stop)
        if want_telegram:
            from bot.deadline_watch import DeadlineWatcher

            watcher = DeadlineWatcher(db, settings, bot.worker.wake)
            await watcher.start()
            stack.push_async_callback(watcher.stop)
        if settings.web_port is not None:
            await _start_console(stack, db, settings, bot.worker.wake)
        yield bot


async def _start_console(stack: AsyncExitStack, db: Database, settings: Settings, wake: Any) -> None:
    """The staff console on OCOP_WEB_HOST:OCOP_WEB_PORT, in this process (its replies wake this worker)."""
    from bot.web.server import NO_SECRET, serve_console

    if settings.web_secret is None:
        raise StartupError(NO_SECRET + " (OCOP_WEB_PORT is set)", 2)
    assert settings.web_port is not None
    try:
        await stack.enter_async_context(serve_console(db, settings, settings.web_host, settings.web_port, wake))
    except (OSError, SystemExit) as exc:
        raise StartupError(f"ocop-bot: cannot serve the staff console on {settings.web_host}:{settings.web_port}: "
                           f"{exc}", 1) from exc
    log.warning("staff console on http://%s:%s/", settings.web_host, settings.web_port)


async def follow_staff_chat_moves(db: Database, settings: Settings) -> Settings:
    """OCOP_STAFF_CHAT_ID as it is now: a group upgraded to a supergroup since (stored when Telegram said so)."""
    if settings.staff_chat_id is None:
        return settings
    now = await chat_moves.resolve(db, "telegram", str(settings.staff_chat_id))
    if now == str(settings.staff_chat_id):
        return settings
    log.warning("the staff chat %s became %s (a supergroup); using the new id: set OCOP_STAFF_CHAT_ID=%s",
                settings.staff_chat_id, now, now)
    return settings.model_copy(update={"staff_chat_id": int(now)})


async def check_staff_chat(bot: Any, settings: Settings, db: Database) -> str:
    """Can the bot post in the staff chat? Said loudly at start when not (leads are still recorded and queued)."""
    if settings.staff_chat_id is None:
        log.info("OCOP_STAFF_CHAT_ID is not set: enquiries are recorded and queued until it is")
        return "OCOP_STAFF_CHAT_ID is not set"
    try:
        await bot.get_chat(settings.staff_chat_id)
    except ChatMigrated as exc:
        async with db.session() as session:
            await chat_moves.record(session, "telegram", str(settings.staff_chat_id), str(exc.new_chat_id))
        log.error("the staff chat %s was upgraded to a supergroup %s: using the new id; set OCOP_STAFF_CHAT_ID=%s",
                  settings.staff_chat_id, exc.new_chat_id, exc.new_chat_id)
        settings.staff_chat_id = int(exc.new_chat_id)
        return ""
    except (Forbidden, BadRequest) as exc:
        problem = (f"the staff chat OCOP_STAFF_CHAT_ID={settings.staff_chat_id} cannot be reached "
                   f"({type(exc).__name__}: {exc.message}): add the bot to it again or fix the id")
        log.error("%s; enquiries are recorded and queued, see `ocop-bot doctor`", problem)
        return problem
    except TelegramError as exc:
        log.warning("could not check the staff chat now (%s)", type(exc).__name__)
    return ""


def staff_chat_warning(problem: str) -> str:
    """Said at start by `run` and `chat` when enquiries cannot reach a staff chat."""
    return (f"ocop-bot: warning: {problem}: enquiries are recorded but reach no staff chat (buyers are told their "
            "enquiry is recorded, not sent); see README \"Setting up the desk\" and run `ocop-bot doctor`")


def freeze_startup_objects() -> None:
    """Take everything built at start-up (modules, SQLAlchemy's mappers, python-telegram-bot's classes,
    the database engine) out of the garbage collector's full collections, which otherwise walk it all
    again each time: a full collection went from ≈95 ms to ≈10 ms in benchmarks/bench_updates.py.
    Called once by the long-running `ocop-bot run` only; what is frozen is never freed."""
    gc.collect()
    gc.freeze()


def _started_line(bot: RunningBot, webhook: Webhook | None) -> str:
    parts = []
    if bot.telegram is not None:
        how = f"webhook {webhook.url}" if webhook else "long polling"
        parts.append(f"Telegram @{bot.telegram.bot.username} ({how})")
    if bot.zalo is not None:
        parts.append("Zalo")
    return "ocop-bot: running on " + " and ".join(parts) + "; press Ctrl+C to stop"


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """`ocop-bot run [--channel telegram|zalo] [--webhook-url URL --listen HOST --port N]`."""
    webhook = None
    if getattr(args, "webhook_url", None):
        if urlsplit(args.webhook_url).scheme != "https" or not urlsplit(args.webhook_url).hostname:
            print(f"ocop-bot: --webhook-url must be an https:// URL, not {args.webhook_url!r}", file=sys.stderr)
            return 2
        secret = settings.telegram_webhook_secret
        webhook = Webhook(args.webhook_url, args.listen, args.port)
        if secret is not None:
            webhook = Webhook(args.webhook_url, args.listen, args.port, secret.get_secret_value())
    try:
        channels_to_run(settings, args.channel)  # fail fast, before touching the database
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    try:
        async with running_bot(settings, channel=args.channel, webhook=webhook) as bot:
            freeze_startup_objects()
            print(_started_line(bot, webhook), file=sys.stderr)
            if bot.staff_chat_problem or settings.staff_chat_id is None:
                print(staff_chat_warning(bot.staff_chat_problem or "OCOP_STAFF_CHAT_ID is not set"), file=sys.stderr)
            await stop.wait()
            print("ocop-bot: stopping…", file=sys.stderr)
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    return 0
