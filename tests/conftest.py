"""Shared fixtures: a real database on SQLite and, when OCOP_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Settings, normalise_database_url
from catalog.db import Database
from catalog.models import Base
from tests.fakes.telegram_api import FakeTelegramAPI

PG_URL = os.environ.get("OCOP_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _reset_postgres(url: str) -> None:
    """Drop every table of a previous test so each test starts from an empty database."""
    import asyncio

    async def reset() -> None:
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await db.dispose()

    asyncio.run(reset())


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    url = normalise_database_url(PG_URL)
    _reset_postgres(url)
    return url


@pytest.fixture(autouse=True)
def search_index_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Stored search indexes (catalog/search/stored.py) go to the test's own folder, not the user's cache."""
    folder = tmp_path / "search-indexes"
    monkeypatch.setenv("OCOP_SEARCH_INDEX_DIR", str(folder))
    return folder


@pytest.fixture
def settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("OCOP_") and name not in ("OCOP_TEST_DATABASE_URL", "OCOP_SEARCH_INDEX_DIR"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env from the developer's checkout
    return Settings(
        database_url=db_url,
        staff_chat_id=-1000,
        staff_user_ids=frozenset({9001, 9002}),
    )


@contextlib.asynccontextmanager
async def opened_database(url: str, *, seed: bool = True) -> AsyncIterator[Database]:
    """A Database on `url`, migrated (and seeded with the demo catalogue unless `seed` is false), disposed after."""
    db = Database(url)
    await db.prepare(seed=seed)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def empty_db(db_url: str) -> AsyncIterator[Database]:
    """Migrated, with no catalogue rows."""
    async with opened_database(db_url, seed=False) as db:
        yield db


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """Migrated and seeded with the demo catalogue."""
    async with opened_database(db_url) as db:
        yield db


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegramAPI]:
    """A local server speaking the Telegram Bot API, for the test module's bot token (`TOKEN`)."""
    async with FakeTelegramAPI(token=getattr(request.module, "TOKEN", "123456:TEST-TOKEN")) as fake:
        yield fake
