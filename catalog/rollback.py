"""Rollback: the catalogue restored from a version's snapshot (catalog/versions.py) through the importer, as a
new version, so a rollback can itself be rolled back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.importer import ImportReport, import_rows
from catalog.models import CatalogVersion
from catalog.rows import TABLE_ORDER
from catalog.versions import NoSuchVersion, snapshot_tables

if TYPE_CHECKING:
    from catalog.db import Database


async def rollback(db: Database, version_id: int, *, actor: str) -> ImportReport:
    """Restore the catalogue as it was at `version_id`, in a transaction of its own (see `rollback_in`)."""
    async with db.session() as session:
        return await rollback_in(session, version_id, actor=actor)


async def rollback_in(session: AsyncSession, version_id: int, *, actor: str) -> ImportReport:
    """Restore the catalogue as it was at `version_id`, as a new version, in the caller's transaction. Raises
    NoSuchVersion, or the importer's ImportFailed if the snapshot no longer passes today's checks (nothing is
    then changed); a snapshot equal to the catalogue changes nothing and records no version."""
    data = await session.scalar(select(CatalogVersion.snapshot).where(CatalogVersion.id == version_id))
    if data is None:
        raise NoSuchVersion(version_id)
    doc = snapshot_tables(data)
    raw = {t: list(enumerate(doc.get(t, []), start=1)) for t in TABLE_ORDER}
    return await import_rows(session, raw, actor=actor, action="rollback", source=f"version {version_id}")
