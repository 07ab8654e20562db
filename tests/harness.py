"""A test chat through the channel-neutral core: `await chat.send("mỳ chũ")`, `await chat.click("p:…")`."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from catalog.db import Database
from handlers.context import Services
from handlers.messages import Incoming, Location, Reply, SharedContact, to_plain
from handlers.router import Router


@dataclass
class ChatHarness:
    db: Database
    settings: Settings
    channel: str = "test"
    chat_id: str = "100"
    user_id: str = "100"
    language_hint: str | None = None
    display_name: str = "Test Buyer"
    router: Router = field(init=False)
    history: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.router = Router(Services(self.db, self.settings))

    def restart(self) -> None:
        """A new process on the same database: nothing survives but what was stored."""
        self.router = Router(Services(self.db, self.settings))

    def as_user(self, chat_id: str, user_id: str | None = None, **kw: object) -> ChatHarness:
        other = ChatHarness(self.db, self.settings, self.channel, chat_id, user_id or chat_id, **kw)  # type: ignore[arg-type]
        other.router = self.router
        return other

    async def _go(self, **kw: object) -> list[Reply]:
        incoming = Incoming(
            channel=self.channel, chat_id=self.chat_id, user_id=self.user_id,
            display_name=self.display_name, language_hint=self.language_hint, **kw,  # type: ignore[arg-type]
        )
        replies = await self.router.handle(incoming)
        self.history.extend(replies)
        return replies

    async def send(self, text: str) -> list[Reply]:
        return await self._go(text=text)

    async def click(self, payload: str, message_id: str | None = "1") -> list[Reply]:
        return await self._go(payload=payload, message_id=message_id)

    async def share_location(self, latitude: float, longitude: float) -> list[Reply]:
        return await self._go(location=Location(latitude, longitude))

    async def share_contact(self, phone: str, name: str = "") -> list[Reply]:
        return await self._go(contact=SharedContact(phone, name, self.user_id))

    @staticmethod
    def text(replies: list[Reply]) -> str:
        """All reply texts as plain text, for assertions."""
        return "\n".join(to_plain(r.text) for r in replies)

    @staticmethod
    def payloads(replies: list[Reply]) -> list[str]:
        return [b.payload for r in replies for row in r.buttons for b in row if b.payload]
