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
    """The chat as it was when the message arrived."""

    form: EnquiryForm | None


def before(ctx: Context) -> Before:
    return Before(EnquiryForm.from_json(ctx.chat.form))


def is_forget(ctx: Context) -> bool:
    """The buyer confirmed /forget: the chat's events are cut loose and this message records nothing."""
    data = Enquiry.unpack(ctx.incoming.payload or "")
    return data is not None and data.action == "forget"


def after(ctx: Context, was: Before) -> list[dict[str, Any]]:
    """Every event of this message, with the chat's key, channel, language and time filled in."""
    found = list(ctx.events)
    form_open = was.form is not None and not was.form.paused
    for text, answer in ctx.searches()[:1]:
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
    if now is not None and (was.form is None or was.form.started != now.started):
        first = next((p.get("slug", "") for p in now.data.products if p.get("slug")), "")
        found.append(events.row(events.FORM_START, product=first or ctx.memory.product or "", step=now.step))
    confirmed = any(e["kind"] == events.LEAD_CONFIRMED for e in found)
    if was.form is not None and (now is None or was.form.started != now.started) and not confirmed:
        slugs = [p.get("slug", "") for p in was.form.data.products if p.get("slug")]
        found.append(events.row(events.FORM_ABANDONED, step=was.form.step, products=slugs))
    if not found:
        return found
    incoming = ctx.incoming
    at = utcnow()  # one time for the message's events: their order is the order of the list
    key = ctx.services.events.key(incoming.channel, incoming.chat_id, at)
    for event in found:
        event.update(at=at, chat_key=key, channel=incoming.channel, language=ctx.language)
    return found
