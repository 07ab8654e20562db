"""`ocop-bot web`: the staff console and /healthz in a small Starlette application of its own, served by uvicorn.

The console's routes come from bot/web/console.py, so the same routes can be mounted beside the webhooks in
one application (`ocop-bot run` with OCOP_WEB_SECRET serves them on its one web server, bot/web/app.py); this
module is only the stand-alone way to serve them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.database import open_database
from bot.web.console import console_routes
from catalog.db import Database

log = logging.getLogger(__name__)

NO_SECRET = (
    "ocop-bot: the staff console needs OCOP_WEB_SECRET (at least 32 random characters, e.g. from "
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) to sign its session cookies"
)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def home(request: Request) -> Response:
    return RedirectResponse("/leads", 303)


def console_app(db: Database, settings: Settings, notify: Callable[[], None] | None = None) -> Starlette:
    """The console's routes plus /healthz."""
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", home, methods=["GET"]),
            *console_routes(db, settings, notify),
        ]
    )


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the caller owns the signals
        pass


def make_server(app: Starlette, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", server_header=False
    )
    return _Server(config)


@contextlib.asynccontextmanager
async def serve_console(
    db: Database, settings: Settings, host: str, port: int, notify: Callable[[], None] | None = None
):  # type: ignore[no-untyped-def]
    """Serve the console in the background of the current event loop until the block ends."""
    server = make_server(console_app(db, settings, notify), host, port)
    task = asyncio.create_task(server.serve(), name="staff-console")
    while not server.started:
        if task.done():
            task.result()  # raises the bind error
            raise OSError(f"cannot serve the console on {host}:{port}")
        await asyncio.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """`ocop-bot web [--host 127.0.0.1] [--port 8000]`."""
    if settings.web_secret is None:
        print(NO_SECRET, file=sys.stderr)
        return 2
    db = await open_database(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        async with serve_console(db, settings, args.host, args.port):
            print(
                f"ocop-bot: staff console on http://{args.host}:{args.port}/ (Ctrl+C to stop)",
                file=sys.stderr,
            )
            if not await _has_accounts(db):
                print(
                    "ocop-bot: no staff accounts yet: add one with `ocop-bot staff add USERNAME --admin`",
                    file=sys.stderr,
                )
            await stop.wait()
    except (OSError, SystemExit) as exc:
        print(f"ocop-bot: cannot serve the console on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    return 0


async def _has_accounts(db: Database) -> bool:
    from sqlalchemy import select

    from catalog.models import StaffAccount

    async with db.session() as session:
        return await session.scalar(select(StaffAccount.id).limit(1)) is not None
