"""A PostgreSQL wire counter: a local TCP proxy in front of the server that counts the client's round trips and the
statements it has the server parse, whichever driver or layer sent them (SQLAlchemy, asyncpg directly).

A round trip is a burst of the client's bytes sent after the server last answered: the client then waits for the
server (a pipelined batch, such as Parse/Bind/Execute/Sync or a simple query of several statements, is one). Messages
are read from the client's stream after the start-up (length-prefixed, a type byte first): `Q` a simple query, `P` a
statement parsed (prepared), `B` one bound to run, `S` a sync (the end of an extended query); `executed` lists the
text of every statement run (prepared statements known by their names; with several connections a name may be
reused, so run one connection at a time when the texts matter). The connection must not use TLS (`ssl=False`,
as the proxy's URL below asks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url


@dataclass
class WireCounts:
    round_trips: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    executed: list[str] = field(default_factory=list)  # the text of every simple query and every statement bound, in order
    prepared: dict[str, str] = field(default_factory=dict)  # (per proxy) a prepared statement's name → its text

    def snapshot(self) -> tuple[int, Counter[str], int]:
        return self.round_trips, Counter(self.messages), len(self.executed)

    def since(self, snapshot: tuple[int, Counter[str], int]) -> tuple[int, Counter[str], list[str]]:
        """Round trips, messages and texts since `snapshot`."""
        trips, messages, executed = snapshot
        return self.round_trips - trips, self.messages - messages, self.executed[executed:]


class PgWireCounter:
    """`async with PgWireCounter(url) as counter:` — `counter.url` reaches the server through the proxy."""

    def __init__(self, url: str) -> None:
        self._target = make_url(url)
        self.counts = WireCounts()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def __aenter__(self) -> PgWireCounter:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        proxied = self._target.set(host="127.0.0.1", port=port).update_query_dict({"ssl": "disable"})
        self.url = proxied.render_as_string(hide_password=False)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(
            self._target.host or "127.0.0.1", self._target.port or 5432
        )
        answered = [True]  # the server has sent something since the client last did
        up = asyncio.ensure_future(self._client_to_server(client_reader, server_writer, answered))
        down = asyncio.ensure_future(self._server_to_client(server_reader, client_writer, answered))
        self._tasks |= {up, down}
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_writer, server_writer):
                with contextlib.suppress(Exception):
                    writer.close()

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answered: list[bool]
    ) -> None:
        buffer = b""
        started = False
        while True:
            data = await reader.read(65536)
            if not data:
                return
            if answered[0]:
                self.counts.round_trips += 1
                answered[0] = False
            writer.write(data)
            await writer.drain()
            buffer += data
            while True:
                if not started:  # the start-up message: a length, no type byte
                    if len(buffer) < 4:
                        break
                    length = int.from_bytes(buffer[:4], "big")
                    if len(buffer) < length:
                        break
                    buffer, started = buffer[length:], True
                    continue
                if len(buffer) < 5:
                    break
                length = int.from_bytes(buffer[1:5], "big")
                if len(buffer) < 1 + length:
                    break
                kind, body = chr(buffer[0]), buffer[5:1 + length]
                buffer = buffer[1 + length:]
                self.counts.messages[kind] += 1
                if kind == "Q":
                    self.counts.executed.append(body.rstrip(b"\0").decode(errors="replace"))
                elif kind == "P":  # the statement's name, then its text
                    name_end = body.index(b"\0")
                    text_end = body.index(b"\0", name_end + 1)
                    name = body[:name_end].decode(errors="replace")
                    self.counts.prepared[name] = body[name_end + 1:text_end].decode(errors="replace")
                elif kind == "B":  # the portal's name, then the statement's
                    portal_end = body.index(b"\0")
                    name = body[portal_end + 1:body.index(b"\0", portal_end + 1)].decode(errors="replace")
                    self.counts.executed.append(self.counts.prepared.get(name, "?"))

    async def _server_to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answered: list[bool]
    ) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            answered[0] = True
            writer.write(data)
            await writer.drain()
