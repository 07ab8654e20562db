"""`ocop-bot staff add` and `staff list` on a real database: the password from standard input, hashed."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from catalog.db import Database
from catalog.models import StaffAccount


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    for name in ("OCOP_STAFF_USER_IDS", "OCOP_STAFF_CHAT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    return db_url


async def _accounts(url: str) -> list[tuple[str, bool, int | None, str]]:
    db = Database(url)
    try:
        async with db.session() as session:
            rows = (await session.scalars(select(StaffAccount).order_by(StaffAccount.id))).all()
            return [(a.username, a.is_admin, a.telegram_user_id, a.password_hash) for a in rows]
    finally:
        await db.dispose()


def test_staff_add_reads_the_password_from_stdin_and_stores_only_its_hash(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["staff", "add", "Mai", "--admin", "--telegram-id", "9001"]) == 0
    out, err = capsys.readouterr()
    assert "Added admin account mai, linked to Telegram user 9001" in out
    assert "not in OCOP_STAFF_USER_IDS" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("another secret here\n"))
    assert main(["staff", "add", "hung"]) == 0
    [(name, admin, telegram, hashed), second] = asyncio.run(_accounts(cli_env))
    assert (name, admin, telegram) == ("mai", True, 9001) and hashed.startswith("$argon2id$")
    assert "a long enough secret" not in hashed and second[:3] == ("hung", False, None)
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    listed = capsys.readouterr().out
    assert "mai" in listed and "telegram 9001" in listed and "admin" in listed and "secret" not in listed


@pytest.mark.parametrize(
    ("argv", "stdin", "code", "message"),
    [
        (["staff", "add", "mai"], "short\n", 2, "at least 10 characters"),
        (["staff", "add", "no spaces allowed"], "a long enough secret\n", 2, "a username is"),
    ],
)
def test_staff_add_refuses_bad_input_in_one_line(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    code: int,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_taken_name_is_refused(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for expected in (0, 1):
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
        assert main(["staff", "add", "mai"]) == expected
    assert "already an account named 'mai'" in capsys.readouterr().err


def test_web_refuses_to_start_without_a_secret(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OCOP_WEB_SECRET", raising=False)
    assert main(["web", "--port", "1"]) == 2
    assert "needs OCOP_WEB_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("OCOP_WEB_SECRET", "too short")
    assert main(["web"]) == 2
    assert "OCOP_WEB_SECRET: must be at least 32 characters" in capsys.readouterr().err
