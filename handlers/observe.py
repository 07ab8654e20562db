"""What one message did, read by the router around dispatch, as demand-insight events (catalog/events.py).

The router looks before and after each message: the searches it made (`ctx.searches()`), whether a form
appeared or went away without a lead. The few things only a handler knows (a card, where-to-buy or contacts
shown for a product; an enquiry confirmed) are one `ctx.record(...)` line where they happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog import events
from catalog.models import utcnow
from handlers import intent
from handlers.payloads import Enquiry
from handlers.state import EnquiryForm

if TYPE_CHECKING:
    from handlers.context import Context


@dataclass(frozen=True, slots=True)
class Before:
    """The chat as it was when the message arrived: its stored form (read only when it changed)."""

    form_json: Any

    @property
    def form(self) -> EnquiryForm | None:
        return EnquiryForm.from_json(self.form_json)


def before(ctx: Context) -> Before:
    form = ctx.chat.form
    return Before(dict(form) if isinstance(form, dict) else form)  # a copy: handlers may change it in place


def is_forget(ctx: Context) -> bool:
    """The buyer confirmed /forget: the chat's events are cut loose and this message records nothing."""
    data = Enquiry.unpack(ctx.incoming.payload or "")
    return data is not None and data.action == "forget"


def after(ctx: Context, was: Before) -> list[dict[str, Any]]:
    """Every event of this message, with the chat's key, channel, language and time filled in."""
    found = list(ctx.events)
    # A message that named nothing product-like ("có những sp gì", "ok shop") asks for no goods: it is no
    # demand, met or unmet, and is not recorded as a search.
    searched = [(text, answer) for text, answer in ctx.searches()[:1] if answer.results or answer.terms or answer.filters]
    if not searched and ctx.chat.form == was.form_json:
        if not found:
            return found  # most messages: nothing to record, nothing parsed
        return _stamp(ctx, found)
    previous = was.form
    form_open = previous is not None and not previous.paused
    for text, answer in searched:
        top = answer.results[0].doc.slug if answer.results else ""
        kind = "form" if form_open and ctx.intent.kind == intent.PRODUCT else ctx.intent.kind
        found.insert(
            0,
            events.row(
                events.SEARCH,
                query=events.clean_query(text),
                results=len(answer.results),
                product=top,
                step=kind,
            ),
        )
    now = EnquiryForm.from_json(ctx.chat.form)
    if now is not None and (previous is None or previous.started != now.started):
        first = next((p.get("slug", "") for p in now.data.products if p.get("slug")), "")
        found.append(events.row(events.FORM_START, product=first or ctx.memory.product or "", step=now.step))
    confirmed = any(e["kind"] == events.LEAD_CONFIRMED for e in found)
    if previous is not None and (now is None or previous.started != now.started) and not confirmed:
        slugs = [p.get("slug", "") for p in previous.data.products if p.get("slug")]
        found.append(events.row(events.FORM_ABANDONED, step=previous.step, products=slugs))
    return _stamp(ctx, found) if found else found


def _stamp(ctx: Context, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who (the chat's monthly key), where, in which language, when: the same for the message's events."""
    incoming = ctx.incoming
    at = utcnow()  # one time for the message's events: their order is the order of the list
    key = ctx.services.events.key(incoming.channel, incoming.chat_id, at)
    for event in found:
        event.update(at=at, chat_key=key, channel=incoming.channel, language=ctx.language)
    return found
