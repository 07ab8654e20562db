"""Catalogue upkeep in the staff Telegram chat: an admin sends a CSV, XLSX or JSON file, the bot answers with
the dry-run diff and Apply / Cancel buttons; Apply changes the catalogue in one transaction and records a
catalogue version, with an Undo button. The diff and the checks are catalog/catalog_diff.py's, the same the
staff console uses.

Only a staff member (OCOP_STAFF_USER_IDS, in the staff chat or their private chat with the bot) whose Telegram
id is linked to an administrator's staff account (`ocop-bot staff add NAME --admin --telegram-id N`) may
upload, apply or undo; the buttons check that again on every tap.
"""

from __future__ import annotations

import logging
from pathlib import Path

from catalog import catalog_diff, versions
from catalog.catalog_diff import UploadRefused
from catalog.importer import ImportFailed, ImportReport, RowError
from catalog.models import StaffAccount
from catalog.rollback import rollback_in
from catalog.staff_accounts import account_for_telegram
from handlers import staff
from handlers.context import Context
from handlers.messages import Button, Reply, h
from handlers.payloads import CatalogUploadAction
from locales import N_, Translator

log = logging.getLogger(__name__)

MAX_TEXT = 3500  # characters of diff in one message (Telegram allows 4,096 after entities are parsed)
MAX_ERRORS = 15
TABLE_LABELS = {"products": N_("Products"), "stores": N_("Stores and sales points"),
                "online": N_("Online listings"), "contacts": N_("Contacts")}
REFUSALS = {
    "unknown": N_("That upload is unknown. Send the file again."),
    "done": N_("That upload was already applied or cancelled."),
    "hash": N_("The file does not match the one that was checked. Send it again."),
    "stale": N_("The catalogue changed since this diff was made, so it was not applied. Send the file again "
                "to see a fresh diff."),
    "expired": N_("This diff is more than a day old, so it was not applied. Send the file again."),
    "invalid": N_("The file no longer passes the checks, so nothing was changed. Send it again to see why."),
}


async def catalogue_admin(ctx: Context) -> StaffAccount | None:
    """The admin account behind this Telegram user, if they are staff here and their account is an admin's."""
    if not staff.is_staff(ctx):
        return None
    account = await account_for_telegram(ctx.session, ctx.incoming.user_id)
    return account if account is not None and account.is_admin else None


def actor_of(ctx: Context, account: StaffAccount) -> str:
    return f"{account.username} (Telegram {ctx.incoming.user_id})"


async def on_document(ctx: Context) -> list[Reply]:
    """A file sent to the bot: from an admin in the staff chat, a catalogue upload; from anyone else, a polite
    word in a private chat and silence in a group."""
    document = ctx.incoming.document
    assert document is not None
    if not staff.is_staff(ctx):
        if ctx.incoming.chat_id != ctx.incoming.user_id:
            return []  # a file in some group the bot is in is none of its business
        return [Reply(h(ctx.t._("I can read text messages, shared locations and contacts. "
                                "Type the name of a product, or /help.")))]
    t = staff.staff_translator(ctx)
    account = await catalogue_admin(ctx)
    if account is None:
        return [Reply(h(t._("Only an administrator can change the catalogue. An administrator's staff account "
                            "must be linked to your Telegram id (ocop-bot staff add NAME --admin --telegram-id N).")))]
    name = Path(document.file_name or "").name[:200]
    if Path(name).suffix.lower() not in catalog_diff.UPLOAD_SUFFIXES:
        return [Reply(h(t._("Send the catalogue as a .csv, .xlsx or .json file (the layout of "
                            "docs/catalog-format.md, or the national OCOP system's JSON).")))]
    limit_mb = catalog_diff.MAX_UPLOAD_BYTES // (1024 * 1024)
    if document.size is not None and document.size > catalog_diff.MAX_UPLOAD_BYTES:
        return [Reply(h(t._("That file is too large: the limit is {mb} MB.", mb=limit_mb)))]
    fetch = ctx.services.files.get(ctx.incoming.channel)
    if fetch is None:
        return [Reply(h(t._("Files cannot be read on this channel.")))]
    try:
        data = await fetch(document.file_id)
    except Exception:  # the channel's own errors (network, an expired file id): no traceback to the chat
        log.warning("could not download the catalogue file %r", name, exc_info=True)
        return [Reply(h(t._("Sorry, the file could not be downloaded. Please send it again.")))]
    if len(data) > catalog_diff.MAX_UPLOAD_BYTES:
        return [Reply(h(t._("That file is too large: the limit is {mb} MB.", mb=limit_mb)))]
    result = await catalog_diff.keep_upload(ctx.session, data, name, actor=actor_of(ctx, account), channel="telegram")
    if result.errors:
        return [Reply(errors_text(t, name, result.errors))]
    assert result.report is not None
    if result.report.empty:
        return [Reply(h(t._("{file} matches the catalogue: nothing to change.", file=name)))]
    assert result.upload_id is not None
    ref = f"{result.upload_id}.{result.sha256[:16]}"
    buttons = [[Button(t._("✅ Apply"), CatalogUploadAction("apply", ref).pack()),
                Button(t._("✖️ Cancel"), CatalogUploadAction("cancel", str(result.upload_id)).pack())]]
    return [Reply(diff_text(t, name, result.report), buttons)]


def errors_text(t: Translator, name: str, errors: list[RowError]) -> str:
    lines = [h(t._("Nothing was changed: {count} problem(s) in {file}. Fix them and send the file again.",
                   count=len(errors), file=name))]
    for error in errors[:MAX_ERRORS]:
        where = t._("{table} row {row}", table=t._(TABLE_LABELS.get(error.table, error.table)), row=error.row) \
            if error.row else t._(TABLE_LABELS.get(error.table, error.table))
        column = f" · <code>{h(error.column)}</code>" if error.column else ""
        lines.append(f"• {h(where)}{column}: {h(error.reason)}")
    if len(errors) > MAX_ERRORS:
        lines.append(h(t._("… and {count} more.", count=len(errors) - MAX_ERRORS)))
    return "\n".join(lines)


def diff_lines(t: Translator, report: ImportReport) -> list[str]:
    """The diff as HTML lines: per table its counts, then each added, changed (old → new) and removed row."""
    lines: list[str] = []
    for table, changes in report.tables.items():
        if changes.empty:
            continue
        lines.append("")
        lines.append("<b>" + h(t._("{table}: {added} added, {changed} changed, {removed} removed",
                                     table=t._(TABLE_LABELS.get(table, table)), added=len(changes.added),
                                     changed=len(changes.changed), removed=len(changes.removed))) + "</b>")
        lines += [f"➕ {h(changes.labels.get(slug, slug))} (<code>{h(slug)}</code>)" for slug in changes.added]
        for slug, fields in changes.details.items():
            lines.append(f"✏️ {h(changes.labels.get(slug, slug))} (<code>{h(slug)}</code>)")
            lines += [f"    {h(column)}: {h(catalog_diff.shown(old))} → {h(catalog_diff.shown(new))}"
                      for column, old, new in fields]
        lines += [f"➖ {h(changes.labels.get(slug, slug))} (<code>{h(slug)}</code>)" for slug in changes.removed]
    return lines


def diff_text(t: Translator, name: str, report: ImportReport) -> str:
    """The dry-run diff for the chat, cut politely before Telegram's message limit."""
    added, changed, removed = catalog_diff.change_count(report)
    head = [
        "📄 " + h(t._("Dry run of {file}: nothing is changed until you press Apply.", file=name)),
        h(t._("{added} added, {changed} changed, {removed} removed.", added=added, changed=changed, removed=removed)),
    ]
    body = diff_lines(t, report)
    out, size = list(head), sum(len(x) + 1 for x in head)
    for index, line in enumerate(body):
        if size + len(line) + 1 > MAX_TEXT:
            rest = sum(1 for x in body[index:] if x and not x.startswith(" "))
            out.append(h(t._("… {count} more lines not shown; the staff console shows the whole diff.", count=rest)))
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


async def on_button(ctx: Context, data: CatalogUploadAction) -> list[Reply]:
    """`cu:apply:<upload>.<sha256 prefix>`, `cu:cancel:<upload>`, `cu:undo:<version>.<applied version>`."""
    account = await catalogue_admin(ctx)
    if account is None:
        return [Reply(notice=ctx.t._("Sorry, only an administrator can change the catalogue."))]
    t = staff.staff_translator(ctx)
    head, _, tail = data.arg.partition(".")
    if not head.isdecimal():
        return [Reply(notice=t._(REFUSALS["unknown"]))]
    if data.action == "cancel":
        cancelled = await catalog_diff.cancel_upload(ctx.session, int(head))
        text = t._("Cancelled: the catalogue was not changed.") if cancelled else t._(REFUSALS["done"])
        return [Reply(h(text), edit=True, notice=text)]
    if data.action == "apply":
        try:
            report = await catalog_diff.apply_upload(ctx.session, int(head), tail, actor=actor_of(ctx, account))
        except UploadRefused as refused:
            text = t._(REFUSALS.get(refused.reason, REFUSALS["unknown"]))
            return [Reply("⚠️ " + h(text), notice=text)]
        return [await applied_reply(ctx, t, report)]
    if data.action == "undo" and tail.isdecimal():
        return await _undo(ctx, t, account, int(head), int(tail))
    return [Reply(notice=t._(REFUSALS["unknown"]))]


async def applied_reply(ctx: Context, t: Translator, report: ImportReport) -> Reply:
    added, changed, removed = catalog_diff.change_count(report)
    if report.version_id is None:
        return Reply(h(t._("Nothing to change: the catalogue already matches the file.")), edit=True)
    text = "✅ " + h(t._("Applied: {added} added, {changed} changed, {removed} removed. This is catalogue "
                         "version {version}.", added=added, changed=changed, removed=removed,
                         version=report.version_id))
    previous = await versions.previous_id(ctx.session, report.version_id)
    buttons = []
    if previous is not None:
        undo = CatalogUploadAction("undo", f"{previous}.{report.version_id}").pack()
        buttons = [[Button(t._("↩️ Undo (restore version {version})", version=previous), undo)]]
    return Reply(text, buttons, edit=True, notice=t._("Applied."))


async def _undo(ctx: Context, t: Translator, account: StaffAccount, target: int, applied: int) -> list[Reply]:
    """Restore the version before an applied upload, unless the catalogue changed again since."""
    if await versions.latest_id(ctx.session) != applied:
        text = t._("The catalogue changed again after that upload; use the console's history to restore a version.")
        return [Reply("⚠️ " + h(text), notice=text)]
    try:
        report = await rollback_in(ctx.session, target, actor=actor_of(ctx, account))
    except (versions.NoSuchVersion, ImportFailed):
        text = t._("Version {version} cannot be restored.", version=target)
        return [Reply("⚠️ " + h(text), notice=text)]
    text = t._("Restored version {version} as catalogue version {new}.", version=target, new=report.version_id)
    return [Reply("↩️ " + h(text), edit=True, notice=text)]
