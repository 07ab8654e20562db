"""The terminal channel: `ocop-bot chat` runs the same conversations as Telegram on the local database.

Buttons are shown as numbered choices; typing the number taps the button. A location is typed as
`lat,lon`. With standard input not a terminal, every input line is one message and only the replies are
written to standard output, so a conversation can be scripted:

    printf '/start\\nmỳ chũ\\n1\\n' | ocop-bot chat
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.database import open_database
from catalog.sessions import load_chat, save_chat
from handlers.context import Services
from handlers.messages import Button, Incoming, Location, Reply, SharedContact, to_plain
from handlers.router import Router
from locales import translator

CHANNEL = "console"
QUIT = ("/quit", "/exit", "/q")
_POINT = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,;]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")

EXAMPLE_POINT = "21.27,106.19"


def banner(language: str) -> str:
    t = translator(language)
    return t._("OCOP Bot — terminal chat. Type a question or the number of a choice; type a location as "
               "lat,lon (e.g. {example}); /quit or Ctrl-D to leave.", example=EXAMPLE_POINT)


def share_hint(kind: str, language: str) -> str:
    """How to 'press' a share-location or share-contact button when there is no such button."""
    t = translator(language)
    if kind == "location":
        return t._("Type your location as lat,lon, for example {example}", example=EXAMPLE_POINT)
    return t._("Type your phone number")


@dataclass
class ConsoleChat:
    """One terminal user talking to the router; remembers the choices on screen so a number can tap one."""

    router: Router
    chat_id: str
    display_name: str = ""
    language_hint: str | None = None
    choices: list[Button] = field(default_factory=list)
    waiting_for: str | None = None  # "location" or "contact" after the user picked a share button
    language: str = "vi"

    def incoming(self, **kw: object) -> Incoming:
        return Incoming(channel=CHANNEL, chat_id=self.chat_id, user_id=self.chat_id,
                        display_name=self.display_name, language_hint=self.language_hint, **kw)  # type: ignore[arg-type]

    def hint(self, kind: str) -> str:
        return share_hint(kind, self.language)

    async def submit(self, line: str) -> list[Reply] | str:
        """Turn one typed line into a message (text, a tapped button, a location, a contact) and answer it.

        Returns the replies, or a one-line hint when the line only picked a share button.
        """
        text = line.rstrip("\r\n")
        if self.waiting_for == "contact" and text.strip():
            self.waiting_for = None
            return await self.router.handle(self.incoming(contact=SharedContact(text.strip(), self.display_name,
                                                                                self.chat_id)))
        point = _POINT.match(text)
        if point:
            self.waiting_for = None
            lat, lon = float(point.group(1)), float(point.group(2))
            return await self.router.handle(self.incoming(location=Location(lat, lon)))
        if self.waiting_for == "location" and text.strip():
            self.waiting_for = None  # not a lat,lon: an ordinary message after all
        stripped = text.strip()
        if stripped.isdecimal() and 1 <= int(stripped) <= len(self.choices):
            button = self.choices[int(stripped) - 1]
            if button.kind in ("location", "contact"):
                self.waiting_for = button.kind
                return self.hint(button.kind)
            return await self.router.handle(self.incoming(payload=button.payload, message_id="console"))
        return await self.router.handle(self.incoming(text=text))

    def render(self, replies: list[Reply]) -> str:
        """Replies as plain text, links spelled out, buttons numbered; remembers the numbers for the next line."""
        self.choices = []
        blocks: list[str] = []
        for reply in replies:
            lines: list[str] = []
            if reply.image:  # a terminal shows no pictures: where the photo is
                lines.append(f"🖼 {reply.image}")
            if reply.text:
                lines.append(to_plain(reply.text))
            if reply.venue is not None:
                v = reply.venue
                lines.append(f"📍 {v.title} — {v.address} "
                             f"(https://www.google.com/maps/search/?api=1&query={v.latitude},{v.longitude})")
            if reply.document is not None:
                path = Path(tempfile.gettempdir()) / Path(reply.document.filename).name
                path.write_bytes(reply.document.data)
                lines.append(f"📎 {reply.document.filename} ({len(reply.document.data)} bytes): {path}")
            for row in [*reply.buttons, *reply.keyboard]:
                for button in row:
                    if button.kind == "url":
                        lines.append(f"  ↗ {button.label.removeprefix('↗ ')}: {button.url}")  # one arrow
                        continue
                    self.choices.append(button)
                    label = button.label
                    if button.kind in ("location", "contact"):
                        label += f" — {self.hint(button.kind)}"
                    lines.append(f"  [{len(self.choices)}] {label}")
            if lines:
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


async def _set_language(router: Router, chat_id: str, language: str) -> None:
    """`--lang`: store the choice as if the user had picked it, so it is remembered like any other."""
    async with router.services.db.session() as session:
        chat = await load_chat(session, CHANNEL, chat_id, chat_id)
        chat.language = language
        await save_chat(session, chat)


async def _stored_language(router: Router, chat_id: str, fallback: str) -> str:
    async with router.services.db.session() as session:
        chat = await load_chat(session, CHANNEL, chat_id, chat_id)
        return chat.language or fallback


def _utf8(stream: TextIO) -> None:
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", errors="replace")


async def _read_line(prompt: str, interactive: bool) -> str | None:
    if interactive:
        try:
            return await asyncio.to_thread(input, prompt)
        except EOFError:
            return None
    line = await asyncio.to_thread(sys.stdin.readline)
    return line if line else None


async def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """`ocop-bot chat [--lang vi|en]`: talk to the bot in this terminal, or script it through a pipe."""
    _utf8(sys.stdout)
    _utf8(sys.stdin)
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
    lang = getattr(args, "lang", None)
    db = await open_database(settings)
    services = Services(db, settings)
    try:
        router = Router(services)
        user = _local_user()
        chat = ConsoleChat(router, chat_id=f"local:{user}"[:64], language_hint=lang)
        if lang:
            await _set_language(router, chat.chat_id, lang)
        chat.language = await _stored_language(router, chat.chat_id, settings.default_language)
        if settings.staff_chat_id is None:
            print("ocop-bot: warning: OCOP_STAFF_CHAT_ID is not set: enquiries made here are recorded but reach "
                  "no staff chat (the buyer is told so); see README \"Setting up the desk\"", file=sys.stderr)
        if interactive:
            print(banner(chat.language))
            print(chat.render(await router.handle(chat.incoming(text="/start"))), flush=True)
        while True:
            line = await _read_line("\n› " if interactive else "", interactive)
            if line is None:
                break
            if line.strip().lower() in QUIT:
                break
            if not line.strip():
                continue
            answer = await chat.submit(line)
            chat.language = translator(await _stored_language(router, chat.chat_id, chat.language)).language
            output = answer if isinstance(answer, str) else chat.render(answer)
            if output:
                print(output, flush=True)
            if not interactive:
                print(flush=True)  # a blank line between answers keeps a scripted transcript readable
    except KeyboardInterrupt:
        pass
    finally:
        await services.events.stop()  # the chat's demand-insight events, written in one batch
        await db.dispose()
    if interactive:
        print()
    return 0


def _local_user() -> str:
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "local"
