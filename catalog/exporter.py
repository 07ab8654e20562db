"""Catalogue export in the import layout (CSV, XLSX, JSON), with spreadsheet formulas neutralised."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from catalog.db import Database
from catalog.rows import LIST_SEPARATOR, TABLE_ORDER, TABLES, columns_of, neutralise_formula, read_tables


def _cell(value: Any, is_list: bool, *, dates: bool = False) -> Any:
    """A value as a file cell; a date stays a date for a spreadsheet (`dates`), else ISO `YYYY-MM-DD`."""
    if isinstance(value, dt.date):
        return value if dates else value.isoformat()
    if is_list:
        return neutralise_formula(LIST_SEPARATOR.join(str(v) for v in value or []))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return neutralise_formula(value)
    return value


def _flat_rows(table: str, rows: list[dict[str, Any]], *, dates: bool = False) -> list[list[Any]]:
    return [[_cell(row[c.name], c.is_list, dates=dates) for c in TABLES[table]] for row in rows]


def write_csv(rows: list[dict[str, Any]], table: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns_of(table))
    writer.writerows(_flat_rows(table, rows))
    # A BOM so Excel opens Vietnamese text as UTF-8; the importer accepts either.
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(tables: dict[str, list[dict[str, Any]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for table in TABLE_ORDER:
        sheet = book.create_sheet(table)
        sheet.append(columns_of(table))
        for cells in _flat_rows(table, tables[table], dates=True):  # openpyxl formats a date as yyyy-mm-dd
            sheet.append(cells)
        for cell in sheet[1]:
            cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_json(tables: dict[str, list[dict[str, Any]]]) -> bytes:
    # JSON is not opened by spreadsheets, so values are written exactly as stored.
    def iso_date(value: Any) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    return (json.dumps(tables, ensure_ascii=False, indent=1, default=iso_date) + "\n").encode("utf-8")


async def export_catalog(db: Database, path: Path, *, table: str = "products") -> dict[str, int]:
    """Write the catalogue to `path`; CSV holds one table (products unless told), the others all four."""
    async with db.session() as session:
        current = await read_tables(session)
    tables = {t: list(current[t].values()) for t in TABLE_ORDER}
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = write_csv(tables[table], table)
        counts = {table: len(tables[table])}
    elif suffix == ".xlsx":
        data, counts = write_xlsx(tables), {t: len(r) for t, r in tables.items()}
    elif suffix == ".json":
        data, counts = write_json(tables), {t: len(r) for t, r in tables.items()}
    else:
        raise ValueError(f"unsupported file type {suffix or '(none)'}; use .csv, .xlsx or .json")
    await asyncio.to_thread(path.write_bytes, data)
    return counts
