"""Benchmark: one chat floods 1,000 messages; how long do other chats wait for their answers meanwhile?

    python benchmarks/bench_flood.py [--flood 1000] [--probes 200] [--rounds 3]

The bot runs as `ocop-bot run` assembles it (`bot.app.running_bot`, long polling, Telegram's 30 messages/s
limit on) on a temporary SQLite file, against the fake Bot API server in a child process (as Telegram would
be, so its work does not share the bot's event loop). A *probe* is one message from one of five other chats;
its latency is from the moment the fake server queues the update to the moment it receives the bot's first
answer (both on the server's clock): the whole path, getUpdates, the durable inbox, handling, sending.
Probes go one after another, 50 ms apart.

Three settings, taking turns in each round (the machine is shared and noisy; medians of the rounds):
- `unloaded`: the probes alone;
- `flood`: the flood is queued first (one chat, `--flood` messages at once), then the probes: the bot as
  shipped, which answers a chat sending more than 20 messages in 10 s one message a second after one notice;
- `flood, not slowed`: the same with the slowing switched off (`flood_limit = 0`), which is what the bot
  did before: the flooding chat takes its fair turn at the 8 slots and at the 30 messages/s.
Printed: probe p50 and p99 per setting, and the flood's p99 over the unloaded p99 (the bar: at most 2×).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import FakeServer, percentile  # noqa: E402
from bot.app import freeze_startup_objects, running_bot  # noqa: E402
from bot.config import Settings  # noqa: E402

TOKEN = "910910:FLOOD-BENCHMARK"
FLOOD_CHAT = 50_000
PROBE_CHATS = [50_001 + n for n in range(5)]
PROBES = ["mật ong", "honey", "mỳ chũ", "cảm ơn", "/help", "vải thiều", "gà đồi Yên Thế"]

# The fake server's process: one JSON command per line, one JSON answer per line; ends at end of input.
FAKE_SERVER = r"""
import asyncio, json, sys
from tests.fakes.telegram_api import FakeTelegramAPI

async def main():
    async with FakeTelegramAPI(token=sys.argv[1]) as api:
        print(json.dumps({"base_url": api.base_url}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = json.loads(line)
            if command["op"] == "flood":
                for n in range(command["n"]):
                    api.push_message(command["chat"], "cảm ơn" if n % 2 else "mật ong", language_code="vi")
                answer = {"queued": command["n"]}
            elif command["op"] == "probe":
                chat = command["chat"]
                before = len(api.bot_messages(chat))
                started = loop.time()
                api.push_message(chat, command["text"], language_code=command["lang"])
                await api.wait_for(lambda: len(api.bot_messages(chat)) > before, 120)
                answer = {"seconds": loop.time() - started}
            else:
                answer = {"answers": len(api.bot_messages(command["chat"]))}
            print(json.dumps(answer), flush=True)

asyncio.run(main())
"""


async def run(setting: str, flood: int, probes: int) -> dict[str, Any]:
    fake = await FakeServer.start(FAKE_SERVER, TOKEN)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            telegram_token=SecretStr(TOKEN),
            telegram_base_url=fake.base_url,
        )
        async with running_bot(settings, channel="telegram") as bot:
            freeze_startup_objects()
            assert bot.telegram_inbox is not None
            processor = bot.telegram_inbox.processor
            if setting == "flood, not slowed":
                processor.flood_limit = 0
            for n, chat in enumerate(PROBE_CHATS):  # each probe chat says hello first (not measured)
                await fake.send(
                    {"op": "probe", "chat": chat, "text": "/start", "lang": "vi" if n % 2 else "en"}
                )
            if setting != "unloaded":
                await fake.send({"op": "flood", "chat": FLOOD_CHAT, "n": flood})
            latencies = []
            for n in range(probes):
                chat = PROBE_CHATS[n % len(PROBE_CHATS)]
                text = PROBES[n % len(PROBES)]
                answer = await fake.send(
                    {"op": "probe", "chat": chat, "text": text, "lang": "vi" if n % 2 else "en"}
                )
                latencies.append(answer["seconds"])
                await asyncio.sleep(0.05)
            answered = (await fake.send({"op": "count", "chat": FLOOD_CHAT}))["answers"]
            processor.flood_pace = (
                0.0  # let the rest of the flood go, so the bot stops without waiting for it
            )
    await fake.stop()
    return {
        "setting": setting,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "flood_answers": answered,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = ["unloaded", "flood", "flood, not slowed"]
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in settings}
    for round_ in range(args.rounds):
        for setting in settings if round_ % 2 == 0 else reversed(settings):
            row = await run(setting, args.flood, args.probes)
            rows[setting].append(row)
            print(
                f"round {round_ + 1}: {setting:<18} p50 {row['p50']:7.1f} ms  p99 {row['p99']:7.1f} ms  "
                f"flood answers meanwhile {row['flood_answers']}",
                flush=True,
            )

    def median(setting: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[setting])

    print(
        f"\n{args.probes} probes from {len(PROBE_CHATS)} chats, flood of {args.flood} messages from one chat; "
        f"medians of {args.rounds} rounds; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'setting':<18} {'probe p50':>10} {'probe p99':>10} {'p99 / unloaded p99':>19} {'flood answers':>14}"
    )
    base = median("unloaded", "p99")
    for setting in settings:
        p99 = median(setting, "p99")
        print(
            f"{setting:<18} {median(setting, 'p50'):7.1f} ms {p99:7.1f} ms {p99 / base:>18.2f}x "
            f"{median(setting, 'flood_answers'):>14.0f}"
        )
    print("bar: another chat's reply p99 during the flood within 2x its unloaded value")


if __name__ == "__main__":
    asyncio.run(main())
