"""Catalogue versions: every applied import, upload or rollback with who, what, when, row counts and a snapshot.

The snapshot is the whole catalogue in the JSON import layout (what `ocop-bot catalog export x.json` writes),
gzip-compressed: the 88-product demo catalogue is a few kilobytes. A rollback imports that snapshot through
the ordinary importer, so it is validated, applied in one transaction, bumps catalog_state.version (every
process then reloads its search index) and is itself recorded as a new version that can be rolled back
(catalog/rollback.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import CatalogState, CatalogVersion
from catalog.rows import TABLE_ORDER, read_tables

if TYPE_CHECKING:
    from catalog.importer import ImportReport

HISTORY_LIMIT = 50


class NoSuchVersion(LookupError):
    """There is no catalogue version with that number."""


@dataclass(frozen=True, slots=True)
class VersionLine:
    """A version as history lists it (without its snapshot)."""

    id: int
    created_at: Any
    actor: str
    action: str
    source: str
    counts: dict[str, Any]
    state_version: int


def snapshot_bytes(tables: dict[str, dict[str, dict[str, Any]]]) -> bytes:
    """The catalogue ({table: {slug: row}}) as gzip-compressed JSON in the import layout."""
    doc = {t: list(tables[t].values()) for t in TABLE_ORDER}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)
    return gzip.compress(text.encode("utf-8"), compresslevel=1, mtime=0)


def snapshot_tables(data: bytes) -> dict[str, list[dict[str, Any]]]:
    doc: dict[str, list[dict[str, Any]]] = json.loads(gzip.decompress(data).decode("utf-8"))
    return doc


async def record(session: AsyncSession, report: ImportReport, *, actor: str, action: str, source: str) -> int:
    """Record the change just applied in `session` (same transaction) with a snapshot of the result."""
    tables = await read_tables(session)
    snapshot = snapshot_bytes(tables)
    counts = {
        t: {"added": len(c.added), "changed": len(c.changed), "removed": len(c.removed), "rows": len(tables[t])}
        for t, c in report.tables.items()
    }
    for table in TABLE_ORDER:
        counts.setdefault(table, {"added": 0, "changed": 0, "removed": 0, "rows": len(tables[table])})
    version = CatalogVersion(
        actor=actor[:200],
        action=action[:20],
        source=source[:300],
        counts=counts,
        state_version=await session.scalar(select(CatalogState.version).where(CatalogState.id == 1)) or 0,
        snapshot=snapshot,
        snapshot_sha256=hashlib.sha256(snapshot).hexdigest(),
    )
    session.add(version)
    await session.flush()
    return version.id


async def history(session: AsyncSession, limit: int = HISTORY_LIMIT) -> list[VersionLine]:
    """The newest versions first."""
    rows = await session.execute(
        select(CatalogVersion.id, CatalogVersion.created_at, CatalogVersion.actor, CatalogVersion.action,
               CatalogVersion.source, CatalogVersion.counts, CatalogVersion.state_version)
        .order_by(CatalogVersion.id.desc())
        .limit(limit)
    )
    return [VersionLine(*row) for row in rows]


async def version_line(session: AsyncSession, version_id: int) -> VersionLine | None:
    row = (await session.execute(
        select(CatalogVersion.id, CatalogVersion.created_at, CatalogVersion.actor, CatalogVersion.action,
               CatalogVersion.source, CatalogVersion.counts, CatalogVersion.state_version)
        .where(CatalogVersion.id == version_id)
    )).first()
    return VersionLine(*row) if row is not None else None


async def latest_id(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(CatalogVersion.id)))


async def previous_id(session: AsyncSession, version_id: int) -> int | None:
    """The version recorded just before `version_id` (what undoing it restores)."""
    return await session.scalar(select(func.max(CatalogVersion.id)).where(CatalogVersion.id < version_id))


def total_rows(counts: dict[str, Any]) -> str:
    """'88 products, 40 stores, 12 online, 9 contacts' from a version's counts."""
    return ", ".join(f"{counts.get(t, {}).get('rows', 0)} {t}" for t in TABLE_ORDER)
