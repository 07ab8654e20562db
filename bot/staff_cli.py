"""`ocop-bot staff add USERNAME [--admin] [--telegram-id N] [--language vi|en]` (password on standard input)
and `ocop-bot staff list`: the console's accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import Settings
from bot.database import open_database
from catalog import staff_accounts as accounts


def read_password() -> str:
    """The password from standard input: asked for twice on a terminal, else the first line of what is piped."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise accounts.AccountError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        name = accounts.check_username(args.username)
        password = accounts.check_password(read_password())
    except accounts.AccountError as exc:
        print(f"ocop-bot: {exc}", file=sys.stderr)
        return 2
    db = await open_database(settings)
    try:
        async with db.session() as session:
            try:
                account = await accounts.add_account(
                    session,
                    name,
                    password,
                    admin=args.admin,
                    telegram_id=args.telegram_id,
                    language=args.language,
                )
            except accounts.AccountError as exc:
                print(f"ocop-bot: {exc}", file=sys.stderr)
                return 1
            accounts.audit(
                session, account, "account_created", name, {"admin": args.admin, "by": "command line"}
            )
    finally:
        await db.dispose()
    linked = f", linked to Telegram user {args.telegram_id}" if args.telegram_id is not None else ""
    print(f"Added {'admin ' if args.admin else ''}account {name}{linked}.")
    if args.telegram_id is not None and not settings.is_staff(args.telegram_id):
        print(
            f"Note: {args.telegram_id} is not in OCOP_STAFF_USER_IDS, so the card buttons in the staff chat "
            "will refuse them until it is.",
            file=sys.stderr,
        )
    return 0


async def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    db = await open_database(settings)
    try:
        async with db.session() as session:
            found = await accounts.list_accounts(session)
    finally:
        await db.dispose()
    if not found:
        print("No staff accounts yet: add one with `ocop-bot staff add USERNAME --admin`.")
        return 0
    for account in found:
        flags = ", ".join(
            f for f, on in (("admin", account.is_admin), ("disabled", not account.active)) if on
        )
        telegram = f"telegram {account.telegram_user_id}" if account.telegram_user_id else "no telegram id"
        print(f"{account.username:<24} {account.language}  {telegram:<22} {flags}")
    return 0
