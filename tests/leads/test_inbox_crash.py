"""The durable inbox under SIGKILL: the real `ocop-bot run` polls the fake Bot API while bursts of messages from
many chats arrive, and is killed each time it is in the middle of answering. Every update the bot confirmed
to Telegram (the next getUpdates offset) must be answered after the restarts, and its inbox entry done.

Nothing here waits for a fixed time: each kill waits for the bot to have answered some of the burst, and the
end waits (with a generous ceiling) for the answers to stop being owed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from catalog.db import Database
from catalog.models import InboxEntry
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.leads.test_crash import Bot, child_env

TOKEN = "737373:INBOX-CRASH"
KILLS = 4
CHATS = 150
PER_CHAT = 2  # messages per chat per burst: 300 updates a burst, 1,200 over the test
CEILING = 240.0  # seconds: only a hung bot gets near it


def bot_replies(api: FakeTelegramAPI, chat: int) -> int:
    return len(api.bot_messages(chat))


async def test_sigkill_mid_burst_loses_no_accepted_update(db: Database, db_url: str, api: FakeTelegramAPI,
                                                          tmp_path: Path) -> None:
    bot = Bot({**child_env(db_url, api), "OCOP_TELEGRAM_TOKEN": TOKEN}, tmp_path / "bot.log")
    pushed: dict[int, int] = {}  # update id → chat
    await bot.start(api)
    try:
        for _ in range(KILLS):
            before = len(api.calls("sendMessage"))
            for n in range(PER_CHAT):
                for chat in range(CHATS):
                    chat_id = 20_000 + chat
                    pushed[api.push_message(chat_id, "cảm ơn" if n else "/help", user_id=chat_id,
                                            language_code="en")] = chat_id
            # Killed once it is busy with the burst: some answered, most not yet.
            await api.wait_for(lambda b=before: len(api.calls("sendMessage")) >= b + 20, CEILING,
                               message="the bot did not start answering the burst")
            await bot.kill()
            await bot.start(api)

        def owed() -> list[int]:
            confirmed = Counter(chat for update_id, chat in pushed.items() if api.is_confirmed(update_id))
            return [chat for chat, count in confirmed.items() if bot_replies(api, chat) < count]

        # The last burst was confirmed before or after the last kill; let the bot take in the rest.
        await api.wait_for(lambda: all(api.is_confirmed(u) for u in pushed), CEILING,
                           message="the bot stopped taking updates")
        await api.wait_for(lambda: not owed(), CEILING, message="accepted updates left unanswered")
        rows: dict[int, str] = {}
        for _ in range(int(CEILING / 0.2)):
            async with db.session() as session:
                rows = {int(e.key): e.status for e in (await session.scalars(
                    select(InboxEntry).where(InboxEntry.channel == "telegram"))).all()}
            if all(rows.get(u) == "done" for u in pushed):
                break
            await asyncio.sleep(0.2)
    finally:
        await bot.stop()

    accepted = [u for u in pushed if api.is_confirmed(u)]
    unanswered = owed()
    per_chat = Counter(pushed[u] for u in accepted)
    short = sum(max(0, n - bot_replies(api, chat)) for chat, n in per_chat.items())
    print(f"\ninbox crash test: {KILLS} SIGKILLs, {len(pushed)} updates pushed, {len(accepted)} accepted, "
          f"{len(accepted) - short} answered after the restarts, {len(unanswered)} chat(s) still owed an answer")
    assert len(accepted) == len(pushed) >= 1000
    assert not unanswered, f"chats with accepted updates never answered: {unanswered[:10]}"
    assert Counter(rows.get(u) for u in pushed) == Counter({"done": len(pushed)})
    assert "Traceback" not in (tmp_path / "bot.log").read_text(errors="replace")


async def test_sigkill_in_webhook_mode_loses_no_update_that_got_a_200(
    db: Database, db_url: str, api: FakeTelegramAPI, tmp_path: Path
) -> None:
    """Telegram posts each update to the webhook and forgets it after a 200: a 200 must mean stored."""
    port = free_port()
    secret = "inbox-crash_secret"
    env = {**child_env(db_url, api), "OCOP_TELEGRAM_TOKEN": TOKEN, "OCOP_TELEGRAM_WEBHOOK_SECRET": secret}
    bot = WebhookBot(env, tmp_path / "bot.log", port)
    url = f"http://127.0.0.1:{port}/telegram/hook"
    accepted: Counter[int] = Counter()
    update_ids: list[int] = []

    async def post(slots: asyncio.Semaphore, chat_id: int, text: str) -> None:
        update_id = api.push_message(chat_id, text, user_id=chat_id, language_code="en")
        while True:  # as Telegram does: the update is posted again until it gets a 200
            # Each attempt on a connection of its own and under a deadline of its own: a pooled connection to a
            # killed process must not leave an attempt waiting forever (seen on a loaded machine).
            with contextlib.suppress(httpx.HTTPError, TimeoutError):
                async with slots, asyncio.timeout(10), httpx.AsyncClient() as fresh:
                    answer = await fresh.post(url, json=api.updates[update_id],
                                              headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                if answer.status_code == 200:
                    accepted[chat_id] += 1
                    update_ids.append(update_id)
                    return
            await asyncio.sleep(0.05)

    def short() -> int:
        return sum(max(0, n - bot_replies(api, chat)) for chat, n in accepted.items())

    await bot.start(api)
    try:
        slots = asyncio.Semaphore(20)  # at most 20 requests in flight, as before with one pooled client
        for _ in range(KILLS):
            before = len(api.calls("sendMessage"))
            burst = asyncio.gather(*(post(slots, 30_000 + chat, "/help" if n == 0 else "cảm ơn")
                                     for n in range(PER_CHAT) for chat in range(CHATS)))
            await api.wait_for(lambda b=before: len(api.calls("sendMessage")) >= b + 20, CEILING,
                               message="the bot did not start answering the burst")
            await bot.kill()
            await bot.start(api)
            await burst
        await api.wait_for(lambda: short() == 0, CEILING, message="updates that got a 200 left unanswered")
        rows: dict[int, str] = {}
        for _ in range(int(CEILING / 0.2)):
            async with db.session() as session:
                rows = {int(e.key): e.status for e in (await session.scalars(
                    select(InboxEntry).where(InboxEntry.channel == "telegram"))).all()}
            if all(rows.get(u) == "done" for u in update_ids):
                break
            await asyncio.sleep(0.2)
    finally:
        await bot.stop()
    total = sum(accepted.values())
    print(f"\nwebhook inbox crash test: {KILLS} SIGKILLs, {CHATS * PER_CHAT * KILLS} updates posted, {total} got a 200, "
          f"{total - short()} answered after the restarts")
    assert total >= 1000 and short() == 0
    assert Counter(rows.get(u) for u in update_ids) == Counter({"done": total})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebhookBot(Bot):
    """`ocop-bot run --webhook-url …`: started once its webhook is registered with the (fake) Bot API."""

    def __init__(self, env: dict[str, str], log: Path, port: int) -> None:
        super().__init__(env, log)
        self.port = port

    async def start(self, api: FakeTelegramAPI) -> None:
        registered = len(api.calls("setWebhook"))
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "--channel", "telegram",
                "--webhook-url", "https://bot.example.org/telegram/hook", "--port", str(self.port),
                cwd=self.log.parent, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )
        self.starts += 1
        await api.wait_for(lambda: len(api.calls("setWebhook")) > registered or self.exited, 60.0,
                           message="bot did not start")
        assert not self.exited, self.log.read_text(errors="replace")[-3000:]
