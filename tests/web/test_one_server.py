"""One web application for every webhook: Telegram's webhook, Zalo's webhook and /healthz on one port.

Through real HTTP against the whole program (`running_bot`, as `ocop-bot run` starts it), the fake Bot API
and the fake Zalo server; each webhook keeps its checks (secret token, signature, body cap, JSON depth) and
commits to the durable inbox before its 200. A trivial extra part shows the seam the staff console will use.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.app import StartupError, Webhook, running_bot
from bot.config import Settings
from bot.web.app import WebServer, build_app
from catalog.db import Database
from catalog.models import InboxEntry
from handlers.context import Services
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.conftest import zalo_settings_for

TOKEN = "515151:OCOP-WEB-TEST"
SECRET = "one-server_secret"
HOOK = "https://bot.example.org/telegram/hook"
ZALO_USER = "246845883529197922"
REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI() as fake:
        yield fake


@pytest.fixture
def both(settings: Settings, zalo: FakeZaloAPI, api: FakeTelegramAPI) -> Settings:
    """Telegram and Zalo both configured, pointing at the fakes."""
    return zalo_settings_for(settings, zalo, telegram_token=TOKEN, telegram_base_url=api.base_url)


def telegram_update(api: FakeTelegramAPI, chat_id: int, text: str) -> dict[str, Any]:
    """An update as Telegram would post it to the webhook."""
    return api.updates[api.push_message(chat_id, text, user_id=chat_id, language_code="en")]


async def inbox_keys(db: Database, channel: str) -> set[str]:
    async with db.session() as session:
        return set((await session.scalars(select(InboxEntry.key).where(InboxEntry.channel == channel))).all())


async def test_both_webhooks_and_health_on_one_port(
    both: Settings, db: Database, api: FakeTelegramAPI, zalo: FakeZaloAPI
) -> None:
    port = free_port()
    hook = Webhook(HOOK, "127.0.0.1", port, SECRET)
    async with running_bot(both, db=db, webhook=hook) as bot, httpx.AsyncClient() as client:
        assert bot.channels == ["telegram", "zalo"]
        assert bot.web_address == ("127.0.0.1", port) and bot.zalo is not None and bot.zalo.port == port
        assert set(bot.web_paths) == {"/healthz", "/telegram/hook", both.zalo_webhook_path}
        assert api.webhook is not None and api.webhook["url"] == HOOK
        base = f"http://127.0.0.1:{port}"

        health = await client.get(f"{base}/healthz")
        assert (health.status_code, health.text) == (200, "ok")

        # Telegram: the secret token is checked; a 200 means the update is in the inbox.
        update = telegram_update(api, 601, "/start")
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        forged = await client.post(
            f"{base}/telegram/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        assert forged.status_code == 403
        assert str(update["update_id"]) not in await inbox_keys(db, "telegram")
        answer = await client.post(f"{base}/telegram/hook", json=update, headers=headers)
        assert answer.status_code == 200
        assert str(update["update_id"]) in await inbox_keys(db, "telegram")
        assert "OCOP" in (await api.wait_for_messages(601, 1, timeout=WAIT))[0]

        # Zalo, same port: the signature is checked; a 200 means the event is in the inbox.
        zalo.webhook_url = f"{base}{both.zalo_webhook_path}"
        bad = await zalo.push(zalo.event("follow", ZALO_USER), signature="bad")
        assert bad.status_code == 401
        followed = await zalo.follow(ZALO_USER)
        assert (followed.status_code, followed.response) == (200, {"status": "ok"})
        assert len(await inbox_keys(db, "zalo")) == 1
        welcome = await zalo.wait_for_messages(ZALO_USER, 1, within=WAIT)
        assert "OCOP" in welcome[0].text

        # Each webhook's own body cap and JSON depth limit, on the shared server.
        too_big_tg = await client.post(
            f"{base}/telegram/hook",
            headers=headers,
            content=b'{"update_id": 1, "x": "' + b"a" * (1024 * 1024) + b'"}',
        )
        too_big_zalo = await client.post(zalo.webhook_url, content=b'{"x": "' + b"a" * (256 * 1024) + b'"}')
        assert (too_big_tg.status_code, too_big_zalo.status_code) == (413, 413)
        deep = b'{"update_id": 2, "x": ' + b"[" * 40 + b"]" * 40 + b"}"
        assert (await client.post(f"{base}/telegram/hook", headers=headers, content=deep)).status_code == 400
        assert (await client.post(zalo.webhook_url, content=deep)).status_code == 400

        # Wrong method or path: the app's own answers, nothing stored.
        assert (await client.get(f"{base}/telegram/hook")).status_code == 405
        assert (await client.post(f"{base}/nowhere", json={})).status_code == 404

    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/healthz")


class Hello:
    """A trivial extra part of the web application, as the staff console will be one: built from the services."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def hello(self, request: Request) -> Response:
        return PlainTextResponse(f"hello {self.services.settings.default_language}")

    def routes(self) -> Sequence[BaseRoute]:
        return [Mount("/extra", routes=[Route("/hello", self.hello, methods=["GET"])])]


async def test_an_extra_part_is_served_beside_the_zalo_webhook(
    both: Settings, db: Database, zalo: FakeZaloAPI
) -> None:
    async with (
        running_bot(both, channel="zalo", db=db, web_parts=[Hello]) as bot,
        httpx.AsyncClient() as client,
    ):
        assert bot.web_address is not None
        base = f"http://127.0.0.1:{bot.web_address[1]}"
        hello = await client.get(f"{base}/extra/hello")
        assert (hello.status_code, hello.text) == (200, f"hello {both.default_language}")
        zalo.webhook_url = f"{base}{both.zalo_webhook_path}"
        assert (await zalo.follow(ZALO_USER)).response == {"status": "ok"}
        await zalo.wait_for_messages(ZALO_USER, 1, within=WAIT)


async def test_an_extra_part_alone_starts_the_server_in_polling_mode(
    both: Settings, db: Database, api: FakeTelegramAPI
) -> None:
    """Telegram by long polling needs no web server; a part to serve (the console) starts one."""
    polling = both.model_copy(update={"web_port": free_port()})
    async with running_bot(polling, channel="telegram", db=db) as bot:
        assert bot.web is None and bot.web_address is None
    async with running_bot(polling, channel="telegram", db=db, web_parts=[Hello]) as bot:
        assert bot.web_address == ("127.0.0.1", polling.web_port)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{polling.web_port}/extra/hello")).status_code == 200
            assert (await client.get(f"http://127.0.0.1:{polling.web_port}/healthz")).text == "ok"


async def test_two_parts_claiming_one_path_stop_the_start(both: Settings, db: Database) -> None:
    class Squatter:
        def __init__(self, services: Services) -> None:
            pass

        def routes(self) -> Sequence[BaseRoute]:
            return [Mount(both.zalo_webhook_path.rsplit("/", 1)[0], routes=[])]

    with pytest.raises(StartupError) as stopped:
        async with running_bot(both, channel="zalo", db=db, web_parts=[Squatter]):
            pass
    assert stopped.value.exit_code == 2 and both.zalo_webhook_path in str(stopped.value)


async def test_health_is_503_until_ready() -> None:
    ready = False
    server = WebServer(build_app([], ready=lambda: ready))
    port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as client:
            first = await client.get(f"http://127.0.0.1:{port}/healthz")
            ready = True
            second = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert (first.status_code, first.text, second.status_code) == (503, "starting", 200)
        taken = WebServer(build_app([]))
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            await taken.start("127.0.0.1", port)
    finally:
        await server.stop()


async def test_an_idle_server_looks_once_a_second_and_stops_at_once() -> None:
    """uvicorn's own loop looks ten times a second whether it should stop: every idle worker woken for nothing."""
    server = WebServer(build_app([]))
    port = await server.start("127.0.0.1", 0)
    assert server._server is not None
    ticks = 0
    on_tick = server._server.on_tick

    async def counted(counter: int) -> bool:
        nonlocal ticks
        ticks += 1
        return await on_tick(counter)

    server._server.on_tick = counted  # type: ignore[method-assign]
    try:
        await asyncio.sleep(1.5)
        async with httpx.AsyncClient() as client:  # still serving, its Date header set
            answer = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert answer.status_code == 200 and answer.headers.get("date")
    finally:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await server.stop()
        stopping = loop.time() - started
    assert ticks <= 3, ticks
    assert stopping < 0.5


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ocop_bot_run_serves_both_channels_on_one_port(
    db_url: str, db: Database, api: FakeTelegramAPI, zalo: FakeZaloAPI, tmp_path: Path
) -> None:
    """`ocop-bot run --webhook-url … --port N` with Telegram and Zalo configured: one server, both webhooks."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update({f"OCOP_{k.upper()}": str(v) for k, v in zalo.settings_fields().items()})
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "OCOP_DATABASE_URL": db_url,
            "OCOP_TELEGRAM_TOKEN": TOKEN,
            "OCOP_TELEGRAM_BASE_URL": api.base_url,
            "OCOP_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "OCOP_ZALO_WEBHOOK_PORT": str(free_port()),  # not used: --port names the one server's port
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--webhook-url",
        HOOK,
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            started = (await process.stderr.readline()).decode()
        assert "Telegram" in started and "Zalo" in started, started
        assert f"127.0.0.1:{port}" in started and "/telegram/hook" in started and "/zalo/webhook" in started
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/healthz")).status_code == 200
            update = telegram_update(api, 602, "/help")
            posted = await client.post(
                f"{base}/telegram/hook",
                content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
            )
            assert posted.status_code == 200
        zalo.webhook_url = f"{base}/zalo/webhook"
        assert (await zalo.follow(ZALO_USER)).response == {"status": "ok"}
        await api.wait_for_messages(602, 1, timeout=WAIT)
        await zalo.wait_for_messages(ZALO_USER, 1, within=WAIT)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await process.wait() == 0
            rest = (await process.stderr.read()).decode()
        assert "stopping" in rest and "Traceback" not in rest
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_route_at_the_root_is_not_a_prefix_of_every_path() -> None:
    """`/` (the console's home) beside `/healthz` and the webhooks is no overlap; a mount at `/` would be."""

    class Root:
        def routes(self) -> Sequence[BaseRoute]:
            return [Route("/", lambda request: PlainTextResponse("home"), methods=["GET"])]

    class Everything:
        def routes(self) -> Sequence[BaseRoute]:
            return [Mount("/", routes=[])]

    build_app([Root()])
    with pytest.raises(ValueError):
        build_app([Everything()])
