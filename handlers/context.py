"""What a handler gets for one message: the services, the database session, the chat's state, the translator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from catalog.sessions import ChatState
from catalog.snapshot import Catalog, LiveCatalog
from handlers.messages import Incoming
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

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def language(self) -> str:
        return self.t.language

    async def catalog(self) -> Catalog:
        """The catalogue snapshot (products, stores, listings, contacts, search index); no query per read."""
        return await self.services.catalog.get(self.session)

    def set_language(self, language: str) -> None:
        """Remember the user's choice and answer in it from now on."""
        self.chat.language = language
        self.t = translator(language)

    def remember_results(self, slugs: list[str]) -> None:
        """The list the user can now refer to as 'the second one' or tap."""
        self.chat.last_results = list(slugs)

    def state_get(self, key: str, default: Any = None) -> Any:
        return (self.chat.state or {}).get(key, default)

    def state_set(self, key: str, value: Any) -> None:
        # Reassign so SQLAlchemy sees the JSON column change.
        self.chat.state = {**(self.chat.state or {}), key: value}
