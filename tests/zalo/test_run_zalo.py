"""`ocop-bot run --channel zalo` as an operator starts it: its own process, configured by the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
USER = "246845883529197922"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_the_zalo_only_bot_answers_a_webhook_and_stops_on_sigterm(
    db_url: str, zalo: FakeZaloAPI, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update({f"OCOP_{k.upper()}": str(v) for k, v in zalo.settings_fields().items()})
    env.update({"OCOP_DATABASE_URL": db_url, "OCOP_ZALO_WEBHOOK_PORT": str(port), "PYTHONPATH": str(REPO)})
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--channel", "zalo",
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )
    assert bot.stderr is not None
    try:
        async with asyncio.timeout(60):
            started = (await bot.stderr.readline()).decode()
        assert "running on Zalo" in started, started
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        zalo.webhook_url = f"http://127.0.0.1:{port}/zalo/webhook"
        assert (await zalo.follow(USER)).response == {"status": "ok"}
        welcome = await zalo.wait_for_messages(USER, 1, within=30)
        assert "OCOP" in welcome[0].text and welcome[0].buttons
        bot.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await bot.wait() == 0
            rest = (await bot.stderr.read()).decode()
        assert "stopping" in rest and "Traceback" not in rest
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
