"""python-telegram-bot's HTTP requests on aiohttp instead of httpx: the same Bot API calls for half the CPU.

Why it exists: every update costs the bot at least one Bot API round trip (sendMessage, or
answerCallbackQuery + editMessageText), and with PTB's default `HTTPXRequest` the client side of a
call was most of the bot's CPU per update. `benchmarks/bench_client.py` measures
`bot.send_message(chat, "<b>…</b>", reply_markup=<6 inline buttons>)`, one call at a time, against the
local fake Bot API in another process; medians of 3 rounds of 2,000 calls on the shared 2-core
development VM (python 3.11, aiohttp 3.14, httpx 0.28, PTB 22.8):

    backend                                 wall p50   wall p99   bot CPU per call
    HTTPXRequest as the builder makes it    2,100 µs   4,670 µs   1,520 µs
    HTTPXRequest, small pool, no trust_env  1,820 µs   3,410 µs   1,350 µs   within the noise
    httpcore's pool without httpx's client  2,020 µs   3,630 µs   1,350 µs   (1,120 with a JSON body)
    aiohttp, url-encoded like httpx         1,260 µs   2,440 µs     750 µs
    aiohttp, JSON body: this module         1,100 µs   1,910 µs     650 µs   -57 %

(Two earlier full runs: -48 % and -55 %.) Of the 650 µs, the transport (request.post() alone, with
PTB's JSON parsing) is ~300 µs against ~1,030 µs for httpx; the rest is PTB's own work, the same for
every backend: ExtBot's defaults, RequestParameter/to_dict of the keyboard, and Message.de_json of the
answer (~150 µs alone). AIORateLimiter with overall_max_rate=0 adds ~3 µs.

Through the whole bot (`benchmarks/bench_updates.py`, 2,000 updates, medians of 3 runs each, same VM),
switching from HTTPXRequest to this: 8 updates at a time 217 → 434 updates/s, bot CPU per update
4.2 → 1.9 ms; one at a time 215 → 297 updates/s, 3.6 → 2.4 ms. (The fake server's CPU per update fell
too, ~1.6 → ~1.1 ms: one JSON body is cheaper to read than url-encoded JSON fields.)

What it does as `HTTPXRequest` does: a keep-alive connection pool per instance (PTB's builder takes one
instance for the Bot API methods and another, of one connection, for getUpdates), the `User-Agent`,
no redirects, PTB's four timeouts raising `telegram.error.TimedOut` and every other transport failure
`telegram.error.NetworkError`, multipart uploads for files (names in UTF-8, escaped as httpx escapes
them), certifi's CA bundle (or SSL_CERT_FILE / SSL_CERT_DIR) for TLS, and HTTP(S)_PROXY / ALL_PROXY /
NO_PROXY from the environment.

What it does differently:
* Parameters go as one `application/json` body (which the Bot API accepts for every method but file
  uploads) instead of url-encoding a JSON dump of each nested parameter: less work on both sides.
  Uploads are `multipart/form-data` as before.
* Timeouts: `pool_timeout` is the wait for a free connection (a semaphore of one slot per connection,
  so that it is not mixed up with connecting), `connect_timeout` getting a connection (DNS, TCP, TLS),
  `read_timeout` the longest silence while reading the answer, from the moment the request is sent,
  as in httpx. aiohttp has no write timeout, so `write_timeout` (`media_write_timeout` for uploads)
  bounds the sending as a whole instead of each socket write: once a connection is free, the answer's
  headers must arrive within connect + write + read seconds.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import ssl
import urllib.request
from typing import Any, Final

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

_JSON_HEADERS: Final = {"Content-Type": "application/json"}


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The CA bundle httpx uses: SSL_CERT_FILE or SSL_CERT_DIR if set, else certifi's."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def _proxy_in_environment() -> bool:
    """Whether HTTP_PROXY / HTTPS_PROXY / ALL_PROXY is set. Only then does the session read the
    environment (aiohttp then looks up the proxy and NO_PROXY, and .netrc, on every request)."""
    proxies = urllib.request.getproxies_environment()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


@functools.lru_cache(maxsize=64)
def _client_timeout(read: float | None, connect: float | None) -> aiohttp.ClientTimeout:
    # `connect` bounds getting a connection (DNS, TCP, TLS); the pool wait is ours, see _slots.
    return aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` on an aiohttp `ClientSession`; give one to the builder's
    `.request()` and another (`connection_pool_size=1`) to `.get_updates_request()`.

    The arguments mean what they mean for `telegram.request.HTTPXRequest`, with the same defaults
    (seconds; None = no limit); see the module docstring for how the timeouts map onto aiohttp's.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_slots",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # One slot per connection: a request waits here (at most pool_timeout) while all are busy.
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds the long-polling time to it for getUpdates)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the connection pool (again, after a shutdown). The session needs a running loop."""
        if self._session is None or self._session.closed:
            self._slots = asyncio.Semaphore(self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=_ssl_context()),
                headers={"User-Agent": self.USER_AGENT},
                trust_env=_proxy_in_environment(),
            )

    async def shutdown(self) -> None:
        """Close the pooled connections; `initialize` opens a new pool."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `telegram.request.BaseRequest.do_request`: the HTTP status and the body of the answer."""
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        upload = request_data is not None and request_data.contains_files
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if upload else self._write_timeout
        else:
            write = write_timeout

        body: bytes | aiohttp.MultipartWriter | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if upload:
                body = _multipart(request_data)
            else:
                body = json.dumps(request_data.parameters, ensure_ascii=False, separators=(",", ":")).encode()
                headers = _JSON_HEADERS
        return await self._exchange(method, url, body, headers, read=read, write=write, connect=connect, pool=pool)

    async def post_json(self, url: str, parameters: dict[str, Any]) -> tuple[int, bytes]:
        """POST `parameters` (plain JSON values, None left out by the caller) as one JSON body, with this
        instance's default timeouts: the HTTP status and the answer's body, as `do_request` gives them, without
        PTB's `RequestData` around the parameters (the bot's replies, bot/channels/telegram.py's `UnreadAnswers`)."""
        if self._session is None or self._session.closed or self._slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        body = json.dumps(parameters, ensure_ascii=False, separators=(",", ":")).encode()
        return await self._exchange("POST", url, body, _JSON_HEADERS, read=self._read_timeout,
                                    write=self._write_timeout, connect=self._connect_timeout, pool=self._pool_timeout)

    async def _exchange(
        self, method: str, url: str, body: bytes | aiohttp.MultipartWriter | None, headers: dict[str, str] | None, *,
        read: float | None, write: float | None, connect: float | None, pool: float | None,
    ) -> tuple[int, bytes]:
        session, slots = self._session, self._slots
        assert session is not None and slots is not None
        # From a free connection to the answer's headers: aiohttp bounds connecting and reading, this
        # also the sending, which aiohttp does not.
        limits = (connect, write, read)
        deadline = None if None in limits else sum(limits)  # type: ignore[arg-type]

        if slots.locked():
            try:
                async with asyncio.timeout(pool):
                    await slots.acquire()
            except TimeoutError as exc:
                raise TimedOut(
                    "Pool timeout: all connections in the connection pool are busy; the request was not sent"
                ) from exc
        else:
            await slots.acquire()
        try:
            async with asyncio.timeout(deadline):
                response = await session.request(
                    method, url, data=body, headers=headers, timeout=_client_timeout(read, connect),
                    allow_redirects=False,  # as httpx: the Bot API does not redirect
                )
            try:
                return response.status, await response.read()
            finally:
                response.release()
        except TimeoutError as exc:
            raise TimedOut(f"Timed out ({_describe(exc) or 'no answer within connect + write + read'})") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{_describe(exc)}") from exc
        finally:
            slots.release()


def _multipart(request_data: RequestData) -> aiohttp.MultipartWriter:
    """The parameters as form fields (nested ones JSON-encoded, as PTB does) plus the files.

    Names go as browsers and httpx write them, UTF-8 in quotes, not percent-encoded as aiohttp's
    FormData would: Telegram shows a document's file name as it finds it there.
    """
    form = aiohttp.MultipartWriter("form-data")
    for name, value in request_data.json_parameters.items():
        form.append(value, {"Content-Disposition": f'form-data; name="{_form_quote(name)}"'})
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        disposition = f'form-data; name="{_form_quote(name)}"; filename="{_form_quote(filename)}"'
        form.append(content, {"Content-Disposition": disposition, "Content-Type": mime_type})
    return form


_FORM_SPECIALS: Final = re.compile(r'["\\\x00-\x1f]')


def _form_quote(value: str) -> str:
    """A form-data name or file name for inside double quotes, escaped as httpx did it: `"` and
    control characters percent-encoded, a backslash doubled; everything else as it is (UTF-8)."""
    return _FORM_SPECIALS.sub(lambda m: "\\\\" if m.group() == "\\" else f"%{ord(m.group()):02X}", value)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if type(exc) is TimeoutError and not text:
        return ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
