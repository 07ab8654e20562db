"""`ocop-bot doctor`: what needs a person — parked updates, messages that failed for good, the staff chat.

Prints ids, kinds, counts and errors, never a user's message. Exit code 0 when nothing needs attention, 1 when
something does.
"""

from __future__ import annotations

import argparse

from sqlalchemy import select

from bot.config import Settings
from bot.database import open_database
from catalog import inbox
from catalog.models import OutboxMessage

SHOW = 50


async def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import check_staff_chat, follow_staff_chat_moves, telegram_configured

    db = await open_database(settings, seed=False)
    problems = 0
    try:
        print(f"database: {db.dialect}, revision {await db.current_revision()}")
        counts = await inbox.summary(db)
        for channel, by_status in sorted(counts.items()):
            print(f"inbox {channel}: " + ", ".join(f"{n} {status}" for status, n in sorted(by_status.items())))
        parked = await inbox.parked(db, SHOW)
        if parked:
            problems += len(parked)
            print(f"parked updates (failed {inbox.MAX_ATTEMPTS} times, kept, not retried): {len(parked)}"
                  + (f" (newest {SHOW})" if len(parked) >= SHOW else ""))
            for entry in parked:
                print(f"  #{entry.id} {entry.channel} key {entry.key} chat {entry.chat_key or '-'} "
                      f"{entry.created_at:%Y-%m-%d %H:%M} attempts {entry.attempts}: {entry.last_error[:200]}")
        async with db.session() as session:
            failed = (await session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "failed")
                .order_by(OutboxMessage.id.desc()).limit(SHOW))).all()
        if failed:
            problems += len(failed)
            print(f"outbox entries that failed for good: {len(failed)}" + (f" (newest {SHOW})" if len(failed) >= SHOW else ""))
            for entry in failed:
                print(f"  #{entry.id} {entry.kind} to {entry.channel} {entry.chat_id or '-'} "
                      f"{entry.created_at:%Y-%m-%d %H:%M}: {entry.last_error[:200]}")
        problems += await _desk(settings, db)
        if settings.staff_chat_id is None:
            problems += 1
            print("staff chat: OCOP_STAFF_CHAT_ID is not set: enquiries are recorded but reach no staff chat "
                  "(add the bot to the staff group and set its id; see README \"Setting up the desk\")")
        elif telegram_configured(settings):
            settings = await follow_staff_chat_moves(db, settings)
            problem = await _staff_chat(settings, db, check_staff_chat)
            if problem:
                problems += 1
                print(f"staff chat: {problem}")
            else:
                print(f"staff chat {settings.staff_chat_id}: reachable")
    finally:
        await db.dispose()
    print("nothing needs attention" if not problems else f"{problems} thing(s) need attention")
    return 1 if problems else 0


async def _desk(settings: Settings, db) -> int:  # type: ignore[no-untyped-def]
    """The staff console's secret and accounts, and how they match OCOP_STAFF_USER_IDS; returns the problems."""
    from catalog.staff_accounts import list_accounts

    problems = 0
    if settings.web_secret is None:
        print("web console: OCOP_WEB_SECRET is not set, so `ocop-bot web` cannot start and `ocop-bot run` does not "
              "serve the console")
    else:
        host, port = settings.web_address
        print(f"web console: secret set, served by `run` on its web server ({host}:{port})")
        if settings.web_public_url:
            print(f"web console: the weekly digest links to {settings.web_public_url}/insights")
        else:
            print("web console: OCOP_WEB_PUBLIC_URL is not set, so the weekly digest cannot link to its /insights page")
    names = [n for n in (settings.department_name_vi, settings.department_name_en) if n]
    if names:
        print("department name (OCOP_DEPARTMENT_NAME_VI / _EN): " + " / ".join(names))
    else:
        print("department name: OCOP_DEPARTMENT_NAME_VI / _EN are not set, so buyers read \"the trade department's "
              "staff\" (\"cán bộ phụ trách xúc tiến thương mại\"); set them to the department's official name")
    async with db.session() as session:
        found = await list_accounts(session)
    active = [a for a in found if a.active]
    if not active:
        problems += 1
        print("staff accounts: none: add one with `ocop-bot staff add USERNAME --admin` (password on standard input)")
    else:
        admins = sum(1 for a in active if a.is_admin)
        print(f"staff accounts: {len(active)} active, {admins} admin(s)")
        if not admins:
            problems += 1
            print("  no administrator: add one with `ocop-bot staff add USERNAME --admin`")
    for account in active:
        if account.telegram_user_id is not None and not settings.is_staff(account.telegram_user_id):
            problems += 1
            print(f"  {account.username}: Telegram user {account.telegram_user_id} is not in OCOP_STAFF_USER_IDS, "
                  "so the card buttons refuse them")
    linked = {a.telegram_user_id for a in found}
    unlinked = sorted(i for i in settings.staff_user_ids if i not in linked)
    if unlinked:
        print(f"  staff ids without an account (their actions show their Telegram name): {', '.join(map(str, unlinked))}")
    return problems


async def _staff_chat(settings: Settings, db, check) -> str:  # type: ignore[no-untyped-def]
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.channels.telegram import bot_urls

    assert settings.telegram_token is not None
    kwargs = {}
    if settings.telegram_base_url:
        kwargs["base_url"], kwargs["base_file_url"] = bot_urls(settings.telegram_base_url)
    bot = Bot(settings.telegram_token.get_secret_value(), **kwargs)
    try:
        await bot.initialize()
        return str(await check(bot, settings, db))
    except TelegramError as exc:
        return f"cannot check it: {type(exc).__name__}"
    finally:
        await bot.shutdown()
