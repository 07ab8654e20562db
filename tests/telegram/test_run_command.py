"""`ocop-bot run` as a user starts it: a separate process, configured only through the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import NO_CHANNEL, Webhook

REPO = Path(__file__).resolve().parents[2]


def run_bot(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    clean.update({"OCOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}", "PYTHONPATH": str(REPO)})
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", "run", *args], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=timeout)


def test_without_a_token_one_line_says_how_to_get_one(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [NO_CHANNEL]
    assert "@BotFather" in lines[0] and "OCOP_TELEGRAM_TOKEN" in lines[0] and "ocop-bot chat" in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "ocop.db").exists()  # nothing was created for a bot that cannot run


def test_asking_for_telegram_without_a_token(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "--channel", "telegram")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "OCOP_TELEGRAM_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_setting_is_named_in_one_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path, env={"OCOP_TELEGRAM_TOKEN": "1:x", "OCOP_STAFF_CHAT_ID": "abc"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OCOP_STAFF_CHAT_ID" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_webhook_secret_is_named(tmp_path: Path) -> None:
    result = run_bot(tmp_path, env={"OCOP_TELEGRAM_TOKEN": "1:x", "OCOP_TELEGRAM_WEBHOOK_SECRET": "no spaces!"})
    assert result.returncode == 2
    assert "OCOP_TELEGRAM_WEBHOOK_SECRET" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path, env={"OCOP_TELEGRAM_TOKEN": "1:x", "OCOP_TELEGRAM_BASE_URL": "http://127.0.0.1:9"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Telegram Bot API" in lines[0], result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_runs_against_the_fake_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The real command, long polling a fake Bot API server run in another process, stopped by SIGTERM."""
    server = subprocess.Popen(
        [sys.executable, "-c", _FAKE_SERVER], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        clean.update({"OCOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}", "PYTHONPATH": str(REPO),
                      "OCOP_TELEGRAM_TOKEN": "1:x", "OCOP_TELEGRAM_BASE_URL": base_url})
        bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=clean,
                               stderr=subprocess.PIPE, text=True)
        assert bot.stderr is not None
        started = bot.stderr.readline()
        assert "running on Telegram @ocop_test_bot (long polling)" in started, started
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0
        assert "stopping" in bot.stderr.read()
        # the greeting the fake server waits for arrived before the bot stopped
        assert server.stdout.readline().strip() == "commands set"
    finally:
        server.terminate()
        server.wait(timeout=10)


_FAKE_SERVER = """
import asyncio, sys
from tests.fakes.telegram_api import FakeTelegramAPI

async def main():
    async with FakeTelegramAPI(token="1:x") as api:
        print(api.base_url, flush=True)
        await api.wait_for(lambda: api.get_commands("vi") and api.get_commands("en"), timeout=60)
        print("commands set", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


def test_webhook_path_and_secret() -> None:
    hook = Webhook("https://bot.example.org/ocop/telegram")
    assert hook.url_path == "ocop/telegram"
    assert len(hook.secret) >= 32 and Webhook("https://x.org/").secret != hook.secret  # random per start
    assert "secret" not in repr(hook)


def test_webhook_url_must_be_https(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "--webhook-url", "http://bot.example.org/hook", env={"OCOP_TELEGRAM_TOKEN": "1:x"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "https://" in result.stderr
