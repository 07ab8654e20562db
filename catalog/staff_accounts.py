"""Staff accounts of the desk: passwords hashed with Argon2id, sign-in throttling, the audit log."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import AuditEntry, StaffAccount, utcnow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# After this many failed sign-ins for one name (or from one address) within the window, sign-in is refused
# for that name or address until the window has passed; counted from the audit log, so across processes.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name costs as long as a wrong password (no user probing).
    Made at the first sign-in, not at import: a hash costs about a quarter of a second, which every process that
    imports this module (the chat, each worker) would otherwise pay before its first answer."""
    return _hasher.hash("not a password of anyone's")


class AccountError(ValueError):
    """A name or password that cannot be used; the message says why, for the person at the keyboard."""


def check_username(name: str) -> str:
    name = name.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError("a username is 2-64 characters: lowercase letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def _verify(stored: str | None, password: str) -> bool:
    """Does the password match the stored hash? With none stored (an unknown name), checked against a dummy."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


async def find_account(session: AsyncSession, username: str) -> StaffAccount | None:
    return await session.scalar(select(StaffAccount).where(StaffAccount.username == username.strip().lower()))


async def account_for_telegram(session: AsyncSession, user_id: str | int | None) -> StaffAccount | None:
    """The active account linked to a Telegram user id, if any."""
    try:
        number = int(str(user_id))
    except (TypeError, ValueError):
        return None
    return await session.scalar(
        select(StaffAccount).where(StaffAccount.telegram_user_id == number, StaffAccount.active.is_(True))
    )


async def add_account(
    session: AsyncSession,
    username: str,
    password: str,
    *,
    admin: bool = False,
    telegram_id: int | None = None,
    language: str = "vi",
) -> StaffAccount:
    """A new account; AccountError when the name is taken, malformed, or the Telegram id is linked already."""
    name = check_username(username)
    if await find_account(session, name) is not None:
        raise AccountError(f"there is already an account named {name!r}")
    if (
        telegram_id is not None
        and await session.scalar(select(StaffAccount.id).where(StaffAccount.telegram_user_id == telegram_id))
        is not None
    ):
        raise AccountError(f"Telegram user {telegram_id} is already linked to another account")
    account = StaffAccount(
        username=name,
        password_hash=hash_password(password),
        is_admin=admin,
        telegram_user_id=telegram_id,
        language=language if language in ("vi", "en") else "vi",
        active=True,
        session_generation=0,
        created_at=utcnow(),
    )
    session.add(account)
    await session.flush()
    return account


def set_password(account: StaffAccount, password: str) -> None:
    account.password_hash = hash_password(password)
    account.session_generation += 1  # signed-in sessions end


@dataclass(frozen=True)
class SignIn:
    account: StaffAccount | None
    throttled: bool = False


async def recent_failures(
    session: AsyncSession, username: str, address: str, now: dt.datetime | None = None
) -> int:
    """Failed sign-ins for this name or from this address in the window (the larger of the two)."""
    since = (now or utcnow()) - FAILURE_WINDOW
    base = select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "login_failed", AuditEntry.created_at >= since
    )
    by_name = int(await session.scalar(base.where(AuditEntry.subject == username[:100])) or 0)
    by_address = (
        int(await session.scalar(base.where(AuditEntry.address == address[:64])) or 0) if address else 0
    )
    return max(by_name, by_address)


async def sign_in(session: AsyncSession, username: str, password: str, address: str) -> SignIn:
    """The account when the name and password match an active account and sign-in is not throttled.
    Every outcome is written to the audit log (the name typed, never the password)."""
    name = username.strip().lower()[:64]
    if await recent_failures(session, name, address) >= MAX_FAILURES:
        audit(session, None, "login_throttled", name, address=address)
        return SignIn(None, throttled=True)
    account = await find_account(session, name) if name else None
    # Argon2 takes a few tenths of a second of CPU by design: on a thread of its own (it lets go of the GIL), so
    # the event loop, which the console may share with the bot's webhooks, goes on answering meanwhile.
    matches = await asyncio.to_thread(_verify, account.password_hash if account else None, password[:MAX_PASSWORD])
    if not (matches and account is not None and account.active):
        audit(session, None, "login_failed", name, address=address)
        return SignIn(None)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await asyncio.to_thread(_hasher.hash, password)
    account.last_login_at = utcnow()
    audit(session, account, "login", name, address=address)
    return SignIn(account)


def audit(
    session: AsyncSession,
    account: StaffAccount | None,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    *,
    address: str = "",
) -> AuditEntry:
    """One line of the audit log, committed with the change it records."""
    entry = AuditEntry(
        staff_id=account.id if account else None,
        username=account.username if account else "",
        action=action[:40],
        subject=subject[:100],
        detail=detail or {},
        address=address[:64],
        created_at=utcnow(),
    )
    session.add(entry)
    return entry


async def list_accounts(session: AsyncSession) -> list[StaffAccount]:
    return list((await session.scalars(select(StaffAccount).order_by(StaffAccount.username))).all())
