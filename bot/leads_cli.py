"""`ocop-bot leads list [--status S]` and `ocop-bot leads export FILE[.csv|.xlsx]`: the staff desk from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.database import open_database
from catalog import desk
from catalog import leads as lead_book
from catalog.models import LEAD_STATUSES
from locales import translator

LIST_LIMIT = 200


async def cmd_leads_list(args: argparse.Namespace, settings: Settings) -> int:
    """Newest leads first, one line each, in the staff language."""
    status = (getattr(args, "status", None) or "").strip().lower() or None
    if status is not None and status not in LEAD_STATUSES:
        print(f"Unknown status {status!r}; use one of: {', '.join(LEAD_STATUSES)}", file=sys.stderr)
        return 2
    t = translator(settings.staff_language)
    db = await open_database(settings)
    try:
        async with db.session() as session:
            found = await lead_book.list_leads(session, status, LIST_LIMIT)
            total = await lead_book.count_leads(session, status)
    finally:
        await db.dispose()
    if not found:
        print("No leads" + (f" with status {status}" if status else "") + ".")
        return 0
    for lead in found:
        row = lead_book.lead_row(lead, t)
        who = row["buyer_name"] or ("—" if lead.anonymised_at is None else "(erased)")
        if row["organisation"]:
            who += f" ({row['organisation']})"
        print(f"{row['ref']:<16} {row['created_at']:<16} {row['status']:<9} {row['products'][:36]:<36} "
              f"{row['quantity'][:14]:<14} {row['phone'][:18]:<18} {who[:40]}")
    print(f"{len(found)} of {total} lead(s)" + (f" with status {status}" if status else "") + ", newest first.")
    return 0


async def cmd_leads_export(args: argparse.Namespace, settings: Settings) -> int:
    """Every lead, one row each with the desk's times, to a CSV file (UTF-8 with BOM, formula-looking cells
    neutralised) or, for a name ending in .xlsx, a spreadsheet whose cells are all text."""
    path = Path(args.file)
    db = await open_database(settings)
    try:
        async with db.session() as session:
            rows = await desk.export_rows(session, translator(settings.staff_language))
    finally:
        await db.dispose()
    data = desk.rows_xlsx(rows) if path.suffix.lower() == ".xlsx" else desk.rows_csv(rows)
    found = rows
    try:
        await asyncio.to_thread(path.write_bytes, data)
    except OSError as exc:
        print(f"Cannot write {path}: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote {path}: {len(found)} lead(s)")
    return 0
