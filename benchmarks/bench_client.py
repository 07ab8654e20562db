"""Benchmark: what one Bot API call costs the bot process, per HTTP backend of python-telegram-bot.

    python benchmarks/bench_client.py [--calls 2000] [--repeat 3] [--only NAME,NAME]

The fake Bot API server (tests/fakes/telegram_api.py) runs in a child process, so its CPU time is not
counted: `time.process_time()` of this process is the client's cost alone. Each backend makes `--calls`
calls of `bot.send_message(chat_id, "<b>…</b>", reply_markup=<6 inline buttons>)`, one at a time, through
an `ExtBot` with the `Defaults` that `build_application` sets (HTML parse mode, no link previews).
Printed per backend: wall time per call (p50/p99) and bot-process CPU time per call, the median over
`--repeat` rounds (the backends take turns within a round, so a busy machine hurts them alike).

Backends:
  httpx default      PTB's HTTPXRequest as the ApplicationBuilder makes it (pool of 256, HTTP/1.1)
  httpx tuned        HTTPXRequest with the cheap knobs: small pool, trust_env off
  httpcore           BaseRequest straight on httpcore's connection pool (what httpx sits on)
  aiohttp form       BaseRequest on aiohttp (a prototype), the same url-encoded body HTTPXRequest sends
  aiohttp (telegram_http)  bot/channels/telegram_http.py: aiohttp with one JSON body per call
  raw floor          a minimal one-connection HTTP/1.1 client on asyncio streams: not a candidate
                     (no TLS checks, proxies, chunked answers...), only the lower bound of the transport
Then, on two backends: the same calls through AIORateLimiter(overall_max_rate=0) (as the benchmark of
updates configures it), and `request.post()` alone (the transport and JSON parsing without PTB's
parameter handling and Message.de_json). Last, on their own: Message.de_json of the answer, and what
AIORateLimiter.process_request adds around a call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpcore
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import NetworkError, TimedOut
from telegram.ext import AIORateLimiter, Defaults, ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import FakeServer, percentile  # noqa: E402
from bot.channels.telegram_http import AiohttpRequest  # noqa: E402

TOKEN = "900901:CLIENT-BENCHMARK"
TEXT = "<b>Mỳ Chũ</b> — đặc sản <i>Lục Ngạn</i>, Bắc Giang. Giá: 45.000đ/kg"
KEYBOARD = InlineKeyboardMarkup([
    [InlineKeyboardButton("Mỳ Chũ Lục Ngạn", callback_data="p:101"),
     InlineKeyboardButton("Vải thiều", callback_data="p:102")],
    [InlineKeyboardButton("Mật ong rừng", callback_data="p:103"),
     InlineKeyboardButton("Gà đồi Yên Thế", callback_data="p:104")],
    [InlineKeyboardButton("« Trước", callback_data="pg:0"), InlineKeyboardButton("Sau »", callback_data="pg:2")],
])  # fmt: skip

FAKE_SERVER = r"""
import asyncio, json, sys
from tests.fakes.telegram_api import FakeTelegramAPI

async def main():
    async with FakeTelegramAPI(token=sys.argv[1]) as api:
        print(json.dumps({"base_url": api.base_url}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()  # until the benchmark closes stdin

asyncio.run(main())
"""


# --------------------------------------------------------------------------------------------------
# Candidate request backends (prototypes: enough for the measurement, not the production class)
# --------------------------------------------------------------------------------------------------


def _seconds(value: object, default: float | None) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value  # type: ignore[return-value]


def _body(request_data: RequestData | None, json_body: bool) -> tuple[bytes, str]:
    if request_data is None:
        return b"", ""
    if json_body:
        return json.dumps(request_data.parameters).encode(), "application/json"
    return request_data.url_encoded_parameters().encode(), "application/x-www-form-urlencoded"


class HttpcoreRequest(BaseRequest):
    """PTB requests straight on httpcore's pool, skipping httpx's client layer."""

    def __init__(self, *, json_body: bool = False, timeout: float = 5.0) -> None:
        self._json = json_body
        self._timeout = timeout
        self._pool: httpcore.AsyncConnectionPool | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._pool is None:
            self._pool = httpcore.AsyncConnectionPool(max_connections=256, http1=True, http2=False)

    async def shutdown(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        assert self._pool is not None and not (request_data and request_data.contains_files)
        body, content_type = _body(request_data, self._json)
        timeouts = {"read": _seconds(read_timeout, self._timeout), "write": _seconds(write_timeout, self._timeout),
                    "connect": _seconds(connect_timeout, self._timeout), "pool": _seconds(pool_timeout, 1.0)}
        headers = [(b"User-Agent", self.USER_AGENT.encode())]
        if content_type:
            headers.append((b"Content-Type", content_type.encode()))
        try:
            response = await self._pool.request(method, url, headers=headers, content=body,
                                                extensions={"timeout": timeouts})
        except httpcore.TimeoutException as exc:
            raise TimedOut from exc
        except httpcore.NetworkError as exc:
            raise NetworkError(repr(exc)) from exc
        return response.status, response.content


class AiohttpFormRequest(BaseRequest):
    """PTB requests on an aiohttp ClientSession, url-encoded like HTTPXRequest sends them."""

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        assert self._session is not None and not (request_data and request_data.contains_files)
        body, content_type = _body(request_data, json_body=False)
        headers = {"User-Agent": self.USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        timeout = aiohttp.ClientTimeout(sock_read=_seconds(read_timeout, self._timeout),
                                        sock_connect=_seconds(connect_timeout, self._timeout))
        try:
            async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(repr(exc)) from exc


class RawRequest(BaseRequest):
    """The floor: one keep-alive HTTP/1.1 connection on asyncio streams, one request at a time."""

    def __init__(self, *, json_body: bool = True) -> None:
        self._json = json_body
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE, write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if self._streams is None:
            self._streams = await asyncio.open_connection(parts.hostname, parts.port)
        reader, writer = self._streams
        body, content_type = _body(request_data, self._json)
        writer.write(f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(int(v) for k, _, v in (line.partition(":") for line in lines[1:])
                      if k.lower() == "content-length")
        return status, await reader.readexactly(length)


BACKENDS: dict[str, Callable[[], BaseRequest]] = {
    "httpx default": lambda: HTTPXRequest(connection_pool_size=256),
    "httpx tuned": lambda: HTTPXRequest(connection_pool_size=8, httpx_kwargs={"trust_env": False}),
    "httpcore": lambda: HttpcoreRequest(),
    "httpcore json": lambda: HttpcoreRequest(json_body=True),
    "aiohttp form": lambda: AiohttpFormRequest(),
    "aiohttp (telegram_http)": lambda: AiohttpRequest(),
    "raw floor": lambda: RawRequest(),
}
# Backends also measured through AIORateLimiter and as bare request.post() calls.
LAYERED = ("httpx default", "aiohttp (telegram_http)")


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------


async def timed_calls(call: Callable[[int], Awaitable[Any]], calls: int) -> dict[str, float]:
    """Wall µs p50/p99 and process CPU µs per call of `calls` sequential calls (after a warm-up)."""
    for i in range(50):
        await call(i)
    walls: list[float] = []
    cpu_start = time.process_time()
    for i in range(calls):
        start = time.perf_counter()
        await call(i)
        walls.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu_start
    return {"p50": percentile(walls, 50) * 1e6, "p99": percentile(walls, 99) * 1e6, "cpu": cpu / calls * 1e6}


def make_bot(base_url: str, request: BaseRequest, *, rate_limited: bool) -> ExtBot[Any]:
    return ExtBot(
        TOKEN, base_url=base_url, request=request, get_updates_request=HTTPXRequest(connection_pool_size=1),
        defaults=Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)),
        rate_limiter=AIORateLimiter(overall_max_rate=0, max_retries=3) if rate_limited else None,
    )  # fmt: skip


async def measure_bot(base_url: str, name: str, chat: int, calls: int, *, rate_limited: bool) -> dict[str, float]:
    bot = make_bot(base_url, BACKENDS[name](), rate_limited=rate_limited)
    async with bot:
        async def call(_i: int) -> Message:
            message = await bot.send_message(chat, TEXT, reply_markup=KEYBOARD)
            assert message.text and message.reply_markup
            return message

        return await timed_calls(call, calls)


async def measure_post(base_url: str, name: str, chat: int, calls: int) -> dict[str, float]:
    """request.post() alone: transport + JSON parsing, without PTB's parameter handling and de_json."""
    request = BACKENDS[name]()
    url = f"{base_url}{TOKEN}/sendMessage"
    params = {"chat_id": chat, "text": TEXT, "parse_mode": "HTML", "reply_markup": KEYBOARD.to_dict(),
              "link_preview_options": {"is_disabled": True}}
    async with request:
        async def call(_i: int) -> Any:
            data = RequestData([RequestParameter(key, value, None) for key, value in params.items()])
            return await request.post(url, data)

        return await timed_calls(call, calls)


async def sample_answer(base_url: str) -> dict[str, Any]:
    async with make_bot(base_url, HTTPXRequest(), rate_limited=False) as bot:
        return (await bot.send_message(1, TEXT, reply_markup=KEYBOARD)).to_dict()


def measure_de_json(answer: dict[str, Any], calls: int) -> float:
    """CPU µs of json.loads + Message.de_json of one sendMessage answer."""
    bot = make_bot("http://unused/bot", HTTPXRequest(), rate_limited=False)
    payload = json.dumps({"ok": True, "result": answer}).encode()
    start = time.process_time()
    for _ in range(calls):
        Message.de_json(json.loads(payload)["result"], bot)
    return (time.process_time() - start) / calls * 1e6


async def measure_rate_limiter(calls: int) -> float:
    """CPU µs that AIORateLimiter(overall_max_rate=0).process_request adds around one call to a private chat."""

    async def request() -> bool:
        return True

    limiter = AIORateLimiter(overall_max_rate=0, max_retries=3)
    await limiter.initialize()
    start = time.process_time()
    for _ in range(calls):
        await request()
    bare = time.process_time() - start
    start = time.process_time()
    for _ in range(calls):
        await limiter.process_request(request, (), {}, "sendMessage", {"chat_id": 5001}, None)
    limited = time.process_time() - start
    await limiter.shutdown()
    return (limited - bare) / calls * 1e6


async def one_round(calls: int, names: list[str], shift: int) -> dict[str, dict[str, float]]:
    """Every measurement once, against a fresh fake server; the backends' order rotates by `shift`."""
    server = await FakeServer.start(FAKE_SERVER, TOKEN)
    rows: dict[str, dict[str, float]] = {}
    chat = 5000 + 100 * shift
    try:
        shift %= len(names)
        for name in names[shift:] + names[:shift]:
            chat += 1
            rows[name] = await measure_bot(server.base_url, name, chat, calls, rate_limited=False)
        for name in LAYERED:
            if name in names:
                chat += 1
                rows[f"{name} + AIORateLimiter"] = await measure_bot(server.base_url, name, chat, calls,
                                                                    rate_limited=True)
                chat += 1
                rows[f"{name}: request.post only"] = await measure_post(server.base_url, name, chat, calls)
        answer = await sample_answer(server.base_url)
        rows["Message.de_json (+json.loads)"] = {"p50": float("nan"), "p99": float("nan"),
                                                 "cpu": measure_de_json(answer, calls)}
        rows["AIORateLimiter.process_request alone"] = {"p50": float("nan"), "p99": float("nan"),
                                                        "cpu": await measure_rate_limiter(calls * 10)}
    finally:
        await server.stop()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated backend names (default: all)")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BACKENDS)

    rounds = []
    for number in range(args.repeat):
        rounds.append(await one_round(args.calls, names, number))
        print(f"round {number + 1}: " + ", ".join(f"{k} {v['cpu']:.0f}" for k, v in rounds[-1].items()),
              file=sys.stderr, flush=True)

    print(f"\n{args.calls} sequential send_message calls per backend, median of {args.repeat} rounds; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    head = f"{'backend':<42} {'wall p50 µs':>12} {'wall p99 µs':>12} {'CPU µs/call':>12} {'CPU vs default':>15}"
    print(head)
    print("-" * len(head))
    base = statistics.median(r["httpx default"]["cpu"] for r in rounds) if "httpx default" in names else None
    for key in [*names, *(k for k in rounds[0] if k not in names)]:
        p50, p99, cpu = (statistics.median(r[key][m] for r in rounds) for m in ("p50", "p99", "cpu"))
        versus = f"{(cpu / base - 1) * 100:+.0f}%" if base and p50 == p50 else ""  # not for the NaN rows
        print(f"{key:<42} {p50:>12.0f} {p99:>12.0f} {cpu:>12.0f} {versus:>15}")
    print("CPU = time.process_time() of the bot process per call (the fake server runs in another process)")


if __name__ == "__main__":
    asyncio.run(main())
