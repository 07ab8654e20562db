"""`ocop-bot insights`: the demand-insight report on the terminal, as JSON, as an HTML page, or exported.

    ocop-bot insights [--since 7d|30d|YYYY-MM-DD] [--json] [--html FILE] [--export FILE.xlsx|FILE.csv] [--lang vi|en]

The export holds the aggregated tables only (never an event row): one sheet per table in XLSX, or one CSV
file per table named FILE-<table>.csv; text cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.database import open_database
from bot.insights_html import render_html
from catalog.db import Database
from catalog.insights import Period, build_report, parse_since
from catalog.models import utcnow
from catalog.rows import neutralise_formula
from catalog.snapshot import load_catalog
from locales import translator


async def load_report(db: Database, since: str | None) -> dict[str, Any]:
    """The report from `since` (7d, 30d, a date) until now; the events still buffered are not in it."""
    period = Period(parse_since(since), utcnow())
    async with db.session() as session:
        catalog = await load_catalog(session)
        return await build_report(session, catalog, period)


def export_tables(report: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The report's aggregated tables: name → (header, rows)."""
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {}
    rows: list[list[Any]] = []
    for section, key in (("top_searches", "query"), ("top_products", "product"), ("link_taps", "site")):
        data = report[section]
        scopes = [("all", "", data["overall"])]
        scopes += [("language", v, items) for v, items in data["by_language"].items()]
        scopes += [("channel", v, items) for v, items in data["by_channel"].items()]
        rows = [
            [scope, value, rank, item["key"], item.get("name_vi", ""), item["count"], item["chats"]]
            for scope, value, items in scopes
            for rank, item in enumerate(items, 1)
        ]
        tables[section] = (["scope", "value", "rank", key, "name_vi", "count", "chats"], rows)
    rows = []
    for kind, items in report["unmet"].items():
        for item in items:
            near = item.get("near_product") or {}
            rows.append(
                [
                    kind,
                    item["label"],
                    " | ".join(item["variants"]),
                    item["count"],
                    item["chats"],
                    item["no_match"],
                    item["abandoned"],
                    near.get("slug", ""),
                    near.get("name_vi", ""),
                ]
            )
    tables["unmet_demand"] = (
        [
            "kind",
            "label",
            "variants",
            "count",
            "chats",
            "no_match",
            "abandoned",
            "near_product",
            "near_product_name",
        ],
        rows,
    )
    tables["funnel"] = (
        ["product_group", "step", "value", "unit", "events", "conversion"],
        [
            [
                group,
                s["step"],
                s["value"],
                s["unit"],
                s["events"],
                "" if s["conversion"] is None else s["conversion"],
            ]
            for group, f in report["funnel"].items()
            for s in f["steps"]
        ]
        # Beside the funnel: leads closed without a sale.
        + [[group, "lost", f.get("lost", 0), "leads", f.get("lost", 0), ""] for group, f in report["funnel"].items()],
    )
    tables["form_abandoned"] = (
        ["step", "enquiries"],
        [[step, n] for step, n in report["abandoned_form_steps"].items()],
    )
    tables["by_district"] = (
        ["district", "views", "searches", "chats"],
        [[d["district"], d["views"], d["searches"], d["chats"]] for d in report["by_district"]],
    )
    tables["by_language"] = (
        ["language", "searches", "no_match", "views", "enquiries_started", "confirmed", "chats"],
        [
            [
                r["language"],
                r["searches"],
                r["no_match"],
                r["views"],
                r["enquiries_started"],
                r["confirmed"],
                r["chats"],
            ]
            for r in report["by_language"]
        ],
    )
    tables["weekly"] = (
        ["week", "searches", "no_match", "views", "confirmed"],
        [[w["week"], w["searches"], w["no_match"], w["views"], w["confirmed"]] for w in report["weekly"]],
    )
    return tables


def _safe(value: Any) -> Any:
    return neutralise_formula(value) if isinstance(value, str) else value


def write_export(report: dict[str, Any], path: Path) -> list[Path]:
    """Write the tables to `path` (.xlsx) or next to it, one CSV per table; returns the files written."""
    tables = export_tables(report)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for name, (head, rows) in tables.items():
            sheet = book.create_sheet(name[:31])
            sheet.append(head)
            for row in rows:
                sheet.append([_safe(v) for v in row])
                for cell in sheet[sheet.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # a text cell, never a formula
        book.save(path)
        return [path]
    if suffix != ".csv":
        raise ValueError(f"the export is written as .xlsx or .csv, not {path.name!r}")
    written = []
    for name, (head, rows) in tables.items():
        target = path.with_name(f"{path.stem}-{name}.csv")
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(head)
        writer.writerows([_safe(v) for v in row] for row in rows)
        target.write_bytes(buffer.getvalue().encode("utf-8-sig"))  # a BOM: Excel then reads UTF-8
        written.append(target)
    return written


def text_summary(report: dict[str, Any]) -> str:
    """A short plain-text reading of the report for the terminal."""
    totals = report["totals"]
    out = [f"Demand insight {report['period']['since'][:16]} → {report['period']['until'][:16]} (UTC)"]
    if report["synthetic"]:
        out.append("  ** includes SYNTHETIC traffic (channels synthetic-…) **")
    out.append(
        f"  {totals['chats']} chats, {totals['searches']} searches ({totals['no_match']} found nothing, "
        f"{totals['abandoned_searches']} nothing opened), {totals['card_views']} cards, "
        f"{totals['where_views']} where-to-buy, {totals['contact_views']} contacts, "
        f"{totals['enquiries_started']} enquiries started, {totals['enquiries_confirmed']} confirmed"
    )
    out.append("\nTop searches:")
    out += [f"  {i['count']:>5}  {i['key']}  ({i['chats']} chats)" for i in report["top_searches"]["overall"]]
    for facet in ("by_language", "by_channel"):
        for value, items in report["top_searches"][facet].items():
            out.append(f"  {value}: " + ", ".join(f"{i['key']} ({i['count']})" for i in items[:5]))
    if report["link_taps"]["overall"]:
        out.append("\nLinks tapped (online platforms, store maps):")
        out += [f"  {i['count']:>5}  {i['key']}  ({i['chats']} chats)" for i in report["link_taps"]["overall"]]
    out.append("\nTop products viewed:")
    out += [
        f"  {i['count']:>5}  {i['name_vi']}  ({i['chats']} chats)" for i in report["top_products"]["overall"]
    ]
    for facet in ("by_language", "by_channel"):
        for value, items in report["top_products"][facet].items():
            out.append(f"  {value}: " + ", ".join(f"{i['name_vi']} ({i['count']})" for i in items[:5]))
    for kind, title in (
        ("not_in_catalogue", "Unmet demand, not in the catalogue"),
        ("in_catalogue_not_found", "Unmet demand, in the catalogue but not found (synonyms to add)"),
    ):
        out.append(f"\n{title}:")
        for item in report["unmet"][kind][:15]:
            near = f"  → {item['near_product']['name_vi']}" if item.get("near_product") else ""
            out.append(
                f"  {item['count']:>5}  {' / '.join(item['variants'][:4])}  ({item['chats']} chats, "
                f"{item['no_match']} found nothing, {item['abandoned']} nothing opened){near}"
            )
    out.append("\nFunnel (chats; leads for claimed and won, and lost beside them):")
    for group, funnel in report["funnel"].items():
        steps = "  →  ".join(
            f"{s['step']} {s['value']}"
            + (f" ({s['conversion'] * 100:.0f}%)" if s["conversion"] is not None else "")
            for s in funnel["steps"]
        )
        out.append(f"  {group:<11} {steps}  ·  lost {funnel.get('lost', 0)}")
    if report["abandoned_form_steps"]:
        out.append(
            "  enquiries left unfinished, by the question they stopped at: "
            + ", ".join(f"{step} {n}" for step, n in report["abandoned_form_steps"].items())
        )
    out.append("\nInterest by district of origin (views + searches):")
    out += [f"  {d['views'] + d['searches']:>5}  {d['district']}" for d in report["by_district"]]
    out.append("\nBy buyer language:")
    out += [
        f"  {r['language']}: {r['searches']} searches, {r['views']} views, {r['confirmed']} confirmed, "
        f"{r['chats']} chats"
        for r in report["by_language"]
    ]
    out.append("\nWeek by week (searches / found nothing / views / confirmed):")
    out += [
        f"  {w['week']}  {w['searches']:>5} {w['no_match']:>5} {w['views']:>5} {w['confirmed']:>5}"
        for w in report["weekly"]
    ]
    return "\n".join(out)


async def cmd_insights(args: argparse.Namespace, settings: Settings) -> int:
    try:
        parse_since(args.since)
    except ValueError as exc:
        print(f"ocop-bot insights: {exc}", file=sys.stderr)
        return 2
    db = await open_database(settings)
    try:
        report = await load_report(db, args.since)
    finally:
        await db.dispose()
    t = translator(args.lang or settings.staff_language)
    try:
        if args.html:
            await asyncio.to_thread(Path(args.html).write_text, render_html(report, t), encoding="utf-8")
            print(f"Wrote {args.html}", file=sys.stderr)
        if args.export:
            written = await asyncio.to_thread(write_export, report, Path(args.export))
            print("Wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"ocop-bot insights: cannot write: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    elif not args.html and not args.export:
        print(text_summary(report))
    return 0
