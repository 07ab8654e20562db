"""What a handler gets for one message: the services, the database session, the chat's state, the translator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from catalog.search import SearchAnswer
from catalog.sessions import ChatState
from catalog.snapshot import Catalog, LiveCatalog
from handlers import intent
from handlers.messages import Incoming
from handlers.state import ChatMemory
from locales import Translator, translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from catalog.db import Database


@dataclass
class Services:
    """Long-lived, one per process, passed to every message."""

    db: Database
    settings: Settings
    catalog: LiveCatalog = field(default_factory=LiveCatalog)
    # Called after a transaction that queued outbox messages commits (wakes the delivery worker at once).
    on_outbox: Callable[[], None] | None = None


@dataclass
class Context:
    """One message's world. Everything written through `session`, and the changes to `chat`, commit
    together after the handler."""

    services: Services
    session: AsyncSession
    chat: ChatState
    incoming: Incoming
    t: Translator
    memory: ChatMemory = field(init=False)
    # Set when this message's answer shows (or keeps) a numbered list; otherwise the list is forgotten, so a
    # typed number never opens an item of a list that is no longer on screen.
    list_on_screen: bool = field(default=False, init=False)
    _searches: dict[tuple[str, int], SearchAnswer] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.memory = ChatMemory.from_json(self.chat.state, self.chat.last_results)

    @cached_property
    def intent(self) -> intent.Intent:
        """What the typed text asks for, read once per message (an empty PRODUCT for anything else)."""
        text = self.incoming.text
        if not text or self.incoming.is_command:
            return intent.Intent(intent.PRODUCT, "")
        return intent.parse(text)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def language(self) -> str:
        return self.t.language

    async def catalog(self) -> Catalog:
        """The catalogue snapshot (products, stores, listings, contacts, search index); no query per read."""
        return await self.services.catalog.get(self.session)

    async def search(self, text: str, limit: int) -> SearchAnswer:
        """The catalogue search, done once per message for the same words."""
        key = (text, limit)
        answer = self._searches.get(key)
        if answer is None:
            answer = self._searches[key] = (await self.catalog()).index.search(text, limit=limit)
        return answer

    def set_language(self, language: str) -> None:
        """Remember the user's choice and answer in it from now on."""
        self.chat.language = language
        self.t = translator(language)

    def remember_results(self, slugs: list[str]) -> None:
        """The list the user can now refer to as 'the second one' or tap."""
        self.memory.shown = list(slugs)
        self.list_on_screen = True

    def keep_list(self) -> None:
        """The list on screen stays the one numbers refer to (a product was picked from it)."""
        self.list_on_screen = True

    def store_memory(self) -> None:
        """Write the memory back into the chat's row (saved with the message's transaction)."""
        if not self.list_on_screen:
            self.memory.shown = []
        self.chat.state = self.memory.to_json()
        self.chat.last_results = list(self.memory.shown)
