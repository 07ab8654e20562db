"""The running program (`ocop-bot run`): Telegram, Zalo and the delivery worker in one event loop."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
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
from bot.digest import InsightJobs
from bot.staff_watch import StaffChatWatch
from bot.web.app import RouteProvider, WebServer, build_app
from catalog import chat_moves
from catalog.db import Database
from handlers.context import Services
from handlers.router import Router

log = logging.getLogger(__name__)

NO_CHANNEL = (
    "ocop-bot: no channel configured: get a Telegram bot token from @BotFather and set "
    "OCOP_TELEGRAM_TOKEN (or configure Zalo), or try the bot in the terminal with `ocop-bot chat`"
)


# Parts of the one web application beyond the webhooks and /healthz, each built from the services: the seam
# for the staff console (bot/web/console*.py), mounted by adding its class here. See bot/web/app.py.
WEB_PARTS: tuple[Callable[[Services], RouteProvider], ...] = ()


class StartupError(Exception):
    """The bot cannot start; the message is one line for the user, the exit code says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Webhook:
    """Telegram webhook mode: Telegram posts to `url`, answered at the URL's path by the bot's one web server,
    which listens on `listen:port` when given (else OCOP_WEB_HOST/OCOP_WEB_PORT, see Settings.web_address)."""

    url: str
    listen: str | None = None
    port: int | None = None
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
    web: WebServer | None = None  # the one web server (webhooks, /healthz), when something is served
    web_address: tuple[str, int] | None = None  # where it listens (the port actually bound)
    web_paths: list[str] = field(default_factory=list)
    ready: bool = False  # everything started: /healthz answers 200
    staff_watch: StaffChatWatch | None = None  # reminds the staff in private while it cannot

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
        else:  # answered by the one web server (running_bot), which then registers the URL with Telegram
            await receiver.start_webhook(webhook.url_path, webhook.secret)
    except PollingTaken as exc:
        host, _, rest = exc.holder.partition(":")
        raise StartupError(
            f"ocop-bot: another process (pid {rest.partition(':')[0]} on {host}) is already receiving this bot's "
            "updates by long polling; run one polling process per bot, or several with --webhook-url", 1) from exc
    except TelegramError as exc:
        raise StartupError(f"ocop-bot: Telegram refused to start receiving updates: {exc}", 1) from exc
    return receiver


async def _serve(stack: AsyncExitStack, bot: RunningBot, providers: list[RouteProvider],
                 address: tuple[str, int]) -> None:
    """Every provider's routes and /healthz on one Starlette app and one uvicorn server (bot/web/app.py)."""
    try:
        app = build_app(providers, ready=lambda: bot.ready)
    except ValueError as exc:  # e.g. --webhook-url at OCOP_ZALO_WEBHOOK_PATH
        raise StartupError(f"ocop-bot: {exc}", 2) from exc
    bot.web = WebServer(app)
    try:
        port = await bot.web.start(*address)
    except OSError as exc:  # e.g. the port is taken
        raise StartupError(f"ocop-bot: cannot start the web server: {exc}", 1) from exc
    stack.push_async_callback(bot.web.stop)
    bot.web_address = (address[0], port)
    bot.web_paths = [path for route in app.routes if (path := getattr(route, "path", ""))]


@asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    channel: str | None = None,
    webhook: Webhook | None = None,
    db: Database | None = None,
    telegram_options: dict[str, Any] | None = None,
    web_parts: Sequence[Callable[[Services], RouteProvider]] = (),
) -> AsyncIterator[RunningBot]:
    """Open the database and start every configured channel and the delivery worker; stop them all
    (in reverse order) on exit. `ocop-bot run` and the end-to-end tests both use this.

    `web_parts` are more parts of the one web application (bot/web/app.py), each built from the services."""
    want_telegram, want_zalo = channels_to_run(settings, channel)
    async with AsyncExitStack() as stack:
        if db is None:
            db = await open_database(settings)
            stack.push_async_callback(db.dispose)
        settings = await follow_staff_chat_moves(db, settings)
        services = Services(db, settings)
        services.events.start()  # demand-insight events written in batches; the rest on the way out
        stack.push_async_callback(services.events.stop)
        router = Router(services)
        bot = RunningBot(db, services, router)
        deliverers: dict[str, Any] = {}

        if want_zalo:
            bot.zalo = ZaloChannel(services, router, settings)
            try:
                await bot.zalo.start(serve=False)  # its webhook is served by the one web server below
            except ZaloAuthError as exc:
                raise StartupError(f"ocop-bot: Zalo refused the OA tokens: {exc}", 2) from exc
            stack.push_async_callback(bot.zalo.stop)
            deliverers["zalo"] = bot.zalo.deliverer

        if want_telegram:
            options = {"overall_max_rate": settings.telegram_rate_limit, **(telegram_options or {})}
            bot.telegram = build_application(settings, services, router, **options)
            bot.telegram_inbox = await _start_telegram(stack, bot.telegram, webhook,
                                                       max(1, options.get("concurrent_updates", 8)))
            deliverers["telegram"] = TelegramDeliverer(bot.telegram.bot)

        # The one web application: every webhook (and /healthz) on one server. More parts, such as the staff
        # console, are one more provider appended here (see bot/web/app.py).
        providers: list[RouteProvider] = []
        if bot.zalo is not None:
            providers.append(bot.zalo)
        if webhook is not None and bot.telegram_inbox is not None:
            providers.append(bot.telegram_inbox)
        providers.extend(part(services) for part in web_parts)
        if settings.web_secret is not None:  # the staff console, beside the webhooks (OCOP_WEB_HOST/PORT)
            providers.append(_StaffConsole(db, settings, services))
        if providers:
            host, port = settings.web_address
            if webhook is not None:
                host, port = webhook.listen or host, webhook.port or port
            await _serve(stack, bot, providers, (host, port))
            if bot.zalo is not None:
                bot.zalo.port = bot.web_address[1]
            log.info("web server on %s:%s serving %s", *bot.web_address, ", ".join(bot.web_paths))
        stack.callback(setattr, bot, "ready", False)  # stopping: /healthz says so until the server closes

        if bot.telegram is not None:
            if webhook is not None and bot.telegram_inbox is not None:
                try:
                    await bot.telegram_inbox.register_webhook(webhook.url)
                except TelegramError as exc:
                    raise StartupError(f"ocop-bot: Telegram refused to start receiving updates: {exc}", 1) from exc
            bot.staff_chat_problem = await check_staff_chat(bot.telegram.bot, settings, db)

        bot.worker = DeliveryWorker(db, deliverers, settings)
        services.on_outbox = bot.worker.wake  # a committed enquiry is sent at once, not at the next poll
        if bot.telegram is not None:
            bot.staff_watch = StaffChatWatch(bot.telegram.bot, settings, db, check_staff_chat)
            await bot.staff_watch.start(bot.staff_chat_problem)
            stack.push_async_callback(bot.staff_watch.stop)
            bot.worker.on_card_failed = bot.staff_watch.wake
        await bot.worker.start()
        stack.push_async_callback(bot.worker.stop)
        jobs = InsightJobs(db, settings, services)  # the weekly digest and the events' retention (bot/digest.py)
        jobs.start()
        stack.push_async_callback(jobs.stop)
        if settings.events_secret is None:
            log.info("OCOP_EVENTS_SECRET is not set: demand-insight events count unique chats per process run")
        if want_telegram:
            from bot.deadline_watch import DeadlineWatcher

            watcher = DeadlineWatcher(db, settings, bot.worker.wake)
            await watcher.start()
            stack.push_async_callback(watcher.stop)
        bot.ready = True
        yield bot


class _StaffConsole:
    """The staff console (bot/web/console.py) as a part of the one web application: served by `ocop-bot run`
    when OCOP_WEB_SECRET is set. Its replies to buyers wake this process's delivery worker."""

    def __init__(self, db: Database, settings: Settings, services: Services) -> None:
        self.db, self.settings, self.services = db, settings, services

    def _wake(self) -> None:
        if self.services.on_outbox is not None:
            self.services.on_outbox()

    def routes(self) -> list[Any]:
        from starlette.routing import Route

        from bot.web.console import console_routes
        from bot.web.server import home

        return [Route("/", home, methods=["GET"]), *console_routes(self.db, self.settings, self._wake)]


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
    served = ""
    if bot.web_address is not None:
        host, port = bot.web_address
        served = f", serving {', '.join(bot.web_paths)} on {host}:{port}"
    return "ocop-bot: running on " + " and ".join(parts) + served + "; press Ctrl+C to stop"


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """`ocop-bot run [--channel telegram|zalo] [--webhook-url URL --listen HOST --port N]`."""
    webhook = None
    if getattr(args, "webhook_url", None):
        if urlsplit(args.webhook_url).scheme != "https" or not urlsplit(args.webhook_url).hostname:
            print(f"ocop-bot: --webhook-url must be an https:// URL, not {args.webhook_url!r}", file=sys.stderr)
            return 2
        secret = settings.telegram_webhook_secret
        webhook = Webhook(args.webhook_url)
        if secret is not None:
            webhook = Webhook(args.webhook_url, secret=secret.get_secret_value())
    # --listen/--port: where the one web server (every webhook, /healthz) listens, over OCOP_WEB_HOST/PORT
    listen, port = getattr(args, "listen", None), getattr(args, "port", None)
    if port is not None and not 1 <= port <= 65535:
        print(f"ocop-bot: --port must be between 1 and 65535, not {port}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in (("web_host", listen), ("web_port", port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
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
        async with running_bot(settings, channel=args.channel, webhook=webhook, web_parts=WEB_PARTS) as bot:
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
