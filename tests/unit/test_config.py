"""Settings: built from the environment once; a bad value is one clear line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings, normalise_database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OCOP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_sqlite_in_user_data_dir() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("ocop.db")
    assert settings.default_language == "vi"
    assert settings.telegram_token is None and settings.staff_user_ids == frozenset()


def test_values_from_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OCOP_STAFF_CHAT_ID=-100123\nOCOP_DEFAULT_LANGUAGE=en\n", encoding="utf-8")
    monkeypatch.setenv("OCOP_STAFF_USER_IDS", "11, 22,33")
    monkeypatch.setenv("OCOP_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv("OCOP_TELEGRAM_TOKEN", "123:abc")
    settings = load_settings()
    assert settings.staff_chat_id == -100123 and settings.default_language == "en"
    assert settings.staff_user_ids == frozenset({11, 22, 33})
    assert settings.is_staff("22") and not settings.is_staff(44) and not settings.is_staff("x")
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert settings.telegram_token is not None and "123:abc" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("OCOP_STAFF_CHAT_ID", "abc", "OCOP_STAFF_CHAT_ID"),
        ("OCOP_STAFF_USER_IDS", "12,bob", "OCOP_STAFF_USER_IDS"),
        ("OCOP_DATABASE_URL", "not a url", "OCOP_DATABASE_URL"),
        ("OCOP_DATABASE_URL", "mysql://x/y", "unsupported database driver"),
        ("OCOP_TELEGRAM_BASE_URL", "ftp://x", "OCOP_TELEGRAM_BASE_URL"),
        ("OCOP_DEFAULT_LANGUAGE", "fr", "OCOP_DEFAULT_LANGUAGE"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(name) and fragment in message and "\n" not in message


def test_psycopg_url_is_kept() -> None:
    assert normalise_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"


def test_cli_prints_one_line_and_exits_2_on_bad_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env["OCOP_STAFF_CHAT_ID"] = "not-a-number"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "catalog", "stats"], cwd=tmp_path, env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OCOP_STAFF_CHAT_ID" in lines[0]
