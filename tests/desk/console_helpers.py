"""Shared steps for the console tests: accounts, signing in over HTTP, the CSRF token of a page."""

from __future__ import annotations

import re

import httpx

from catalog import deadlines
from catalog import staff_accounts as accounts
from catalog.db import Database

PASSWORD = "correct horse battery"
WEB_SECRET = "x" * 40
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# A desk open every day, all day (until midnight: "24:00"), so tests do not depend on the hour they run at.
ALWAYS_OPEN = deadlines.BusinessHours(days=[1, 2, 3, 4, 5, 6, 7], opens="00:00", closes="24:00", public_holidays=False)


async def add_account(
    db: Database, name: str, *, admin: bool = False, telegram_id: int | None = None, language: str = "en"
) -> int:
    async with db.session() as session:
        account = await accounts.add_account(
            session, name, PASSWORD, admin=admin, telegram_id=telegram_id, language=language
        )
        return account.id


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login", data={"username": name, "password": password, "csrf_token": csrf_of(page.text)}
    )
