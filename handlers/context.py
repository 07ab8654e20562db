"""What a handler gets for one message: the services, the database session, the chat's state, the translator."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from catalog import events as event_log
from catalog.db import orm_session
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
    from catalog.db import Database, Turn


@dataclass
class Services:
    """Long-lived, one per process, passed to every message."""

    db: Database
    settings: Settings
    catalog: LiveCatalog = field(default_factory=LiveCatalog)
    # Called after a transaction that queued outbox messages commits (wakes the delivery worker at once).
    on_outbox: Callable[[], None] | None = None
    # Demand-insight events waiting to be written in a batch (catalog/events.py).
    events: event_log.EventBuffer = field(init=False)
    # channel → how to fetch a file a user sent (SharedDocument.file_id) as bytes; set by the channel adapters.
    files: dict[str, Callable[[str], Awaitable[bytes]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        secret = self.settings.events_secret
        if secret is None or not secret.get_secret_value():
            # Unique chats are then counted per process run; `ocop-bot run` says so at start.
            key = secrets.token_bytes(32)
        else:
            key = secret.get_secret_value().encode()
        self.events = event_log.EventBuffer(self.db, key, interval=self.settings.events_flush_seconds,
                                         retention_months=self.settings.events_retention_months)


@dataclass
class Context:
    """One message's world. Everything written through `session`, and the changes to `chat`, commit
    together after the handler."""

    services: Services
    turn: AsyncSession | Turn  # the message's transaction (`catalog.db.Turn`: its ORM session opened when first asked)
    chat: ChatState
    incoming: Incoming
    t: Translator
    memory: ChatMemory = field(init=False)
    # Set when this message's answer shows (or keeps) a numbered list; otherwise the list is forgotten, so a
    # typed number never opens an item of a list that is no longer on screen.
    list_on_screen: bool = field(default=False, init=False)
    _searches: dict[tuple[str, int], SearchAnswer] = field(default_factory=dict, init=False, repr=False)
    _asked: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # text searched → words asked
    # What this message did, for the demand insight (the router adds who, where and when, then buffers them).
    events: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)

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
    def session(self) -> AsyncSession:
        """The message's ORM session (on a SQLite file opened by this first use: `catalog.db.Turn`)."""
        return orm_session(self.turn)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def language(self) -> str:
        return self.t.language

    async def catalog(self) -> Catalog:
        """The catalogue snapshot (products, stores, listings, contacts, search index); no query per read (nor an
        ORM session opened for it: only when its version is due to be checked again)."""
        live = self.services.catalog
        fresh = live.fresh()
        return fresh if fresh is not None else await live.get(self.session)

    async def search(self, text: str, limit: int, asked: str | None = None) -> SearchAnswer:
        """The catalogue search, done once per message for the same words. `asked`: what the buyer asked for,
        when the text searched holds the question around it too ("mật ong" of "mật ong bán ở đâu"), for the
        demand insight."""
        key = (text, limit)
        if asked is not None:
            self._asked.setdefault(text, asked)
        answer = self._searches.get(key)
        if answer is None:
            answer = self._searches[key] = (await self.catalog()).index.cached_search(text, limit=limit)
        return answer

    def searches(self) -> list[tuple[str, SearchAnswer]]:
        """The searches this message made, first first (each text once)."""
        seen: dict[str, SearchAnswer] = {}
        for (text, _limit), answer in self._searches.items():
            seen.setdefault(self._asked.get(text, text), answer)
        return list(seen.items())

    def record(self, kind: str, **fields: Any) -> None:
        """Note an event of this message (a card shown, an enquiry confirmed) for the demand insight."""
        self.events.append(event_log.row(kind, **fields))

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
