"""Database setup: the async engine and sessions, Alembic migrations, and first-run seeding."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from catalog import sqlite_driver
from catalog.models import Product

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers run beside the writer and makes a commit ~4x cheaper; with synchronous=NORMAL a
    # killed process loses nothing committed (only a power cut could lose the last transactions).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


class Database:
    """One engine and session factory per process; every layer gets it passed in."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:"):
                # One shared connection, or every session would see its own empty database.
                kwargs["poolclass"] = StaticPool
                kwargs["async_creator"] = sqlite_driver.async_creator(parsed)
            else:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                kwargs["async_creator"] = sqlite_driver.async_creator(parsed)
                # Sessions always end in commit or rollback, so the pool's extra ROLLBACK on return
                # would be a wasted statement on every message.
                kwargs["pool_reset_on_return"] = None
        else:
            # Up to 8 chats handled at once, each with its turn (bot/inbox.py) and its transaction: 16 connections.
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        session = self.sessionmaker()
        try:
            async with session.begin():
                yield session
        finally:
            if self.dialect == "sqlite":
                # Closing only hands the connection back to the pool, without suspending (the SQLite
                # driver runs on this thread), so nothing can cancel it halfway: skip the task of its
                # own that SQLAlchemy's `async with` spends on that (an extra loop turn per message).
                await session.close()
            else:
                await session.__aexit__(None, None, None)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    async def upgrade(self) -> bool:
        """Apply pending migrations; returns True when anything was applied."""
        if await self.current_revision() == self.head_revision():
            return False
        cfg = alembic_config(self.url)

        def run(connection: Any) -> None:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

        async with self.engine.begin() as conn:
            await conn.run_sync(run)
        return True

    async def is_empty(self) -> bool:
        async with self.sessionmaker() as session:
            return (await session.scalar(select(Product.id).limit(1))) is None

    async def prepare(self, *, seed: bool = True) -> None:
        """Bring the schema up to date and, on an empty catalogue, load the demo catalogue."""
        if await self.upgrade():
            log.info("database migrated to %s", self.head_revision())
        if seed and await self.is_empty():
            from catalog.importer import seed_demo_catalog

            await seed_demo_catalog(self)

    async def dispose(self) -> None:
        await self.engine.dispose()
