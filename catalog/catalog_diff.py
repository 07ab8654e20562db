"""Staff catalogue uploads: the dry-run diff of a file against the catalogue, and Apply — one module for the
staff console (bot/web/catalog_upload.py), the Telegram staff chat (handlers/catalog_upload.py) and
`ocop-bot catalog import --dry-run`.

An upload is kept (catalog_uploads) with the SHA-256 of its content and the catalogue version it was diffed
against. Apply re-reads the kept content, refuses when the hash the staff member saw is not the kept one or the
catalogue changed since the diff (a stale diff), then imports it through catalog/importer.py in one
transaction, recording a catalogue version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.importer import (
    FORMAT_OCOPVIETNAM,
    FORMAT_OURS,
    CatalogueChanged,
    ImportFailed,
    ImportReport,
    RowError,
    import_rows,
    read_data,
    shown_value,
    state_version,
)
from catalog.models import CatalogUpload, utcnow
from catalog.ocopvietnam import WRAPPER_KEYS

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a national catalogue of 20,000 products as XLSX is ≈3 MB
UPLOAD_SUFFIXES = (".csv", ".xlsx", ".json")
PENDING_HOURS = 24  # an upload not applied within a day is stale whatever the catalogue did
NATIONAL_MARKERS = ("ocop_star", "ocop_certificate_number", "manufacturer", "production_image1")


@dataclass
class Preview:
    """A file's dry run: the changes it would make, or the problems that stop it (then nothing would change)."""

    file_name: str
    sha256: str
    fmt: str
    base_version: int
    report: ImportReport | None = None
    errors: list[RowError] = field(default_factory=list)
    upload_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and not self.errors


class UploadRefused(Exception):
    """Apply refused: `reason` is one of REFUSALS (the caller words it in the staff member's language)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


REFUSALS = ("unknown", "done", "hash", "stale", "expired", "invalid")  # UploadRefused.reason


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def guess_format(data: bytes, file_name: str) -> str:
    """The national system's JSON (its field names give it away) or our own layout."""
    if Path(file_name).suffix.lower() != ".json":
        return FORMAT_OURS
    try:
        doc: Any = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return FORMAT_OURS  # the reader says what is wrong with it
    for _ in range(2):  # {"data": {"items": [...]}} at most
        if isinstance(doc, dict):
            inner = next((doc[k] for k in WRAPPER_KEYS if isinstance(doc.get(k), list | dict)), None)
            if inner is None or (isinstance(inner, list) and "products" in doc and "stores" in doc):
                break
            doc = inner
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and any(k in doc[0] for k in NATIONAL_MARKERS):
        return FORMAT_OCOPVIETNAM
    return FORMAT_OURS


async def preview(session: AsyncSession, data: bytes, file_name: str, fmt: str | None = None) -> Preview:
    """The dry-run diff of `data` against the catalogue now; writes nothing."""
    fmt = fmt or guess_format(data, file_name)
    result = Preview(file_name=file_name, sha256=sha256(data), fmt=fmt, base_version=await state_version(session))
    if len(data) > MAX_UPLOAD_BYTES:
        result.errors = [RowError("file", 0, "", f"the file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB")]
        return result
    raw, errors = read_data(data, file_name, None, fmt)
    if errors and not raw:
        result.errors = errors
        return result
    try:
        result.report = await import_rows(session, raw, dry_run=True, file_errors=errors, fmt=fmt)
    except ImportFailed as failed:
        result.errors = failed.errors
        return result
    result.base_version = result.report.base_version
    return result


async def keep_upload(
    session: AsyncSession, data: bytes, file_name: str, *, actor: str, channel: str, fmt: str | None = None
) -> Preview:
    """Preview the file and, when it would change the catalogue, keep it for Apply (its id in `upload_id`)."""
    await forget_old_uploads(session)
    result = await preview(session, data, file_name, fmt)
    if not result.ok or result.report is None or result.report.empty:
        return result
    upload = CatalogUpload(
        actor=actor[:200],
        channel=channel[:20],
        file_name=file_name[:300],
        content_sha256=result.sha256,
        data=data,
        base_version=result.base_version,
        status="pending",
    )
    session.add(upload)
    await session.flush()
    result.upload_id = upload.id
    return result


async def forget_old_uploads(session: AsyncSession) -> None:
    """Pending uploads older than PENDING_HOURS can no longer be applied: drop their content."""
    cutoff = utcnow() - dt.timedelta(hours=PENDING_HOURS)
    await session.execute(
        update(CatalogUpload)
        .where(CatalogUpload.status == "pending", CatalogUpload.created_at < cutoff)
        .values(status="expired", data=b"")
    )


async def apply_upload(session: AsyncSession, upload_id: int, content_sha256: str, *, actor: str) -> ImportReport:
    """Apply a kept upload, in the caller's transaction, if nothing changed since its diff; raises
    UploadRefused (nothing applied; the upload is marked so when it can never be applied)."""
    upload = await session.get(CatalogUpload, upload_id)
    if upload is None:
        raise UploadRefused("unknown")
    if upload.status != "pending":
        raise UploadRefused("done")
    # The whole SHA-256 (console form), or at least its first 16 hex digits (a Telegram button's 64 bytes).
    if len(content_sha256) < 16 or not upload.content_sha256.startswith(content_sha256) \
            or sha256(upload.data) != upload.content_sha256:
        raise UploadRefused("hash")
    if utcnow() - upload.created_at > dt.timedelta(hours=PENDING_HOURS):
        upload.status, upload.data = "expired", b""
        raise UploadRefused("expired")
    fmt = guess_format(upload.data, upload.file_name)
    raw, errors = read_data(upload.data, upload.file_name, None, fmt)
    try:
        report = await import_rows(
            session, raw, file_errors=errors, fmt=fmt, actor=actor, action="upload", source=upload.file_name,
            expect_version=upload.base_version,
        )
    except CatalogueChanged:
        upload.status = "stale"
        raise UploadRefused("stale") from None
    except ImportFailed:
        upload.status = "refused"
        raise UploadRefused("invalid") from None
    upload.status = "applied"
    upload.version_id = report.version_id
    upload.data = b""  # the version's snapshot keeps what matters
    return report


async def cancel_upload(session: AsyncSession, upload_id: int) -> bool:
    """Forget a pending upload; False if there was none pending."""
    upload = await session.get(CatalogUpload, upload_id)
    if upload is None or upload.status != "pending":
        return False
    upload.status = "cancelled"
    upload.data = b""
    return True


def change_count(report: ImportReport) -> tuple[int, int, int]:
    """(added, changed, removed) over every table."""
    tables = report.tables.values()
    return (sum(len(c.added) for c in tables), sum(len(c.changed) for c in tables),
            sum(len(c.removed) for c in tables))


shown = shown_value  # a cell's value as the diff shows it
