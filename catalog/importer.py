"""Catalogue import: read CSV/XLSX/JSON, validate every row, then apply all of it or nothing."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from catalog import versions
from catalog.models import CatalogState, Contact, OnlineListing, Producer, Product, Store, store_products
from catalog.ocopvietnam import NATIONAL_NAMES, keep_what_the_record_lacks, read_ocopvietnam
from catalog.rows import (
    PRODUCER_FIELDS,
    TABLE_ORDER,
    TABLES,
    CatalogueRows,
    columns_of,
    guess_table,
    parse_row,
    read_catalogue,
)

if TYPE_CHECKING:  # catalog.db seeds the demo catalogue through this module: only a type here, not a circle
    from catalog.db import Database

log = logging.getLogger(__name__)
FORMATS = (".csv", ".xlsx", ".json")
FORMAT_OURS, FORMAT_OCOPVIETNAM = "ocop", "ocopvietnam"
FILE_FORMATS = (FORMAT_OURS, FORMAT_OCOPVIETNAM)


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file: where (table, row, column) and why."""

    table: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.table} row {self.row}" if self.row else self.table
        return f"{where}, column {self.column or '-'}: {self.reason}"


class ImportFailed(Exception):
    """The file cannot be imported; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


FieldChange = tuple[str, Any, Any]  # column, old value, new value


@dataclass
class TableChanges:
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    # The changed rows' columns with their old and new values, and a readable name for every slug listed.
    details: dict[str, list[FieldChange]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass
class ImportReport:
    tables: dict[str, TableChanges]
    applied: bool
    base_version: int = 0  # catalog_state.version the diff was made against
    version_id: int | None = None  # the catalogue version recorded when applied (None: nothing changed)

    @property
    def empty(self) -> bool:
        return all(changes.empty for changes in self.tables.values())

    def lines(self, *, details: bool = False) -> list[str]:
        """The changes in English for the command line; `details` adds each changed column's old → new."""
        out = []
        for name, ch in self.tables.items():
            out.append(f"{name}: {len(ch.added)} added, {len(ch.changed)} changed, {len(ch.removed)} removed")
            out += [f"  + {slug}" for slug in ch.added]
            for slug, cols in ch.changed.items():
                out.append(f"  ~ {slug} ({', '.join(cols)})")
                if details:
                    out += [f"      {col}: {shown_value(old)} → {shown_value(new)}" for col, old, new in ch.details[slug]]
            out += [f"  - {slug}" for slug in ch.removed]
        return out


RawTables = dict[str, list[tuple[int, dict[str, Any]]]]


def shown_value(value: Any, limit: int = 80) -> str:
    if value is None or value == "" or value == []:
        text = "—"
    elif isinstance(value, list):
        text = " | ".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_header(table: str, header: list[str], errors: list[RowError]) -> None:
    known = set(columns_of(table))
    for name in header:
        if name not in known:
            errors.append(RowError(table, 1, name, "unknown column"))
    for column in TABLES[table]:
        if column.required and column.name not in header:
            errors.append(RowError(table, 1, column.name, "required column missing"))


def _csv_records(text: str) -> tuple[list[list[str]], str]:
    """The CSV records up to the first one the csv module cannot read, and why it could not ("" if none)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    while True:
        try:
            rows.append(next(reader))
        except StopIteration:
            return rows, ""
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                limit = csv.field_size_limit()
                return rows, f"a cell longer than {limit:,} characters, far too long for any column; nothing after it was read"
            return rows, f"not readable as CSV ({exc}); nothing after it was read"


def _read_csv(data: bytes, table: str | None, errors: list[RowError]) -> RawTables:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(RowError(table or "file", 0, "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"))
        return {}
    rows, unreadable = _csv_records(text)
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        errors.append(RowError(table or "file", 0, "", "the file is empty"))
        return {}
    header = [h.strip() for h in rows[0]]
    table = table or guess_table(header)
    if table is None:
        errors.append(RowError("file", 1, "", "cannot tell which table this is; pass --table"))
        return {}
    _check_header(table, header, errors)
    if unreadable:
        errors.append(RowError(table, len(rows) + 1, "", unreadable))
    elif len(rows) == 1:
        errors.append(RowError(table, 0, "", "the file has a header but no rows"))
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            errors.append(RowError(table, number, "", f"{len(cells)} cells but {len(header)} columns"))
            continue
        out.append((number, dict(zip(header, cells, strict=False))))
    return {table: out}


def _read_xlsx(data: bytes, errors: list[RowError]) -> RawTables:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        errors.append(RowError("file", 0, "", f"not a readable XLSX workbook ({type(exc).__name__})"))
        return {}
    out: RawTables = {}
    for sheet in book.worksheets:
        name = sheet.title.strip().lower()
        if name not in TABLES:
            errors.append(RowError(sheet.title, 0, "", f"unknown sheet; expected {', '.join(TABLE_ORDER)}"))
            continue
        try:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        except Exception as exc:  # a damaged sheet fails only while it is read, again in many ways
            errors.append(RowError(name, 0, "", f"the sheet cannot be read ({type(exc).__name__})"))
            continue
        rows = [r for r in rows if any(c not in (None, "") for c in r)]
        if not rows:
            continue
        header = [h.strip() if isinstance(h, str) else "" if h is None else repr(h) for h in rows[0]]
        while header and not header[-1]:
            header.pop()
        _check_header(name, header, errors)
        out[name] = [
            (n, {h: ("" if c is None else c) for h, c in zip(header, cells, strict=False) if h})
            for n, cells in enumerate(rows[1:], start=2)
        ]
    book.close()
    if not out and not errors:
        errors.append(RowError("file", 0, "", "the workbook is empty"))
    return out


def _json_int(text: str) -> int | Decimal:
    # Python refuses to turn more than 4,300 digits into an int; the row check says the number is out of range.
    return int(text) if len(text) <= 1000 else Decimal(text)


def _read_json(data: bytes, errors: list[RowError]) -> RawTables:
    try:
        doc = json.loads(data.decode("utf-8-sig"), parse_int=_json_int)
    except UnicodeDecodeError as exc:
        errors.append(RowError("file", 0, "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"))
        return {}
    except json.JSONDecodeError as exc:
        errors.append(RowError("file", exc.lineno, "", f"not valid JSON: {exc.msg}"))
        return {}
    except RecursionError:
        errors.append(RowError("file", 0, "", "not a catalogue: arrays or objects nested too deeply"))
        return {}
    if isinstance(doc, list):
        doc = {"products": doc}
    if not isinstance(doc, dict):
        errors.append(RowError("file", 0, "", "expected an object with products, stores, online, contacts"))
        return {}
    out: RawTables = {}
    for name, rows in doc.items():
        if name.startswith("_"):
            continue  # comments such as "_about"
        if name not in TABLES:
            errors.append(RowError(name, 0, "", f"unknown table; expected {', '.join(TABLE_ORDER)}"))
            continue
        if not isinstance(rows, list):
            errors.append(RowError(name, 0, "", "expected a list of rows"))
            continue
        header: list[str] = []
        table_rows = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                errors.append(RowError(name, number, "", "expected an object"))
                continue
            header += [k for k in row if k not in header]
            table_rows.append((number, row))
        _check_header(name, header, errors)
        out[name] = table_rows
    if not any(out.values()) and not errors:
        errors.append(RowError("file", 0, "", "the file is empty"))
    return out


def _read_ocopvietnam(data: bytes, errors: list[RowError]) -> RawTables:
    rows, problems = read_ocopvietnam(data)
    errors += [RowError("products" if row else "file", row, field, reason) for row, field, reason in problems]
    return {"products": rows} if rows else {}


def read_file(path: Path, table: str | None = None, fmt: str = FORMAT_OURS) -> tuple[RawTables, list[RowError]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {}, [RowError("file", 0, "", f"cannot read the file: {exc.strerror}")]
    return read_data(data, path.name, table, fmt)


def read_data(
    data: bytes, file_name: str, table: str | None = None, fmt: str = FORMAT_OURS
) -> tuple[RawTables, list[RowError]]:
    """A file's content as raw rows by table, and the problems found reading it (`fmt`: see FILE_FORMATS)."""
    errors: list[RowError] = []
    suffix = Path(file_name).suffix.lower()
    if fmt not in FILE_FORMATS:
        return {}, [RowError("file", 0, "", f"unknown format {fmt!r}; expected {', '.join(FILE_FORMATS)}")]
    if suffix not in FORMATS or (fmt == FORMAT_OCOPVIETNAM and suffix != ".json"):
        expected = ".json" if fmt == FORMAT_OCOPVIETNAM else ".csv, .xlsx or .json"
        return {}, [RowError("file", 0, "", f"unsupported file type {suffix or '(none)'}; use {expected}")]
    if table is not None and table not in TABLES:
        return {}, [RowError("file", 0, "", f"unknown table {table!r}")]
    if not data.strip():
        return {}, [RowError("file", 0, "", "the file is empty")]
    if fmt == FORMAT_OCOPVIETNAM:
        return _read_ocopvietnam(data, errors), errors
    if suffix == ".csv":
        return _read_csv(data, table, errors), errors
    if suffix == ".xlsx":
        return _read_xlsx(data, errors), errors
    return _read_json(data, errors), errors


def validate(raw: RawTables, existing_products: set[str]) -> tuple[dict[str, list[dict[str, Any]]], list[RowError]]:
    """Parse every row; check slugs are unique and references point at products that will exist."""
    errors: list[RowError] = []
    clean: dict[str, list[dict[str, Any]]] = {}
    for table in TABLE_ORDER:
        if table not in raw:
            continue
        seen: dict[str, int] = {}
        rows = []
        for number, row in raw[table]:
            parsed, problems = parse_row(table, row)
            errors += [RowError(table, number, col, reason) for col, reason in problems]
            slug = parsed.get("slug")
            if slug:
                if slug in seen:
                    errors.append(RowError(table, number, "slug", f"duplicate slug {slug!r} (also row {seen[slug]})"))
                else:
                    seen[slug] = number
            rows.append((number, parsed))
        clean[table] = [r for _, r in rows]
        if table == "products":
            existing_products = set(seen)
        for number, parsed in rows:
            refs = parsed.get("products", []) if table == "stores" else [parsed.get("product")]
            for ref in refs:
                if ref and ref not in existing_products:
                    column = "products" if table == "stores" else "product"
                    errors.append(RowError(table, number, column, f"no product with slug {ref!r}"))
    return clean, errors


def _label(row: dict[str, Any]) -> str:
    return str(row.get("name_vi") or row.get("name") or row.get("platform") or row.get("slug") or "")


def diff(current: dict[str, dict[str, Any]], incoming: list[dict[str, Any]]) -> TableChanges:
    """What applying `incoming` (every row of one table) to `current` ({slug: row}) would add, change and remove."""
    changes = TableChanges()
    incoming_slugs = set()
    for row in incoming:
        slug = row["slug"]
        incoming_slugs.add(slug)
        old = current.get(slug)
        if old is None:
            changes.added.append(slug)
            changes.labels[slug] = _label(row)
            continue
        details = [
            (k, old.get(k), v) for k, v in row.items()
            if old.get(k) != v and not (old.get(k) in ("", None) and v in ("", None))
        ]
        if details:
            changes.changed[slug] = [k for k, _, _ in details]
            changes.details[slug] = details
            changes.labels[slug] = _label(row)
    changes.removed = sorted(set(current) - incoming_slugs)
    changes.labels |= {slug: _label(current[slug]) for slug in changes.removed}
    return changes


# Applying a validated file: plain Core statements (executemany), not ORM objects, and only for what the diff
# says changed; removals by id in batches, never a NOT IN list of every slug kept.

PRODUCT_COLUMNS = tuple(c for c in columns_of("products") if not c.startswith("producer"))
STORE_COLUMNS = tuple(c for c in columns_of("stores") if c != "products")
ONLINE_COLUMNS = tuple(c for c in columns_of("online") if c != "product")
BATCH = 500  # ids per DELETE … IN (…): well under SQLite's and asyncpg's limits on bound parameters


async def _delete_ids(conn: AsyncConnection, table: Table, ids: list[int]) -> None:
    for start in range(0, len(ids), BATCH):
        await conn.execute(delete(table).where(table.c.id.in_(ids[start : start + BATCH])))


async def _update_by_id(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """UPDATE each row (a dict with `row_id` and the new column values) by id, as one executemany."""
    if rows:
        await conn.execute(update(table).where(table.c.id == bindparam("row_id")), rows)


async def _slug_ids(conn: AsyncConnection, table: Table) -> dict[str, int]:
    return {slug: row_id for row_id, slug in await conn.execute(select(table.c.id, table.c.slug))}


async def _sync_producers(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert or update the producers the product rows name (the last row naming one gives its details; an
    empty kind keeps the one known); returns name → id. Only producers that differ are written."""
    producers_t = Producer.__table__
    known = {
        row.name: row._asdict()
        for row in await conn.execute(select(producers_t.c.id, producers_t.c.name, *(
            producers_t.c[f] for f in PRODUCER_FIELDS)))
    }
    wanted: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row.get("producer") or ""
        if not name:
            continue
        before = wanted.get(name) or known.get(name) or {}
        wanted[name] = {"kind": row.get("producer_kind") or before.get("kind") or "other"} | {
            f: row.get(f"producer_{f}", "") for f in PRODUCER_FIELDS if f != "kind"
        }
    added = [{"name": name, **values} for name, values in wanted.items() if name not in known]
    changed = [
        {"row_id": known[name]["id"], **values}
        for name, values in wanted.items()
        if name in known and any(known[name][f] != v for f, v in values.items())
    ]
    if added:
        await conn.execute(insert(producers_t), added)
    await _update_by_id(conn, producers_t, changed)
    if not added:
        return {name: known[name]["id"] for name in wanted}
    return {name: row_id for row_id, name in await conn.execute(select(producers_t.c.id, producers_t.c.name))}


async def _apply(
    session: AsyncSession, clean: dict[str, list[dict[str, Any]]], now: CatalogueRows, report: ImportReport
) -> None:
    conn = await session.connection()
    if not any(not changes.empty for changes in report.tables.values()):
        return  # an unchanged file changes nothing, not even the catalogue version
    product_ids = now.ids["products"]
    if "products" in clean and not report.tables["products"].empty:
        changes = report.tables["products"]
        rows = {r["slug"]: r for r in clean["products"]}
        products_t = Product.__table__
        await _delete_ids(conn, products_t, [product_ids[slug] for slug in changes.removed])
        producer_ids = await _sync_producers(conn, clean["products"])

        def values(slug: str) -> dict[str, Any]:
            row = rows[slug]
            out = {c: row.get(c) for c in PRODUCT_COLUMNS}
            out["producer_id"] = producer_ids.get(row.get("producer") or "")
            return out

        await _update_by_id(conn, products_t, [{"row_id": product_ids[s], **values(s)} for s in changes.changed])
        if changes.added:
            await conn.execute(insert(products_t), [values(s) for s in changes.added])
        # Producers no product names any more (a subquery, not a list).
        used = select(products_t.c.producer_id).where(products_t.c.producer_id.is_not(None))
        producers_t = Producer.__table__
        await conn.execute(delete(producers_t).where(producers_t.c.id.not_in(used)))
        if changes.added:
            product_ids = await _slug_ids(conn, products_t)
    if "stores" in clean:
        changes = report.tables["stores"]
        rows = {r["slug"]: r for r in clean["stores"]}
        stores_t = Store.__table__
        store_ids = now.ids["stores"]
        await _delete_ids(conn, stores_t, [store_ids[slug] for slug in changes.removed])
        await _update_by_id(
            conn, stores_t,
            [{"row_id": store_ids[s], **{c: rows[s].get(c) for c in STORE_COLUMNS}} for s in changes.changed],
        )
        if changes.added:
            await conn.execute(insert(stores_t), [{c: rows[s].get(c) for c in STORE_COLUMNS} for s in changes.added])
            store_ids = await _slug_ids(conn, stores_t)
        relinked = [*changes.added, *(s for s, cols in changes.changed.items() if "products" in cols)]
        for start in range(0, len(relinked), BATCH):
            chunk = [store_ids[s] for s in relinked[start : start + BATCH]]
            await conn.execute(delete(store_products).where(store_products.c.store_id.in_(chunk)))
        links = [
            {"store_id": store_ids[s], "product_id": product_ids[p]} for s in relinked for p in rows[s].get("products", [])
        ]
        if links:
            await conn.execute(insert(store_products), links)
    if "online" in clean:
        changes = report.tables["online"]
        rows = {r["slug"]: r for r in clean["online"]}
        online_t = OnlineListing.__table__
        online_ids = now.ids["online"]

        def listing(slug: str) -> dict[str, Any]:
            out = {c: rows[slug].get(c) for c in ONLINE_COLUMNS}
            out["product_id"] = product_ids.get(rows[slug].get("product") or "")
            return out

        await _delete_ids(conn, online_t, [online_ids[slug] for slug in changes.removed])
        await _update_by_id(conn, online_t, [{"row_id": online_ids[s], **listing(s)} for s in changes.changed])
        if changes.added:
            await conn.execute(insert(online_t), [listing(s) for s in changes.added])
    if "contacts" in clean:
        changes = report.tables["contacts"]
        rows = {r["slug"]: r for r in clean["contacts"]}
        contacts_t = Contact.__table__
        contact_ids = now.ids["contacts"]
        await _delete_ids(conn, contacts_t, [contact_ids[slug] for slug in changes.removed])
        await _update_by_id(conn, contacts_t, [{"row_id": contact_ids[s], **rows[s]} for s in changes.changed])
        if changes.added:
            await conn.execute(insert(contacts_t), [rows[s] for s in changes.added])
    state_t = CatalogState.__table__
    bumped = await conn.execute(update(state_t).where(state_t.c.id == 1).values(version=state_t.c.version + 1))
    if bumped.rowcount == 0:
        await conn.execute(insert(state_t).values(id=1, version=1))


class CatalogueChanged(Exception):
    """The catalogue changed since the diff was made (another import, upload or rollback); nothing was applied."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"catalogue version {found}, the diff was made against {expected}")
        self.expected = expected
        self.found = found


async def state_version(session: AsyncSession, *, lock: bool = False) -> int:
    """catalog_state.version (0 before the first import); `lock` holds the row until the transaction ends."""
    query = select(CatalogState.version).where(CatalogState.id == 1)
    return (await session.scalar(query.with_for_update() if lock else query)) or 0


async def import_raw(
    db: Database,
    raw: RawTables,
    *,
    dry_run: bool = False,
    file_errors: list[RowError] | None = None,
    fmt: str = FORMAT_OURS,
    actor: str = "",
    action: str = "import",
    source: str = "",
    expect_version: int | None = None,
) -> ImportReport:
    """Validate and apply parsed tables in one transaction of their own (see `import_rows`)."""
    async with db.session() as session:
        return await import_rows(
            session, raw, dry_run=dry_run, file_errors=file_errors, fmt=fmt, actor=actor, action=action,
            source=source, expect_version=expect_version,
        )


async def import_rows(
    session: AsyncSession,
    raw: RawTables,
    *,
    dry_run: bool = False,
    file_errors: list[RowError] | None = None,
    fmt: str = FORMAT_OURS,
    actor: str = "",
    action: str = "import",
    source: str = "",
    expect_version: int | None = None,
) -> ImportReport:
    """Validate and apply parsed tables in the caller's transaction; raises ImportFailed listing every problem
    (the caller must then roll back, as `import_raw` does, though nothing has been written).

    An applied change records a catalogue version (catalog/versions.py) in the same transaction. With
    `expect_version`, CatalogueChanged is raised (and nothing applied) unless catalog_state still has it."""
    base = await state_version(session, lock=not dry_run)
    if expect_version is not None and base != expect_version:
        raise CatalogueChanged(expect_version, base)
    now = await read_catalogue(session)
    current = now.tables
    if fmt == FORMAT_OCOPVIETNAM and "products" in raw:
        raw = raw | {"products": keep_what_the_record_lacks(raw["products"], current["products"])}
    clean, errors = validate(raw, set(current["products"]))
    if fmt == FORMAT_OCOPVIETNAM:  # errors name the national system's fields, as the file does
        errors = [RowError(e.table, e.row, NATIONAL_NAMES.get(e.column, e.column), e.reason) for e in errors]
    errors = [*(file_errors or []), *errors]
    if errors:
        raise ImportFailed(errors)
    report = ImportReport(
        {t: diff(current[t], clean[t]) for t in TABLE_ORDER if t in clean}, applied=not dry_run, base_version=base
    )
    if not dry_run:
        try:
            async with session.begin_nested():  # a refused statement leaves the caller's transaction usable
                await _apply(session, clean, now, report)
                if not report.empty:
                    report.version_id = await versions.record(session, report, actor=actor, action=action, source=source)
        except (DataError, IntegrityError) as exc:
            # The checks above should let nothing through that the database refuses; if one does, it is
            # still the file's problem, reported as such (and rolled back), not "cannot use the database".
            reason = (str(getattr(exc, "orig", exc)).splitlines() or [type(exc).__name__])[0]
            raise ImportFailed([RowError("file", 0, "", f"the database refused the data: {reason}")]) from exc
    return report


async def import_file(
    db: Database,
    path: Path,
    *,
    table: str | None = None,
    dry_run: bool = False,
    fmt: str = FORMAT_OURS,
    actor: str = "",
) -> ImportReport:
    raw, errors = read_file(path, table, fmt)
    if errors and not raw:
        raise ImportFailed(errors)
    return await import_raw(
        db, raw, dry_run=dry_run, file_errors=errors, fmt=fmt, actor=actor, source=path.name[:300]
    )


def demo_catalog_bytes() -> bytes:
    return resources.files("catalog.data").joinpath("demo_catalog.json").read_bytes()


async def seed_demo_catalog(db: Database) -> ImportReport:
    """Load the packaged demo catalogue (public facts; see the README) into the database."""
    errors: list[RowError] = []
    raw = _read_json(demo_catalog_bytes(), errors)
    if errors:
        raise ImportFailed(errors)
    report = await import_raw(db, raw, actor="ocop-bot", action="seed", source="demo_catalog.json")
    log.info("seeded the demo catalogue: %s", "; ".join(report.lines()[:1]))
    return report
