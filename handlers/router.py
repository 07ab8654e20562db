"""Who answers what: the table of commands, buttons and intents, and the dispatch of one `Incoming` by it.

Every feature is imported here by name and each entry below points at the function that answers, so any
command, button or intent is one hop from this file. The message is read once (`ctx.intent`, and the
search behind it when one is needed) and everything happens in one database transaction.

An open wholesale form gets the first look at what is typed (`enquiry.first_look`) but keeps only an answer
that fits its question; anything else is answered from the table and the form waits, or (`/start`, the
menu) is left as a draft to resume.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from catalog.sessions import ChatCache, StaleChat, load_chat, save_chat
from handlers import (
    browse,
    catalog_upload,
    certificates,
    contacts,
    enquiry,
    intent,
    language,
    links,
    menu,
    observe,
    products,
    staff,
    stores,
)
from handlers.context import Context, Services
from handlers.messages import Incoming, Reply
from handlers.payloads import (
    Browse,
    CallbackData,
    CatalogUploadAction,
    ContactFor,
    Enquiry,
    Language,
    LeadAction,
    LinkTap,
    ListPage,
    Menu,
    MoreLike,
    ProductCard,
    StorePage,
    WhereToBuy,
    prefix_of,
)
from locales import normalise_language, translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from catalog.db import Turn

log = logging.getLogger(__name__)

Answer = Awaitable[list[Reply] | None]
CommandHandler = Callable[[Context, str], Answer]
IntentHandler = Callable[[Context, intent.Intent], Answer]
PlainHandler = Callable[[Context], Answer]
Finish = Callable[["AsyncSession | Turn", list[Reply]], Awaitable[None]]

# --- the table ------------------------------------------------------------------------------------------

COMMANDS: dict[str, CommandHandler] = {
    "/start": menu.on_start,
    "/menu": menu.on_start,
    "/help": menu.on_help, "/huongdan": menu.on_help, "/trogiup": menu.on_help,
    "/lang": language.on_command, "/language": language.on_command, "/ngonngu": language.on_command,
    "/browse": browse.on_browse, "/danhmuc": browse.on_browse,
    "/myenquiries": enquiry.on_my_enquiries, "/enquiries": enquiry.on_my_enquiries,
    "/yeucau": enquiry.on_my_enquiries,
    "/forget": enquiry.ask_forget, "/xoadulieu": enquiry.ask_forget,
    "/cancel": enquiry.on_cancel_command, "/huy": enquiry.on_cancel_command,
    "/back": enquiry.on_back_command, "/quaylai": enquiry.on_back_command,
    # trade-department staff only (others are refused politely)
    "/leads": staff.on_leads, "/lead": staff.on_lead, "/reply": staff.on_reply, "/export": staff.on_export,
    "/stats": staff.on_stats,
}

# Button payloads by their typed class (the prefix before the first ":").
BUTTONS: dict[type[CallbackData], Callable[[Context, Any], Answer]] = {
    ProductCard: products.on_product_button,  # p:<slug>
    MoreLike: products.on_more_button,  # more:<slug>
    ListPage: products.on_list_page,  # l:<page>
    WhereToBuy: stores.on_where_button,  # where:<slug>
    StorePage: stores.on_more_stores,  # ws:<page>
    ContactFor: contacts.on_contact_button,  # contact:<slug>
    Browse: browse.on_browse_button,  # b:menu, b:c:<group>:<page>, b:d:…, b:s:…, b:x:…
    Language: language.on_button,  # lang:vi, lang:en, lang:menu
    Enquiry: enquiry.on_button,  # enq:<action>[:<arg>]
    LeadAction: staff.on_lead_button,  # lead:<action>:<ref>
    CatalogUploadAction: catalog_upload.on_button,  # cu:apply|cancel|undo:… (a catalogue file in the staff chat)
    LinkTap: links.on_link_tap,  # go:<key>, a link button that reports its tap
}
BUTTON_PREFIXES = {cls.prefix: cls for cls in BUTTONS} | {Menu.prefix: Menu}

# `m:<item>`: the main menu's buttons and the explainers' buttons.
MENU_ITEMS: dict[str, PlainHandler] = {
    "start": menu.main_menu,
    "help": menu.help_text,
    "find": menu.prompt_find,
    "stars": menu.stars_meaning,
    "ocop": menu.what_is_ocop,
    "count": browse.on_count,
    "where": stores.on_all_stores,
    "near": stores.on_near,
    "contacts": contacts.on_all_contacts,
}


def _plain(handler: PlainHandler) -> IntentHandler:
    async def answer(ctx: Context, asked: intent.Intent) -> list[Reply] | None:
        return await handler(ctx)

    answer.__doc__ = handler.__doc__
    return answer


# What typed text asks for (handlers/intent.py) → who answers. PRODUCT, a catalogue search, is the catch-all.
INTENTS: dict[str, IntentHandler] = {
    intent.LANGUAGE: language.on_intent,
    intent.ORDINAL: products.on_ordinal,
    intent.GREETING: menu.on_greeting,
    intent.THANKS: _plain(menu.thanks),
    intent.HELP: _plain(menu.help_text),
    intent.BROWSE: browse.on_browse,
    intent.STARS: _plain(menu.stars_meaning),
    intent.WHAT_IS_OCOP: _plain(menu.what_is_ocop),
    intent.HOW_MANY: browse.on_how_many,
    intent.CERTIFICATE: certificates.on_certificate,
    intent.CONTACT: contacts.on_contact,
    intent.WHERE: stores.on_where,
    intent.PRODUCT: products.on_search,
}

# After a menu button ("Where to buy", "Contacts"), a bare product name asks that question about it.
MENU_WAITING: dict[str, IntentHandler] = {
    "where": stores.on_where,
    "contact": contacts.on_contact,
}
MENU_WAITING_KINDS = {"where": intent.WHERE, "contact": intent.CONTACT}

# While a form is open, these commands leave it (kept as a draft); the others are answered and the form waits.
LEAVING_COMMANDS = frozenset({"/start", "/menu"})
FORM_COMMANDS = frozenset({"/cancel", "/huy", "/back", "/quaylai", "/forget", "/xoadulieu"})


# --- dispatch -------------------------------------------------------------------------------------------

async def on_button(ctx: Context, payload: str) -> list[Reply]:
    cls = BUTTON_PREFIXES.get(prefix_of(payload))
    data = cls.unpack(payload) if cls is not None else None
    if isinstance(data, Menu):
        item = MENU_ITEMS.get(data.action)
        answer = await item(ctx) if item is not None and not data.arg else None
    elif data is not None:
        if isinstance(data, ProductCard | WhereToBuy | ContactFor) and data.slug in ctx.memory.shown:
            ctx.keep_list()  # an item tapped in the list: the list stays the one numbers refer to
        answer = await BUTTONS[type(data)](ctx, data)
    else:
        answer = None
    return answer if answer is not None else products.unknown_button(ctx)


async def on_command(ctx: Context) -> list[Reply]:
    command, rest = ctx.incoming.command()
    handler = COMMANDS.get(command)
    answer = await handler(ctx, rest) if handler is not None else None
    return answer if answer is not None else menu.unknown_command(ctx, command)


async def on_text(ctx: Context, menu_waiting: str | None) -> list[Reply]:
    asked = ctx.intent
    text = ctx.incoming.text or ""
    if asked.kind == intent.PRODUCT and menu_waiting in MENU_WAITING:
        return await MENU_WAITING[menu_waiting](ctx, intent.Intent(MENU_WAITING_KINDS[menu_waiting], asked.query))
    if asked.kind not in (intent.CONTACT, intent.LANGUAGE):
        wanted, rest = enquiry.is_trigger(text)
        if wanted and not enquiry.asks_question(ctx, text):  # "mua sỉ thì liên hệ ai?" is a question
            return await enquiry.on_wholesale_words(ctx, rest)
    answer = await INTENTS.get(asked.kind, products.on_search)(ctx, asked)
    return answer if answer is not None else products.not_understood(ctx)


async def dispatch(ctx: Context) -> list[Reply]:
    """The answer to one message, by the table; an open form first."""
    incoming = ctx.incoming
    menu_waiting, ctx.memory.menu = ctx.memory.menu, None  # a menu button waits for one message only
    expired = await enquiry.expire(ctx)
    if expired is not None:
        return expired
    form = enquiry.open_form(ctx)
    if incoming.payload:
        replies = await on_button(ctx, incoming.payload)
        if form is None or prefix_of(incoming.payload) in (Enquiry.prefix, LeadAction.prefix):
            return replies
        return await _while_form_waits(ctx, replies, leave=incoming.payload == "m:start")
    if incoming.is_command:
        command = incoming.command()[0]
        if form is not None and command in LEAVING_COMMANDS:
            enquiry.pause(ctx)
        replies = await on_command(ctx)
        if form is None or command in FORM_COMMANDS:
            return replies
        return await _while_form_waits(ctx, replies, leave=command in LEAVING_COMMANDS)
    if incoming.document is not None:  # a catalogue file from an admin in the staff chat; never a form's answer
        return await catalog_upload.on_document(ctx)
    if form is not None:
        turn = await enquiry.first_look(ctx, form)
        if not isinstance(turn, enquiry.Turn):
            return turn
        if turn is enquiry.Turn.LEAVE:
            enquiry.pause(ctx)
        replies = await (stores.on_location(ctx) if incoming.location is not None else on_text(ctx, None))
        return await _while_form_waits(ctx, replies, leave=turn is enquiry.Turn.LEAVE)
    if incoming.location is not None:
        return await stores.on_location(ctx)
    if incoming.contact is not None:
        return await products.on_shared_contact(ctx)
    return await on_text(ctx, menu_waiting)


async def _while_form_waits(ctx: Context, replies: list[Reply], *, leave: bool) -> list[Reply]:
    """Another answer given while a form was open: the form leaves a way back under it."""
    if leave:
        enquiry.pause(ctx)
    if any(r.edit for r in replies):
        return replies  # a page turned in place: the way back is already further up
    prompt = enquiry.waiting(ctx, left=leave)
    return replies + [prompt] if prompt is not None else replies


def chat_lock_key(channel: str, chat_id: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, the same in every process."""
    digest = hashlib.blake2b(f"{channel}:{chat_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_chat(session: AsyncSession, channel: str, chat_id: str) -> None:
    """On PostgreSQL, one message of a chat at a time across every process (webhooks behind a round-robin
    proxy): a transaction-level advisory lock, released by the commit. So a double-tapped Confirm reaching
    two processes makes one lead, and two quick answers cannot both edit the same form state. (On SQLite
    one process writes at a time already.)"""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": chat_lock_key(channel, chat_id)})


class Router:
    """Channel-neutral entry point: `await router.handle(incoming)` → replies to send back."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # Each chat's state as this process last committed it (catalog/sessions.py): a message starts from it,
        # without the chat's lock (PostgreSQL) or a read, and its write checks that nobody wrote since.
        self.chats = ChatCache()

    def pick_language(self, stored: str | None, incoming: Incoming) -> str:
        detected = (language.detect_language(incoming.text or "")
                    if incoming.text and not incoming.is_command else None)
        if detected and detected != stored:
            return detected  # a message clearly in the other language is answered in it
        return stored or normalise_language(incoming.language_hint) or self.services.settings.default_language

    async def handle(self, incoming: Incoming, *, finish: Finish | None = None) -> list[Reply]:
        """The replies to one message, its changes committed in one transaction.

        `finish(turn, replies)` runs inside that transaction (a `catalog.db.Turn`) (the durable inbox marks its entry handled
        there); with it, a failure is raised to the caller, who counts it, instead of answered with a sorry.
        """
        try:
            try:
                return await self._handle(incoming, finish, cached=self.chats is not None)
            except StaleChat:  # another process (or tool) wrote the chat meanwhile: again, from the row
                return await self._handle(incoming, finish, cached=False)
        except Exception:
            if finish is not None:
                raise
            # The transaction is rolled back: nothing half-done is stored. The user gets a polite answer.
            log.exception("handler failed for %s chat %s", incoming.channel, incoming.chat_id)
            t = translator(normalise_language(incoming.language_hint) or self.services.settings.default_language)
            return [Reply(t._("Sorry, something went wrong on our side. Please try again in a moment."))]

    async def _handle(self, incoming: Incoming, finish: Finish | None, *, cached: bool) -> list[Reply]:
        chats = self.chats
        postgres = self.services.db.dialect == "postgresql"
        try:
            # The message's transaction; on a SQLite file its ORM session is opened only if something asks (`Turn`).
            async with self.services.db.turn() as turn:
                chat = chats.load(incoming.channel, incoming.chat_id) if chats is not None and cached else None
                if chat is None:
                    await lock_chat(turn.session, incoming.channel, incoming.chat_id)
                    chat = await load_chat(turn.session, incoming.channel, incoming.chat_id, incoming.user_id)
                ctx = Context(
                    self.services, turn, chat, incoming, translator(self.pick_language(chat.language, incoming))
                )
                was = observe.before(ctx)
                replies = await dispatch(ctx)
                links.track(ctx, replies)  # link buttons report their taps (Telegram, Zalo, terminal)
                ctx.store_memory()
                await save_chat(turn, ctx.chat, lazy=postgres and finish is None)
                if observe.is_forget(ctx):
                    await self.services.events.forget_chat(turn.session, incoming.channel, incoming.chat_id)
                    noted = []
                else:
                    noted = observe.after(ctx, was)
                if finish is not None:
                    await finish(turn, replies)
        except BaseException:
            if chats is not None:
                chats.drop(incoming.channel, incoming.chat_id)
            raise
        if chats is not None:
            chats.keep(ctx.chat)
        self.services.events.add(noted)  # once committed; written in a batch later (catalog/events.py)
        return replies
