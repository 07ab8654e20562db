"""The trade department's desk: lead cards and their buttons, /leads, /lead, /reply, /export and /stats (staff only).

A card moves through these states; every change is a LeadEvent, the card is edited to show it, and the buyer
hears (through the outbox) when someone takes the enquiry up and when it is closed — never about spam:

```mermaid
stateDiagram-v2
    [*] --> new: buyer confirms
    new --> claimed: Claim
    new --> contacted: Contacted
    claimed --> contacted: Contacted
    new --> won
    claimed --> won
    contacted --> won: Won
    new --> lost
    claimed --> lost
    contacted --> lost: Lost
    new --> spam
    claimed --> spam
    contacted --> spam: Spam
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from catalog import desk
from catalog import leads as lead_book
from catalog.leads import ACTIONS, CLOSED_STATUSES, STATUS_LABELS, TransitionRefused
from catalog.models import Lead, LeadEvent, utcnow
from catalog.text import clean
from catalog.validation import display_phone
from handlers.context import Context
from handlers.department import department
from handlers.messages import Button, Document, Reply, h, reply_to_json
from handlers.payloads import LeadAction
from locales import N_, Translator, translator

if TYPE_CHECKING:
    from bot.config import Settings

STAFF_CHANNEL = "telegram"  # OCOP_STAFF_USER_IDS are Telegram user ids
STAFF_COMMANDS = ("/leads", "/lead", "/reply", "/export", "/stats")
LIST_LIMIT = 20
HISTORY_LINES = 5

ACTION_LABELS = {
    "claim": N_("🙋 Claim"),
    "contacted": N_("📞 Contacted"),
    "won": N_("✅ Won"),
    "lost": N_("❌ Lost"),
    "spam": N_("🚫 Spam"),
}
STATUS_ICONS = {"new": "🆕", "claimed": "🙋", "contacted": "📞", "won": "✅", "lost": "❌", "spam": "🚫"}
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": N_("terminal")}
LANGUAGE_NAMES = {"vi": N_("Vietnamese"), "en": N_("English")}
EVENT_LABELS = {
    "created": N_("received"),
    "claim": N_("claimed"),
    "contacted": N_("marked contacted"),
    "won": N_("marked won"),
    "lost": N_("marked lost"),
    "spam": N_("marked spam"),
    "reply": N_("replied to the buyer"),
    "note": N_("added a private note"),
    "assign": N_("assigned the lead"),
    "tag": N_("changed the tags"),
    "unreachable": N_("could not deliver a message to the buyer"),
}


def is_staff(ctx: Context) -> bool:
    """Only Telegram users listed in OCOP_STAFF_USER_IDS (a Zalo or terminal user with the same number is not),
    and only in the staff chat or their own private chat with the bot: in any other group, what a staff
    command shows (names, phones, the CSV of every lead) would reach people who must not see it."""
    incoming = ctx.incoming
    if incoming.channel != STAFF_CHANNEL or not ctx.settings.is_staff(incoming.user_id):
        return False
    staff_chat = ctx.settings.staff_chat_id
    return incoming.chat_id == incoming.user_id or (staff_chat is not None and incoming.chat_id == str(staff_chat))


async def staff_here(ctx: Context) -> bool:
    """`is_staff`, or a staff member in a chat that a routing rule sends lead cards to (catalog/desk.py)."""
    if is_staff(ctx):
        return True
    incoming = ctx.incoming
    if incoming.channel != STAFF_CHANNEL or not ctx.settings.is_staff(incoming.user_id):
        return False
    return await desk.is_routed_chat(ctx.session, incoming.chat_id)


def staff_translator(ctx: Context) -> Translator:
    """Cards and staff replies are in OCOP_STAFF_LANGUAGE."""
    return translator(ctx.settings.staff_language)


def actor_name(ctx: Context) -> str:
    """Who pressed or typed, as recorded on the lead."""
    return clean(ctx.incoming.display_name)[:200] or ctx.incoming.user_id


# --- the card


def card_buttons(lead: Lead, t: Translator) -> list[list[Button]]:
    """The actions that fit the lead's status; a closed lead has none."""
    if lead.status in CLOSED_STATUSES or not lead.ref:
        return []
    usable = [a for a, (_, allowed) in ACTIONS.items() if lead.status in allowed]
    first = [Button(t._(ACTION_LABELS[a]), f"lead:{a}:{lead.ref}") for a in usable if a in ("claim", "contacted")]
    second = [Button(t._(ACTION_LABELS[a]), f"lead:{a}:{lead.ref}") for a in usable if a in ("won", "lost", "spam")]
    return [row for row in (first, second) if row]


def _line(t: Translator, label: str, value: str) -> str:
    if value:
        return f"{h(label)}: {h(value)}"
    missing = t._("not given")
    return f"{h(label)}: <i>{h(missing)}</i>"


def card_text(lead: Lead, t: Translator, events: list[LeadEvent] | None = None) -> str:
    """The lead card in the staff's language: every field escaped, erased fields marked as such."""
    erased = lead.anonymised_at is not None
    products = [lead_book.product_label(p, t.language) for p in lead.products or []]
    lines = [
        "📦 " + t._("<b>Wholesale enquiry {ref}</b>", ref=h(lead.ref or "")),
        STATUS_ICONS.get(lead.status, "") + " " + t._("Status: {status}", status=h(lead_book.status_label(lead.status, t)))
        + (" · " + t._("handled by {name}", name=h(lead.claimed_by)) if lead.claimed_by else ""),
        "",
        _line(t, t._("Products"), "; ".join(products)),
        _line(t, t._("Quantity"), lead_book.format_quantity(lead.quantity, t)),
        _line(t, t._("Delivery place"), lead.delivery_place),
        _line(t, t._("Time frame"), lead_book.time_frame_label(lead.time_frame, t)),
    ]
    if erased:
        lines.append("<i>" + h(t._("The buyer's name and contact details were erased at their request.")) + "</i>")
    else:
        lines += [
            _line(t, t._("Buyer"), lead.buyer_name),
            _line(t, t._("Organisation"), lead.organisation),
            _line(t, t._("Phone"), display_phone(lead.phone) if lead.phone else ""),
            _line(t, t._("E-mail"), lead.email),
            _line(t, t._("Notes"), lead.notes),
        ]
    channel = CHANNEL_NAMES.get(lead.channel, lead.channel)
    language = LANGUAGE_NAMES.get(lead.language, lead.language)
    lines += [
        _line(t, t._("Channel"), f"{t._(channel)} · {t._(language)}"),
        _line(t, t._("Received"), t.datetime(lead.created_at)),
    ]
    shown = [e for e in events or [] if e.action != "created"][-HISTORY_LINES:]
    if shown:
        lines += ["", "<b>" + h(t._("History")) + "</b>"]
        for logged in shown:
            what = t._(EVENT_LABELS.get(logged.action, logged.action))
            who = logged.actor_name or logged.actor_id
            lines.append("• " + h(t._("{when}: {who} {what}", when=t.datetime(logged.created_at), who=who, what=what)))
    return "\n".join(lines)


def card_reply(lead: Lead, t: Translator, events: list[LeadEvent] | None = None, *, edit: bool = False,
               notice: str = "") -> Reply:
    return Reply(card_text(lead, t, events), card_buttons(lead, t), edit=edit, notice=notice)


async def staff_card(ctx: Context, lead: Lead, **kw: object) -> Reply:
    """The card with its history, in the staff language."""
    return card_reply(lead, staff_translator(ctx), await lead_book.lead_events(ctx.session, lead), **kw)  # type: ignore[arg-type]


# --- buyer notices


def buyer_notice_text(lead: Lead, kind: str) -> str:
    """What the buyer is told, in the language they used for the enquiry."""
    t = translator(lead.language)
    if kind == "claimed":
        return t._("Good news: the trade department has taken up your wholesale enquiry <b>{ref}</b>. "
                   "A member of staff will contact you soon.", ref=h(lead.ref))
    return t._("Your wholesale enquiry <b>{ref}</b> has been closed by the trade department. "
               "Thank you for your interest in Bắc Giang OCOP products!", ref=h(lead.ref))


def queue_to_buyer(ctx: Context, lead: Lead, kind: str, text: str) -> bool:
    """Queue a message to the buyer's chat (survives restarts; works for Zalo buyers too). False if erased."""
    return enqueue_to_buyer(ctx.session, lead, kind, text, ctx.services.on_outbox)


def enqueue_to_buyer(session: AsyncSession, lead: Lead, kind: str, text: str,
                     notify: Callable[[], None] | None = None) -> bool:
    """`queue_to_buyer` for callers without a chat context (the web console)."""
    if not lead.chat_id:
        return False
    lead_book.enqueue(session, kind=kind, channel=lead.channel, chat_id=lead.chat_id,
                      payload=reply_to_json(Reply(text)), lead_id=lead.id, notify=notify)
    return True


def queue_status_notice(session: AsyncSession, lead: Lead, was: str, notify: Callable[[], None] | None) -> None:
    """After a status change: the buyer hears when the enquiry is taken up and when it is closed (not spam)."""
    if lead.status in ("claimed", "contacted") and was == "new":
        enqueue_to_buyer(session, lead, lead_book.KIND_BUYER_NOTICE, buyer_notice_text(lead, "claimed"), notify)
    elif lead.status in ("won", "lost"):
        enqueue_to_buyer(session, lead, lead_book.KIND_BUYER_NOTICE, buyer_notice_text(lead, "closed"), notify)


def staff_reply_text(lead: Lead, text: str, settings: Settings | None) -> str:
    """A staff member's words as the buyer receives them, introduced in the buyer's language."""
    buyer_t = translator(lead.language)
    return buyer_t._("💬 Message from {department} about your enquiry <b>{ref}</b>:",
                     ref=h(lead.ref), department=department(buyer_t, settings)) + "\n\n" + h(text)


# --- button presses


def refusal(ctx: Context) -> str:
    return ctx.t._("Sorry, only trade-department staff can do that.")


async def on_button(ctx: Context, payload: str) -> list[Reply]:
    """`lead:<action>:<ref>` (claim, contacted, won, lost, spam) or `lead:view:<ref>`."""
    t = staff_translator(ctx)
    _, action, ref = (payload.split(":", 2) + ["", ""])[:3]
    lead = await lead_book.find_lead(ctx.session, ref)
    if lead is None:
        return [Reply(notice=t._("I cannot find lead {ref}.", ref=ref[:32]))]
    if action == "view":
        return [await staff_card(ctx, lead)]
    if action not in ACTIONS:
        return [Reply(notice=t._("That button is no longer valid."))]
    was = lead.status
    actor = await desk.telegram_actor(ctx.session, ctx.incoming.user_id, actor_name(ctx))
    try:
        await lead_book.change_status(ctx.session, lead, action, actor.actor_id, actor.name, actor.staff_id)
    except TransitionRefused as refused:
        return [await staff_card(ctx, refused.lead, edit=True, notice=_refused_notice(t, refused))]
    queue_status_notice(ctx.session, lead, was, ctx.services.on_outbox)
    notice = t._("{ref}: {old} → {new}", ref=lead.ref, old=lead_book.status_label(was, t),
                 new=lead_book.status_label(lead.status, t))
    return [await staff_card(ctx, lead, edit=True, notice=notice)]


def _refused_notice(t: Translator, refused: TransitionRefused) -> str:
    lead = refused.lead
    status = lead_book.status_label(lead.status, t)
    if refused.reason == "same":
        return t._("{ref} is already {status}.", ref=lead.ref, status=status)
    if refused.reason == "closed":
        return t._("{ref} is closed ({status}); nothing changed.", ref=lead.ref, status=status)
    if refused.reason == "changed":
        return t._("Someone changed {ref} a moment ago; here it is as it is now.", ref=lead.ref)
    return t._("{ref} is {status}; that step no longer applies.", ref=lead.ref, status=status)


# --- commands


async def cmd_leads(ctx: Context, rest: str) -> list[Reply]:
    """`/leads [status]`: the newest leads, with a button to open each."""
    t = staff_translator(ctx)
    status = rest.strip().lower() or None
    if status is not None and status not in STATUS_LABELS:
        return [Reply(h(t._("Unknown status “{status}”. Use one of: {statuses}.", status=status[:30],
                            statuses=", ".join(STATUS_LABELS))))]
    found = await lead_book.list_leads(ctx.session, status, LIST_LIMIT)
    total = await lead_book.count_leads(ctx.session, status)
    if not found:
        return [Reply(h(t._("No leads with status “{status}”.", status=lead_book.status_label(status, t))
                        if status else t._("No leads yet.")))]
    heading = (t._("Leads with status “{status}” ({shown} of {total}, newest first):",
                   status=lead_book.status_label(status, t), shown=len(found), total=total) if status
               else t._("Latest leads ({shown} of {total}, newest first):", shown=len(found), total=total))
    lines = ["<b>" + h(heading) + "</b>"]
    buttons: list[list[Button]] = []
    for lead in found:
        products = ", ".join(lead_book.product_label(p, t.language) for p in lead.products or [])
        who = lead.organisation or lead.buyer_name
        lines.append(
            f"{STATUS_ICONS.get(lead.status, '')} <code>{h(lead.ref)}</code> · {h(lead_book.status_label(lead.status, t))}"
            f" · {h(products[:60])} · {h(lead_book.format_quantity(lead.quantity, t))}"
            + (f" · {h(who[:40])}" if who else "")
        )
        if len(buttons) < 8 and lead.ref:
            buttons.append([Button(f"{lead.ref} · {products[:30]}", f"lead:view:{lead.ref}")])
    lines.append("")
    lines.append(h(t._("Open one with /lead REF, e.g. /lead {ref}", ref=found[0].ref)))
    return [Reply("\n".join(lines), buttons)]


async def cmd_lead(ctx: Context, rest: str) -> list[Reply]:
    """`/lead REF`: the card with its history and buttons."""
    t = staff_translator(ctx)
    if not rest.strip():
        return [Reply(h(t._("Which lead? Write /lead and its reference, e.g. /lead BG-2026-000042")))]
    lead = await lead_book.find_lead(ctx.session, rest.strip().split()[0])
    if lead is None:
        return [Reply(h(t._("I cannot find lead {ref}.", ref=rest.strip()[:32])))]
    return [await staff_card(ctx, lead)]


async def cmd_reply(ctx: Context, rest: str) -> list[Reply]:
    """`/reply REF text`: relayed to the buyer's chat through the outbox and logged on the lead."""
    t = staff_translator(ctx)
    ref, _, text = rest.strip().partition(" ")
    text = text.strip()
    if not ref or not text:
        return [Reply(h(t._("Write /reply, the lead's reference and your message, e.g. "
                            "/reply BG-2026-000042 Hello, we can supply 2 tonnes in June.")))]
    if len(text) > lead_book.MAX_STAFF_REPLY:
        return [Reply(h(t._("That message is too long ({length} characters); the most is {limit}.",
                            length=len(text), limit=lead_book.MAX_STAFF_REPLY)))]
    lead = await lead_book.find_lead(ctx.session, ref)
    if lead is None:
        return [Reply(h(t._("I cannot find lead {ref}.", ref=ref[:32])))]
    if not lead.chat_id:
        return [Reply(h(t._("The buyer of {ref} erased their details, so there is no chat to reply to.", ref=lead.ref)))]
    queue_to_buyer(ctx, lead, lead_book.KIND_STAFF_REPLY, staff_reply_text(lead, text, ctx.settings))
    actor = await desk.telegram_actor(ctx.session, ctx.incoming.user_id, actor_name(ctx))
    await lead_book.record_event(ctx.session, lead, "reply", actor.actor_id, actor.name, text, actor.staff_id)
    return [Reply(h(t._("Your message will be delivered to the buyer of {ref} in a moment.", ref=lead.ref)))]


async def cmd_export(ctx: Context, rest: str) -> list[Reply]:
    """`/export`: every lead as a CSV document."""
    t = staff_translator(ctx)
    found = await desk.export_rows(ctx.session, t)
    data = desk.rows_csv(found)
    stamp = utcnow().astimezone(lead_book.LOCAL_ZONE).strftime("%Y%m%d-%H%M")
    caption = t.n_("{n} lead", "{n} leads", len(found))
    return [Reply(document=Document(f"leads-{stamp}.csv", data, "text/csv", caption=caption))]


async def cmd_stats(ctx: Context, rest: str) -> list[Reply]:
    """Leads by status, by product and by ISO week."""
    t = staff_translator(ctx)
    stats = await lead_book.lead_stats(ctx.session)
    if not stats.total:
        return [Reply(h(t._("No leads yet.")))]
    lines = ["<b>" + h(t.n_("{n} lead in total", "{n} leads in total", stats.total)) + "</b>", "",
             "<b>" + h(t._("By status")) + "</b>"]
    lines += [f"{STATUS_ICONS.get(s, '')} {h(lead_book.status_label(s, t))}: {t.number(n)}"
              for s, n in stats.by_status.items()]
    lines += ["", "<b>" + h(t._("By product")) + "</b>"]
    lines += [f"• {h(lead_book.product_label(item, t.language))}: {t.number(n)}" for item, n in stats.by_product]
    lines += ["", "<b>" + h(t._("By week")) + "</b>"]
    lines += [f"• {h(week)}: {t.number(n)}" for week, n in stats.by_week]
    return [Reply("\n".join(lines))]


async def on_lead_button(ctx: Context, data: LeadAction) -> list[Reply]:
    """`lead:<action>:<ref>` on a card in the staff chat; anyone not on the staff list is refused."""
    if not await staff_here(ctx):
        return [Reply(notice=refusal(ctx))]
    return await on_button(ctx, data.pack())


def staff_only(command: Callable[[Context, str], Awaitable[list[Reply]]]) -> Callable[[Context, str], Awaitable[list[Reply]]]:
    """A staff command; anyone else gets a polite refusal and nothing changes."""

    async def guarded(ctx: Context, rest: str) -> list[Reply]:
        if not await staff_here(ctx):
            return [Reply(h(ctx.t._("Sorry, that command is only for trade-department staff.")))]
        return await command(ctx, rest)

    guarded.__doc__ = command.__doc__
    return guarded


on_leads = staff_only(cmd_leads)
on_lead = staff_only(cmd_lead)
on_reply = staff_only(cmd_reply)
on_export = staff_only(cmd_export)
on_stats = staff_only(cmd_stats)


def unreachable_notice(lead: Lead, staff_language: str) -> Reply:
    """For the staff chat: the buyer's channel refuses our messages now, so call them instead."""
    t = translator(staff_language)
    channel = t._(CHANNEL_NAMES.get(lead.channel, lead.channel))
    text = "📵 " + t._("{channel} refused our message to the buyer of <b>{ref}</b>: it delivers messages only within "
                      "7 days of the buyer's last message to us. Call the buyer instead: {phone}",
                      channel=h(channel), ref=h(lead.ref),
                      phone=h(display_phone(lead.phone) if lead.phone else t._("not given")))
    return Reply(text, [[Button(t._("Open the lead"), f"lead:view:{lead.ref}")]])


def anonymised_card_payload(lead: Lead, staff_language: str) -> dict[str, object]:
    """The card after erasure, for the stored outbox copies and the edit in the staff chat."""
    return reply_to_json(card_reply(lead, translator(staff_language)))

