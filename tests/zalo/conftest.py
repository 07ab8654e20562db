"""Fixtures for the Zalo channel tests: the fake Zalo server and the real channel wired to it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from bot.channels.zalo import ZaloChannel
from bot.config import Settings
from catalog.db import Database
from handlers.context import Services
from handlers.router import Router
from tests.fakes.zalo_api import FakeZaloAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def zalo_settings_for(settings: Settings, zalo: FakeZaloAPI, **extra: object) -> Settings:
    """The test settings plus the OCOP_ZALO_* values that point at the fake, on a free port."""
    fields = settings.model_dump()
    for name in list(fields):
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            fields[name] = value.get_secret_value()
    fields.update(zalo.settings_fields(), zalo_webhook_host="127.0.0.1", zalo_webhook_port=free_port())
    fields.update(extra)
    return Settings(**fields)


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI() as fake:
        yield fake


@pytest.fixture
def zalo_settings(settings: Settings, zalo: FakeZaloAPI) -> Settings:
    return zalo_settings_for(settings, zalo)


async def start_channel(db: Database, settings: Settings, zalo: FakeZaloAPI, **kw: object) -> ZaloChannel:
    services = Services(db, settings)
    channel = ZaloChannel(services, Router(services), settings, rate_limit_backoff=0.01, **kw)  # type: ignore[arg-type]
    await channel.start()
    zalo.webhook_url = f"http://127.0.0.1:{channel.port}{settings.zalo_webhook_path}"
    return channel


@pytest.fixture
async def channel(db: Database, zalo_settings: Settings, zalo: FakeZaloAPI) -> AsyncIterator[ZaloChannel]:
    """The real Zalo channel, listening, with the fake's webhook pusher aimed at it."""
    channel = await start_channel(db, zalo_settings, zalo)
    yield channel
    await channel.stop()
