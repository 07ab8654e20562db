"""The bot's one web application: every HTTP endpoint of a running bot on one Starlette app, one uvicorn server.

What it serves is put together from *route providers*: any object with a ``routes()`` method returning
Starlette routes (``Route``, ``Mount``, ``WebSocketRoute``). Today there are three:

- the Telegram webhook (``bot/channels/telegram_inbox.py``, ``TelegramInbox.routes()``: ``POST`` at the
  path of ``--webhook-url``; python-telegram-bot's own webhook server is never started),
- the Zalo webhook (``bot/channels/zalo.py``, ``ZaloChannel.routes()``: ``POST OCOP_ZALO_WEBHOOK_PATH``), and
- the staff console when ``OCOP_WEB_SECRET`` is set (``_StaffConsole`` in ``bot/app.py``),

and the app itself always answers ``GET /healthz`` (200 ``ok`` once everything has started, 503
``starting`` before and while stopping). Each webhook keeps its own guarantees inside its handler: the
update or event is committed to the durable inbox before the 200, the secret token or signature is checked,
the body is capped while it is read and its JSON nesting limited (``bot/webhooks.py``).

**Adding more.** A feature that wants to be served by the running bot is one more provider: a class with
``routes()``, built from the bot's ``Services`` (database, settings, catalogue), for example::

    class Gallery:
        def __init__(self, services: Services) -> None: ...
        def routes(self) -> list[BaseRoute]:
            return [Mount("/gallery", routes=[Route("/", self.index), ...], name="gallery")]

and is mounted by one line in ``bot/app.py``::

    WEB_PARTS = (Gallery,)

``running_bot`` builds each part with the services and serves its routes beside the webhooks, on the same
port (``running_bot(..., web_parts=[...])`` does the same for one run, as the tests do). With any part
present the server also runs when Telegram uses long polling and Zalo is not configured.

Its paths are checked against the others' when the app is built (two providers claiming one path is an
error at start, not a silent shadowing). Anything mounted here is reachable by whoever can reach the
webhooks: the console must check its users itself (the webhooks check their signatures themselves).

``WebServer`` runs uvicorn inside the bot's own event loop (no threads, no second loop), leaving SIGINT and
SIGTERM to ``ocop-bot run``; ``bind`` opens the listening socket first, so a taken port is one clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

HEALTH_PATH = "/healthz"


class RouteProvider(Protocol):
    """Anything that brings routes to the bot's web application."""

    def routes(self) -> Sequence[BaseRoute]: ...


def _claims(route: BaseRoute) -> tuple[str, frozenset[str], bool]:
    """The path a route answers (a mount: its prefix), its methods (empty: all) and whether it is a prefix,
    for the overlap check."""
    if isinstance(route, Mount):
        return route.path.rstrip("/") + "/", frozenset(), True
    path = getattr(route, "path", "")
    methods = getattr(route, "methods", None) or ()
    return path, frozenset(methods), False


def _check_overlaps(routes: Sequence[BaseRoute]) -> None:
    seen: list[tuple[str, frozenset[str], bool]] = []
    for route in routes:
        path, methods, prefix = _claims(route)
        for other_path, other_methods, other_prefix in seen:
            same_methods = not methods or not other_methods or methods & other_methods
            mount_overlap = (prefix and other_path.startswith(path)) or (
                other_prefix and path.startswith(other_path)
            )
            if same_methods and (path == other_path or mount_overlap):
                what = repr(path) if path == other_path else f"{other_path!r} and {path!r}"
                raise ValueError(f"two parts of the web application answer the same path: {what}")
        seen.append((path, methods, prefix))


def build_app(providers: Iterable[RouteProvider], *, ready: Callable[[], bool] = lambda: True) -> Starlette:
    """One Starlette app with every provider's routes (in the order given) and ``GET /healthz``.

    ``ready()`` says whether the bot has finished starting: health answers 200 then, 503 before. Raises
    ValueError when two providers claim the same path (or one mounts over another's)."""

    async def healthz(request: Request) -> Response:
        ok = ready()
        return PlainTextResponse("ok" if ok else "starting", status_code=200 if ok else 503)

    routes: list[BaseRoute] = [Route(HEALTH_PATH, healthz, methods=["GET"], name="healthz")]
    for provider in providers:
        routes.extend(provider.routes())
    _check_overlaps(routes)
    return Starlette(routes=routes)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port), or OSError naming the address."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


class _Server(uvicorn.Server):
    """uvicorn inside our event loop, leaving signal handling to the program that runs it, and waking once a second
    instead of ten times: uvicorn's own loop looks every 0.1 s whether it should stop (and refreshes the Date header
    every tenth look), ten wake-ups a second of every process doing nothing. Here it refreshes the header and looks
    once a second, and `exit_now` stops it at once."""

    TICK = 1.0  # seconds between uvicorn's looks (its Date header is to the second anyway)

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # (a multiple of 10: uvicorn refreshes the Date header on those)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), self.TICK)

    def exit_now(self) -> None:
        self.should_exit = True
        self._exit.set()


class WebServer:
    """Serves one app on one address until ``stop()``: ``await WebServer(app).start(host, port)``."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen and serve; returns the port (the one chosen when ``port`` is 0). OSError if it cannot."""
        sock = bind(host, port)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=True,
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="web-server")
        while not self._server.started:
            if self._task.done():
                sock.close()
                self._server = None
                self._task.result()
                raise OSError(f"the web server on {host}:{port} stopped while starting")
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        """Stop taking requests (those under way finish, up to 5 s) and close the socket."""
        if self._server is not None and self._task is not None:
            self._server.exit_now()
            with contextlib.suppress(Exception):
                await self._task
        self._server = self._task = None
