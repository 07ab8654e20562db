"""Routes one `Incoming` to the first feature that takes it, inside one database transaction."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType

from catalog.sessions import load_chat, save_chat
from handlers.context import Context, Services
from handlers.messages import Incoming, Reply
from locales import normalise_language, translator

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[list[Reply] | None]]

# One module per feature, asked in this order; each has `async def handle(ctx) -> list[Reply] | None`
# and returns None for messages that are not its business. The catch-all product search is last.
FEATURES = (
    "handlers.staff",
    "handlers.enquiry",
    "handlers.language",
    "handlers.menu",
    "handlers.browse",
    "handlers.stores",
    "handlers.contacts",
    "handlers.products",
)


def _load_features() -> list[Handler]:
    handlers: list[Handler] = []
    for name in FEATURES:
        try:
            module: ModuleType = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a feature not built yet
        handlers.append(module.handle)
    return handlers


class Router:
    """Channel-neutral entry point: `await router.handle(incoming)` → replies to send back."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.features = _load_features()

    def pick_language(self, stored: str | None, incoming: Incoming) -> str:
        from handlers.language import detect_language

        detected = detect_language(incoming.text or "") if incoming.text and not incoming.is_command else None
        if detected and detected != stored:
            return detected  # a message clearly in the other language is answered in it
        return stored or normalise_language(incoming.language_hint) or self.services.settings.default_language

    async def handle(self, incoming: Incoming) -> list[Reply]:
        try:
            async with self.services.db.session() as session:
                chat = await load_chat(session, incoming.channel, incoming.chat_id, incoming.user_id)
                ctx = Context(
                    self.services, session, chat, incoming, translator(self.pick_language(chat.language, incoming))
                )
                replies: list[Reply] = []
                for feature in self.features:
                    answer = await feature(ctx)
                    if answer is not None:
                        replies = answer
                        break
                await save_chat(session, ctx.chat)
                return replies
        except Exception:
            # The transaction is rolled back: nothing half-done is stored. The user gets a polite answer.
            log.exception("handler failed for %s chat %s", incoming.channel, incoming.chat_id)
            t = translator(normalise_language(incoming.language_hint) or self.services.settings.default_language)
            return [Reply(t._("Sorry, something went wrong on our side. Please try again in a moment."))]
