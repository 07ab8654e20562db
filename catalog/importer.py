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

from sqlalchemy import delete, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.models import CatalogState, Contact, OnlineListing, Producer, Product, Store
from catalog.rows import TABLE_ORDER, TABLES, columns_of, guess_table, parse_row, read_tables

if TYPE_CHECKING:  # catalog.db seeds the demo catalogue through this module: only a type here, not a circle
    from catalog.db import Database

log = logging.getLogger(__name__)
FORMATS = (".csv", ".xlsx", ".json")


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


@dataclass
class TableChanges:
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass
class ImportReport:
    tables: dict[str, TableChanges]
    applied: bool

    def lines(self) -> list[str]:
        out = []
        for name, ch in self.tables.items():
            out.append(f"{name}: {len(ch.added)} added, {len(ch.changed)} changed, {len(ch.removed)} removed")
            out += [f"  + {slug}" for slug in ch.added]
            out += [f"  ~ {slug} ({', '.join(cols)})" for slug, cols in ch.changed.items()]
            out += [f"  - {slug}" for slug in ch.removed]
        return out


RawTables = dict[str, list[tuple[int, dict[str, Any]]]]


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


def read_file(path: Path, table: str | None = None) -> tuple[RawTables, list[RowError]]:
    errors: list[RowError] = []
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        return {}, [RowError("file", 0, "", f"unsupported file type {suffix or '(none)'}; use .csv, .xlsx or .json")]
    if table is not None and table not in TABLES:
        return {}, [RowError("file", 0, "", f"unknown table {table!r}")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {}, [RowError("file", 0, "", f"cannot read the file: {exc.strerror}")]
    if not data.strip():
        return {}, [RowError("file", 0, "", "the file is empty")]
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


def diff(current: dict[str, dict[str, Any]], incoming: list[dict[str, Any]]) -> TableChanges:
    changes = TableChanges()
    incoming_slugs = set()
    for row in incoming:
        slug = row["slug"]
        incoming_slugs.add(slug)
        old = current.get(slug)
        if old is None:
            changes.added.append(slug)
            continue
        changed = [k for k, v in row.items() if old.get(k) != v and not (old.get(k) in ("", None) and v in ("", None))]
        if changed:
            changes.changed[slug] = changed
    changes.removed = sorted(set(current) - incoming_slugs)
    return changes


async def _producer_for(session: AsyncSession, row: dict[str, Any], cache: dict[str, Producer]) -> Producer | None:
    name = row.get("producer") or ""
    if not name:
        return None
    producer = cache.get(name)
    if producer is None:
        producer = await session.scalar(select(Producer).where(Producer.name == name))
        if producer is None:
            producer = Producer(name=name)
            session.add(producer)
        cache[name] = producer
    producer.kind = row.get("producer_kind") or producer.kind or "other"
    for attr in ("address", "phone", "email", "website"):
        setattr(producer, attr, row.get(f"producer_{attr}", ""))
    return producer


async def _apply(session: AsyncSession, clean: dict[str, list[dict[str, Any]]]) -> None:
    with session.no_autoflush:  # rows are filled in before they may be flushed
        await _apply_tables(session, clean)


async def _apply_tables(session: AsyncSession, clean: dict[str, list[dict[str, Any]]]) -> None:
    if "products" in clean:
        keep = {r["slug"] for r in clean["products"]}
        await session.execute(delete(Product).where(Product.slug.not_in(keep)))
        existing = {p.slug: p for p in (await session.scalars(select(Product))).unique()}
        producers: dict[str, Producer] = {}
        for row in clean["products"]:
            product = existing.get(row["slug"]) or Product(slug=row["slug"])
            session.add(product)
            product.producer = await _producer_for(session, row, producers)
            for key in ("name_vi", "name_en", "aliases", "uses", "category", "stars", "year", "commune",
                        "district", "province", "description_vi", "description_en", "sources"):
                setattr(product, key, row.get(key))
        await session.flush()
        used = select(Product.producer_id).where(Product.producer_id.is_not(None))
        await session.execute(delete(Producer).where(Producer.id.not_in(used)))
    products = {p.slug: p for p in (await session.scalars(select(Product))).unique()}
    if "stores" in clean:
        keep = {r["slug"] for r in clean["stores"]}
        await session.execute(delete(Store).where(Store.slug.not_in(keep)))
        existing_stores = {s.slug: s for s in await session.scalars(select(Store).options(selectinload(Store.products)))}
        for row in clean["stores"]:
            store = existing_stores.get(row["slug"]) or Store(slug=row["slug"])
            session.add(store)
            for key, value in row.items():
                if key != "products":
                    setattr(store, key, value)
            store.products = [products[s] for s in row.get("products", [])]
    if "online" in clean:
        keep = {r["slug"] for r in clean["online"]}
        await session.execute(delete(OnlineListing).where(OnlineListing.slug.not_in(keep)))
        existing_online = {o.slug: o for o in await session.scalars(select(OnlineListing))}
        for row in clean["online"]:
            listing = existing_online.get(row["slug"]) or OnlineListing(slug=row["slug"])
            session.add(listing)
            for key, value in row.items():
                if key != "product":
                    setattr(listing, key, value)
            listing.product = products.get(row.get("product") or "")
    if "contacts" in clean:
        keep = {r["slug"] for r in clean["contacts"]}
        await session.execute(delete(Contact).where(Contact.slug.not_in(keep)))
        existing_contacts = {c.slug: c for c in await session.scalars(select(Contact))}
        for row in clean["contacts"]:
            contact = existing_contacts.get(row["slug"]) or Contact(slug=row["slug"])
            session.add(contact)
            for key, value in row.items():
                setattr(contact, key, value)
    state = await session.get(CatalogState, 1)
    if state is None:
        session.add(CatalogState(id=1, version=1))
    else:
        state.version += 1


async def import_raw(
    db: Database, raw: RawTables, *, dry_run: bool = False, file_errors: list[RowError] | None = None
) -> ImportReport:
    """Validate and apply parsed tables in one transaction; raises ImportFailed listing every problem."""
    async with db.session() as session:
        current = await read_tables(session)
        clean, errors = validate(raw, set(current["products"]))
        errors = [*(file_errors or []), *errors]
        if errors:
            raise ImportFailed(errors)
        report = ImportReport({t: diff(current[t], clean[t]) for t in TABLE_ORDER if t in clean}, applied=not dry_run)
        if not dry_run:
            try:
                await _apply(session, clean)
            except (DataError, IntegrityError) as exc:
                # The checks above should let nothing through that the database refuses; if one does, it is
                # still the file's problem, reported as such (and rolled back), not "cannot use the database".
                reason = (str(getattr(exc, "orig", exc)).splitlines() or [type(exc).__name__])[0]
                raise ImportFailed([RowError("file", 0, "", f"the database refused the data: {reason}")]) from exc
    return report


async def import_file(db: Database, path: Path, *, table: str | None = None, dry_run: bool = False) -> ImportReport:
    raw, errors = read_file(path, table)
    if errors and not raw:
        raise ImportFailed(errors)
    return await import_raw(db, raw, dry_run=dry_run, file_errors=errors)


def demo_catalog_bytes() -> bytes:
    return resources.files("catalog.data").joinpath("demo_catalog.json").read_bytes()


async def seed_demo_catalog(db: Database) -> ImportReport:
    """Load the packaged demo catalogue (public facts; see the README) into the database."""
    errors: list[RowError] = []
    raw = _read_json(demo_catalog_bytes(), errors)
    if errors:
        raise ImportFailed(errors)
    report = await import_raw(db, raw)
    log.info("seeded the demo catalogue: %s", "; ".join(report.lines()[:1]))
    return report
