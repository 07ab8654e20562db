"""The `ocop-bot` command: run the bot, chat in the terminal, search, manage the catalogue and leads."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

# Only the standard library at module level: `ocop-bot --help` must not pay for SQLAlchemy, Alembic, pydantic
# or Telegram (≈0.5–2 s), nor asyncio. Each command imports what it uses when it runs.
if TYPE_CHECKING:
    from bot.config import Settings
    from catalog.db import Database

Command = Callable[[argparse.Namespace, "Settings"], Awaitable[int]]
# The catalogue's tables (catalog.rows.TABLE_ORDER, which imports SQLAlchemy); tests/unit/test_imports.py
# checks that the two agree.
TABLES = ("products", "stores", "online", "contacts")


async def open_database(settings: Settings, *, seed: bool = True) -> Database:
    from bot import database

    return await database.open_database(settings, seed=seed)


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.db import Database

    db = Database(settings.database_url)
    try:
        applied = await db.upgrade()
        print(f"database at revision {await db.current_revision()}" + ("" if applied else " (already up to date)"))
    finally:
        await db.dispose()
    return 0


def _who() -> str:
    """Who ran a catalogue command, as its version records it."""
    import getpass

    try:
        return f"{getpass.getuser()} (ocop-bot)"
    except (KeyError, OSError):
        return "ocop-bot"


async def cmd_catalog_import(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.importer import ImportFailed, import_file

    db = await open_database(settings)
    try:
        report = await import_file(
            db, Path(args.file), table=args.table, dry_run=args.dry_run, fmt=args.format, actor=_who()
        )
        if not args.dry_run:  # the search index built once here, so no process has to build it again
            from catalog.snapshot import load_search_index

            async with db.session() as session:
                await load_search_index(session)
    except ImportFailed as failed:
        print(f"Import refused, nothing was changed: {len(failed.errors)} problem(s) in {args.file}", file=sys.stderr)
        for error in failed.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print("Dry run, nothing written. Would apply:" if args.dry_run else "Imported:")
    for line in report.lines(details=args.dry_run):
        print(f"  {line}")
    if report.version_id is not None:
        print(f"Recorded as catalogue version {report.version_id} (undo with: ocop-bot catalog rollback N)")
    return 0


async def cmd_catalog_history(args: argparse.Namespace, settings: Settings) -> int:
    from catalog import versions

    db = await open_database(settings)
    try:
        async with db.session() as session:
            lines = await versions.history(session, limit=args.limit)
    finally:
        await db.dispose()
    if not lines:
        print("No catalogue versions recorded yet.")
        return 0
    print(f"{'version':>7}  {'when (UTC)':<16}  {'action':<8}  {'by':<20}  source / rows")
    for v in lines:
        changed = sum(c.get("added", 0) + c.get("changed", 0) + c.get("removed", 0) for c in v.counts.values())
        print(f"{v.id:>7}  {v.created_at:%Y-%m-%d %H:%M}  {v.action:<8}  {v.actor[:20]:<20}  {v.source}: "
              f"{changed} row(s) changed; {versions.total_rows(v.counts)}")
    return 0


async def cmd_catalog_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from catalog import versions
    from catalog.importer import ImportFailed
    from catalog.rollback import rollback

    db = await open_database(settings)
    try:
        report = await rollback(db, args.version, actor=_who())
        if report.version_id is not None:
            from catalog.snapshot import load_search_index

            async with db.session() as session:
                await load_search_index(session)
    except versions.NoSuchVersion:
        print(f"There is no catalogue version {args.version}; see: ocop-bot catalog history", file=sys.stderr)
        return 1
    except ImportFailed as failed:
        print(f"Rollback refused, nothing was changed: version {args.version} no longer passes the checks:",
              file=sys.stderr)
        for error in failed.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    if report.version_id is None:
        print(f"The catalogue is already as it was at version {args.version}; nothing changed.")
        return 0
    print(f"Restored version {args.version} as new version {report.version_id}:")
    for line in report.lines():
        print(f"  {line}")
    return 0


async def cmd_catalog_export(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.exporter import export_catalog

    db = await open_database(settings)
    try:
        counts = await export_catalog(db, Path(args.file), table=args.table or "products")
    except (ValueError, OSError) as exc:
        print(f"Export failed: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(f"Wrote {args.file}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


async def cmd_catalog_stats(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.repository import catalog_stats

    db = await open_database(settings)
    try:
        async with db.session() as session:
            stats = await catalog_stats(session)
    finally:
        await db.dispose()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=1))
        return 0
    print(f"OCOP catalogue: {stats['products']} products, {stats['stores']} stores and sales points, "
          f"{stats['online']} online platforms and listings, {stats['contacts']} contacts")
    sections = (("By product group", "by_category"), ("By stars", "by_stars"), ("By former district", "by_district"))
    for title, key in sections:
        print(f"\n{title}:")
        for name, count in stats[key].items():
            label = {0: "unknown", "": "unknown"}.get(name, f"{name}★" if key == "by_stars" else name)
            print(f"  {label:<24} {count:>4}")
    return 0


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.snapshot import load_search_index

    if args.batch:
        try:
            import asyncio

            queries = (await asyncio.to_thread(Path(args.batch).read_text, encoding="utf-8-sig")).splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"Cannot read {args.batch}: {exc}", file=sys.stderr)
            return 1
    elif args.query is not None:
        queries = [args.query]
    else:
        print("Give a QUERY or --batch FILE", file=sys.stderr)
        return 2
    db = await open_database(settings)
    try:
        async with db.session() as session:
            index = await load_search_index(session)  # stored for this catalogue version, or built and stored
    finally:
        await db.dispose()
    for query in queries:
        if args.batch and not query.strip():
            continue
        answer = index.search(query, limit=args.limit, gated=not args.ungated)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
            continue
        print(f"» {query}")
        if answer.filters:
            print("  filters: " + ", ".join(f"{k}={v}" for k, v in answer.filters.items()))
        for hit in answer.results:
            d = hit.doc
            stars = f"{d.stars}★" if d.stars else "★ ?"
            print(f"  {hit.score:5.1f}  {d.name_vi} — {d.name_en} [{d.category}, {stars}, {d.district or '?'}]")
        if not answer.results:
            print("  not in the catalogue")
            for hit in answer.suggestions:
                print(f"  did you mean: {hit.doc.name_vi} ({hit.doc.name_en})")
    return 0


# The commands below live in modules that load Telegram, Zalo or the chat loop: imported when the command
# runs, so that `ocop-bot search` or `ocop-bot leads list` starts without them. None of them imports this module.


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    return await app.cmd_run(args, settings)


async def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels import console

    return await console.cmd_chat(args, settings)


async def cmd_leads_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot import leads_cli

    return await leads_cli.cmd_leads_list(args, settings)


async def cmd_leads_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot import leads_cli

    return await leads_cli.cmd_leads_export(args, settings)


async def cmd_insights(args: argparse.Namespace, settings: Settings) -> int:
    from bot import insights_cli

    return await insights_cli.cmd_insights(args, settings)


async def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot import doctor

    return await doctor.cmd_doctor(args, settings)


async def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot import staff_cli

    return await staff_cli.cmd_staff_add(args, settings)


async def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot import staff_cli

    return await staff_cli.cmd_staff_list(args, settings)


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import server

    return await server.cmd_web(args, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocop-bot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the bot on Telegram and/or Zalo")
    p.add_argument("--channel", choices=("telegram", "zalo"), help="run only this channel")
    p.add_argument("--webhook-url", help="Telegram webhook mode: the public HTTPS URL Telegram posts to")
    p.add_argument("--listen", help="address the web server (every webhook, /healthz) listens on "
                   "(default OCOP_WEB_HOST, else OCOP_ZALO_WEBHOOK_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port the web server listens on "
                   "(default OCOP_WEB_PORT, else OCOP_ZALO_WEBHOOK_PORT, 8080)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("chat", help="chat with the bot in the terminal")
    p.add_argument("--lang", choices=("vi", "en"), help="language to start in")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("search", help="search the catalogue")
    p.add_argument("query", nargs="?", help="what a buyer would type")
    p.add_argument("--batch", metavar="FILE", help="one query per line")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true", help="one JSON object per query")
    p.add_argument("--ungated", action="store_true",
                   help="the rules' answers as they stand, without the learned answer-or-not gate")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("insights", help="demand insight: what buyers search for, cannot find, where they drop off")
    p.add_argument("--since", default="30d", help="7d, 30d (any number of days) or a date YYYY-MM-DD; default 30d")
    p.add_argument("--json", action="store_true", help="the whole report as JSON")
    p.add_argument("--html", metavar="FILE", help="write the report with its charts as an HTML page")
    p.add_argument("--export", metavar="FILE", help="write the aggregated tables to FILE.xlsx or FILE-<table>.csv")
    p.add_argument("--lang", choices=("vi", "en"), help="language of the HTML page (default OCOP_STAFF_LANGUAGE)")
    p.set_defaults(func=cmd_insights)

    p = sub.add_parser("doctor", help="parked updates, failed messages, the staff chat: what needs a person")
    p.set_defaults(func=cmd_doctor)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True, metavar="ACTION")
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    cat = sub.add_parser("catalog", help="import, export, count the catalogue; its history and rollback")
    cat_sub = cat.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cat_sub.add_parser("import", help="replace the catalogue from a CSV, XLSX or JSON file")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    p.add_argument("--table", choices=TABLES, help="which table a CSV file holds (guessed from its header)")
    p.add_argument("--format", choices=("ocop", "ocopvietnam"), default="ocop",
                   help="ocop: this catalogue's layout (default); ocopvietnam: the national OCOP system's JSON")
    p.set_defaults(func=cmd_catalog_import)
    p = cat_sub.add_parser("history", help="the catalogue's recorded versions, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_catalog_history)
    p = cat_sub.add_parser("rollback", help="restore the catalogue as it was at VERSION (recorded as a new version)")
    p.add_argument("version", type=int, metavar="VERSION")
    p.set_defaults(func=cmd_catalog_rollback)
    p = cat_sub.add_parser("export", help="write the catalogue to a CSV, XLSX or JSON file")
    p.add_argument("file")
    p.add_argument("--table", choices=TABLES, help="CSV only: which table (default products)")
    p.set_defaults(func=cmd_catalog_export)
    p = cat_sub.add_parser("stats", help="counts by product group, stars and former district")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_catalog_stats)

    leads = sub.add_parser("leads", help="wholesale enquiries")
    leads_sub = leads.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = leads_sub.add_parser("list", help="list leads")
    p.add_argument("--status", help="only leads with this status")
    p.set_defaults(func=cmd_leads_list)
    p = leads_sub.add_parser("export", help="write leads to a CSV or XLSX file (one row per lead)")
    p.add_argument("file")
    p.set_defaults(func=cmd_leads_export)

    staff = sub.add_parser("staff", help="the staff console's accounts")
    staff_sub = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = staff_sub.add_parser("add", help="add an account; the password is read from standard input")
    p.add_argument("username")
    p.add_argument("--admin", action="store_true", help="may manage accounts, canned replies and the desk")
    p.add_argument("--telegram-id", type=int, help="the person's Telegram user id: links their staff-chat actions")
    p.add_argument("--language", choices=("vi", "en"), default="vi", help="the console's language for them")
    p.set_defaults(func=cmd_staff_add)
    staff_sub.add_parser("list", help="list accounts").set_defaults(func=cmd_staff_list)

    p = sub.add_parser("web", help="serve the staff console (and /healthz)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_web)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and Telegram URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import asyncio

    from bot.config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"ocop-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(args.func(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ocop-bot leads list | head -1`): not a database problem. Point stdout at
        # /dev/null so that flushing it at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if not _database_error(exc):
            raise
        # e.g. the database server is down, the database does not exist, the data directory is not writable
        reason = getattr(exc, "orig", None) or exc
        line = (str(reason).splitlines() or [type(reason).__name__])[0]
        hint = " (create it, e.g. `createdb NAME`, or fix OCOP_DATABASE_URL)" if "does not exist" in line else ""
        print(f"ocop-bot: cannot use the database: {line}{hint}", file=sys.stderr)
        return 1


def _database_error(exc: BaseException) -> bool:
    """An error from the database or its driver (asyncpg's own errors are not SQLAlchemy's when connecting)."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, OSError | SQLAlchemyError):
        return True
    return type(exc).__module__.split(".")[0] in ("asyncpg", "psycopg", "sqlite3")


if __name__ == "__main__":
    sys.exit(main())

