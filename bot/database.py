"""Opening the database for a command: migrated and, when empty, seeded with the demo catalogue."""

from __future__ import annotations

from bot.config import Settings
from catalog.db import Database


async def open_database(settings: Settings, *, seed: bool = True) -> Database:
    """The database, migrated and (when empty) seeded with the demo catalogue."""
    db = Database(settings.database_url)
    await db.prepare(seed=seed)
    return db
