"""Wholesale leads: stored with their outbox entry in one transaction, worked by staff, erased on request, counted."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ErasedCount, Lead, LeadEvent, OutboxMessage, Product, utcnow
from catalog.rows import neutralise_formula
from catalog.validation import UNIT_WORDS, display_phone, quantity_from_canonical
from locales import N_, TIMEZONE, Translator, translator

LOCAL_ZONE = ZoneInfo(TIMEZONE)
REF_PREFIX = "BG"
_REF = re.compile(r"^\s*#?BG[-\s]?(\d{4})[-\s]?(\d{1,9})\s*$", re.I)

# Field limits (characters), kept in step with the columns in catalog/models.py.
MAX_QUANTITY = 100  # the column's width: each product's quantity joined must fit
QUANTITY_JOIN = "; "
MAX_PRODUCTS = 5
MAX_PRODUCT_TEXT = 120
MAX_PLACE = 300
MAX_TIME_FRAME = 200
MAX_NAME = 100
MAX_ORGANISATION = 200
MAX_NOTES = 1000
MAX_STAFF_REPLY = 2000

# Status changes staff can make from the card: action → (new status, statuses it may come from).
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "claim": ("claimed", frozenset({"new"})),
    "contacted": ("contacted", frozenset({"new", "claimed"})),
    "won": ("won", frozenset({"new", "claimed", "contacted"})),
    "lost": ("lost", frozenset({"new", "claimed", "contacted"})),
    "spam": ("spam", frozenset({"new", "claimed", "contacted"})),
}
CLOSED_STATUSES = frozenset({"won", "lost", "spam"})

# Outbox kinds: the card to the staff chat, its later edits, and messages to the buyer.
KIND_LEAD_CARD = "lead_card"
KIND_CARD_EDIT = "lead_card_edit"
KIND_CARD_ERASE = "lead_card_erase"  # one more message of a card (a split part, a repost) blanked on /forget
KIND_BUYER_NOTICE = "buyer_notice"
KIND_STAFF_REPLY = "staff_reply"
KIND_STAFF_NOTICE = "staff_notice"  # a message to the staff chat about a lead (e.g. the buyer cannot be reached)
BUYER_KINDS = (KIND_BUYER_NOTICE, KIND_STAFF_REPLY)

STATUS_LABELS = {
    "new": N_("new"),
    "claimed": N_("claimed"),
    "contacted": N_("contacted"),
    "won": N_("won"),
    "lost": N_("lost"),
    "spam": N_("spam"),
}
# Time frames offered as buttons are stored as these keys and shown in the reader's language.
TIME_FRAMES = {
    "asap": N_("As soon as possible"),
    "within_month": N_("Within a month"),
    "within_3_months": N_("Within three months"),
    "flexible": N_("Flexible"),
}
UNIT_LABELS: dict[str, tuple[str, str]] = {
    "tonne": (N_("tonne"), N_("tonnes")),
    "kg": (N_("kg"), N_("kg")),
    "g": (N_("g"), N_("g")),
    "litre": (N_("litre"), N_("litres")),
    "carton": (N_("carton"), N_("cartons")),
    "box": (N_("box"), N_("boxes")),
    "bottle": (N_("bottle"), N_("bottles")),
    "jar": (N_("jar"), N_("jars")),
    "pack": (N_("pack"), N_("packs")),
    "sack": (N_("sack"), N_("sacks")),
    "head": (N_("head"), N_("head")),
    "piece": (N_("piece"), N_("pieces")),
    "set": (N_("set"), N_("sets")),
    "container": (N_("container"), N_("containers")),
}
assert set(UNIT_LABELS) == set(UNIT_WORDS)


class TransitionRefused(Exception):
    """A staff action that does not apply to the lead as it is now; `reason` is 'same' or 'closed' or 'order'."""

    def __init__(self, reason: str, lead: Lead) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lead = lead


@dataclass
class LeadDraft:
    """Everything a confirmed form hands over; the buyer's own words, already validated and bounded."""

    channel: str
    chat_id: str
    user_id: str
    language: str
    products: list[dict[str, str]]
    quantity: str
    delivery_place: str
    time_frame: str
    buyer_name: str
    phone: str
    organisation: str = ""
    email: str = ""
    notes: str = ""


# --- references


def make_ref(created_at: dt.datetime, lead_id: int) -> str:
    """`BG-2026-000042`: the year (Vietnam time) the lead came in and its number, unique because the id is."""
    return f"{REF_PREFIX}-{created_at.astimezone(LOCAL_ZONE).year}-{lead_id:06d}"


def normalise_ref(text: str) -> str | None:
    """'bg-2026-42', 'BG 2026 000042', '#BG-2026-000042' → 'BG-2026-000042'; None when it is not a reference."""
    match = _REF.match(text or "")
    if not match:
        return None
    return f"{REF_PREFIX}-{match.group(1)}-{int(match.group(2)):06d}"


async def find_lead(session: AsyncSession, text: str) -> Lead | None:
    """A lead by its reference, or by its bare number ('42')."""
    ref = normalise_ref(text)
    if ref is not None:
        return await session.scalar(select(Lead).where(Lead.ref == ref))
    if text.strip().isdecimal() and len(text.strip()) <= 9:
        return await session.get(Lead, int(text.strip()))
    return None


# --- creating


def start_of_local_day(now: dt.datetime | None = None) -> dt.datetime:
    """Midnight today in Vietnam, as UTC: the daily enquiry limit counts from here."""
    local = (now or utcnow()).astimezone(LOCAL_ZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


async def leads_today(session: AsyncSession, channel: str, user_id: str, now: dt.datetime | None = None) -> int:
    """How many enquiries this user confirmed since midnight (Vietnam time)."""
    since = start_of_local_day(now)
    query = select(func.count(Lead.id)).where(
        Lead.channel == channel, Lead.user_id == user_id, Lead.created_at >= since
    )
    return int(await session.scalar(query) or 0)


def _user_key(channel: str, user_id: str) -> str:
    return hashlib.sha256(f"ocop-erased:{channel}:{user_id}".encode()).hexdigest()


async def erased_today(session: AsyncSession, channel: str, user_id: str, now: dt.datetime | None = None) -> int:
    """Enquiries this user confirmed today and erased since (with /forget, from any chat)."""
    day = start_of_local_day(now).isoformat()
    found = await session.scalar(select(ErasedCount.count).where(
        ErasedCount.user_key == _user_key(channel, user_id), ErasedCount.day == day))
    return int(found or 0)


async def add_erased_today(session: AsyncSession, channel: str, user_id: str, n: int,
                           now: dt.datetime | None = None) -> None:
    """Remember that `n` more of today's enquiries were erased (and forget earlier days' numbers)."""
    day = start_of_local_day(now).isoformat()
    key = _user_key(channel, user_id)
    await session.execute(delete(ErasedCount).where(ErasedCount.day != day))
    row = await session.scalar(select(ErasedCount).where(ErasedCount.user_key == key, ErasedCount.day == day))
    if row is None:
        session.add(ErasedCount(user_key=key, day=day, count=n))
    else:
        row.count += n


async def create_lead(session: AsyncSession, draft: LeadDraft) -> Lead:
    """Add the lead and give it its reference; the caller's transaction commits it (with its outbox entry)."""
    now = utcnow()
    lead = Lead(
        channel=draft.channel, chat_id=draft.chat_id, user_id=draft.user_id, language=draft.language,
        products=list(draft.products), quantity=draft.quantity, delivery_place=draft.delivery_place,
        time_frame=draft.time_frame, buyer_name=draft.buyer_name, organisation=draft.organisation,
        phone=draft.phone, email=draft.email, notes=draft.notes, status="new",
        consent_at=now, created_at=now, updated_at=now,
    )
    lead.product_group, lead.district = await place_of_products(session, lead.products)
    session.add(lead)
    await session.flush()  # the id, for the reference
    lead.ref = make_ref(now, lead.id)
    session.add(LeadEvent(lead_id=lead.id, actor_id=draft.user_id, action="created", to_status="new", created_at=now))
    await session.flush()
    return lead


async def place_of_products(session: AsyncSession, products: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """(product group, former district) of the first catalogued product of an enquiry, or ("", "")."""
    slugs = [str(p["slug"]) for p in products if p.get("slug")]
    if not slugs:
        return "", ""
    rows = {
        slug: (category, district)
        for slug, category, district in (
            await session.execute(
                select(Product.slug, Product.category, Product.district).where(Product.slug.in_(slugs))
            )
        ).all()
    }
    for slug in slugs:
        if slug in rows:
            category, district = rows[slug]
            return category or "", district or ""
    return "", ""


def notify_after_commit(session: AsyncSession, notify: Callable[[], None] | None) -> None:
    """Call `notify` once the session's transaction has committed (waking the delivery worker)."""
    if notify is None:
        return
    pending: list[Callable[[], None]] = session.info.setdefault("after_commit", [])
    if pending:
        if notify not in pending:
            pending.append(notify)
        return
    pending.append(notify)

    def fire(_session: Any) -> None:
        for callback in session.info.pop("after_commit", []):
            callback()

    event.listen(session.sync_session, "after_commit", fire, once=True)


def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    channel: str,
    chat_id: str,
    payload: dict[str, Any],
    lead_id: int | None = None,
    notify: Callable[[], None] | None = None,
) -> OutboxMessage:
    """Queue a message that must reach a chat; it is committed with whatever caused it, or not at all."""
    entry = OutboxMessage(
        kind=kind, lead_id=lead_id, channel=channel, chat_id=chat_id, payload=payload,
        status="pending", attempts=0, next_attempt_at=utcnow(), created_at=utcnow(),
    )
    session.add(entry)
    notify_after_commit(session, notify)
    return entry


# --- staff work


async def change_status(session: AsyncSession, lead: Lead, action: str, actor_id: str, actor_name: str,
                        staff_id: int | None = None) -> LeadEvent:
    """Apply a staff action (claim, contacted, won, lost, spam) and record who did it (and their staff account,
    which a claim also assigns the lead to when it has nobody); refuses what does not fit."""
    to_status, allowed_from = ACTIONS[action]
    if lead.status == to_status:
        raise TransitionRefused("same", lead)
    if lead.status in CLOSED_STATUSES:
        raise TransitionRefused("closed", lead)
    if lead.status not in allowed_from:
        raise TransitionRefused("order", lead)
    values: dict[str, Any] = {"status": to_status, "updated_at": utcnow()}
    if to_status in ("claimed", "contacted") and not lead.claimed_by:
        values["claimed_by"] = (actor_name or actor_id)[:200]
    if to_status in ("claimed", "contacted") and lead.claimed_at is None:
        values["claimed_at"] = values["updated_at"]
        if staff_id is not None and lead.assignee_id is None:
            values["assignee_id"] = staff_id
    if to_status in CLOSED_STATUSES:
        values["closed_at"] = values["updated_at"]
    # Conditional on the status we read: of two staff pressing at once, one wins and the other is told.
    result = await session.execute(
        update(Lead).where(Lead.id == lead.id, Lead.status == lead.status).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.refresh(lead)
        raise TransitionRefused("changed", lead)
    change = LeadEvent(
        lead_id=lead.id, actor_id=actor_id, actor_name=actor_name[:200], staff_id=staff_id, action=action,
        from_status=lead.status, to_status=to_status, created_at=utcnow(),
    )
    session.add(change)
    await session.flush()
    await session.refresh(lead)
    return change


async def record_event(session: AsyncSession, lead: Lead, action: str, actor_id: str, actor_name: str,
                       note: str = "", staff_id: int | None = None) -> LeadEvent:
    """A logged step that does not change the status (a reply relayed to the buyer: the first one is the
    lead's first response)."""
    entry = LeadEvent(lead_id=lead.id, actor_id=actor_id, actor_name=actor_name[:200], staff_id=staff_id,
                      action=action, from_status=lead.status, to_status=lead.status, note=note, created_at=utcnow())
    session.add(entry)
    lead.updated_at = entry.created_at
    if action == "reply" and lead.first_reply_at is None:
        lead.first_reply_at = entry.created_at
    await session.flush()
    return entry


async def lead_events(session: AsyncSession, lead: Lead) -> list[LeadEvent]:
    return list((await session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)
                                       .order_by(LeadEvent.id))).all())


async def list_leads(session: AsyncSession, status: str | None = None, limit: int = 20) -> list[Lead]:
    """Newest first, optionally only one status."""
    query = select(Lead).order_by(Lead.id.desc()).limit(limit)
    if status:
        query = query.where(Lead.status == status)
    return list((await session.scalars(query)).all())


async def count_leads(session: AsyncSession, status: str | None = None) -> int:
    query = select(func.count(Lead.id))
    if status:
        query = query.where(Lead.status == status)
    return int(await session.scalar(query) or 0)


async def buyer_leads(session: AsyncSession, channel: str, user_id: str, limit: int = 20) -> list[Lead]:
    """The enquiries this buyer made from this channel (not those already erased), newest first."""
    query = (select(Lead).where(Lead.channel == channel, Lead.user_id == user_id, Lead.anonymised_at.is_(None))
             .order_by(Lead.id.desc()).limit(limit))
    return list((await session.scalars(query)).all())


DUPLICATE_WINDOW = dt.timedelta(hours=24)


def product_keys(products: Iterable[dict[str, Any]]) -> frozenset[str]:
    """What makes two product lists the same enquiry: catalogue slugs, or the words as typed (case-folded)."""
    return frozenset(p.get("slug") or "text:" + str(p.get("text", "")).casefold() for p in products)


async def recent_duplicate(session: AsyncSession, phone: str, products: Iterable[dict[str, Any]],
                           now: dt.datetime | None = None) -> Lead | None:
    """A lead with the same phone and the same products made in the last 24 hours (the newest), or None."""
    since = (now or utcnow()) - DUPLICATE_WINDOW
    wanted = product_keys(products)
    query = (select(Lead).where(Lead.phone == phone, Lead.created_at >= since, Lead.anonymised_at.is_(None))
             .order_by(Lead.id.desc()).limit(50))
    for lead in (await session.scalars(query)).all():
        if product_keys(lead.products or []) == wanted:
            return lead
    return None


async def all_leads(session: AsyncSession) -> list[Lead]:
    return list((await session.scalars(select(Lead).order_by(Lead.id))).all())


# --- erasure


async def forget_buyer(session: AsyncSession, channel: str, user_id: str) -> list[Lead]:
    """Blank the buyer's personal data on all their leads and stop messages still queued to them.

    The lead keeps its products, quantity, place, time frame and status for the department's statistics.
    The caller re-renders the staff card of each returned lead (see `replace_card_payloads`).
    """
    leads = await buyer_leads(session, channel, user_id, limit=10_000)
    now = utcnow()
    for lead in leads:
        buyer_chat = lead.chat_id
        lead.buyer_name = lead.organisation = lead.phone = lead.email = lead.notes = ""
        lead.delivery_place = ""  # a full address, or the GPS point shared with the form
        lead.chat_id = lead.user_id = ""
        lead.anonymised_at = now
        lead.updated_at = now
        entries = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.lead_id == lead.id, OutboxMessage.kind.in_(BUYER_KINDS)))
        for entry in entries:
            if entry.chat_id == buyer_chat and entry.status in ("pending", "sending"):
                entry.status = "cancelled"
                entry.last_error = "buyer asked to be forgotten"
            entry.chat_id = ""
            entry.payload = {}
        for logged in await lead_events(session, lead):
            if logged.action == "reply":
                logged.note = ""  # staff's words to the buyer may name them
            if logged.actor_id == user_id and logged.action == "created":
                logged.actor_id = ""
    await session.flush()
    return leads


async def replace_card_payloads(session: AsyncSession, lead: Lead, payload: dict[str, Any],
                                notify: Callable[[], None] | None = None) -> None:
    """After erasure: no stored copy of the old card keeps personal data, and the card in the staff chat is
    edited to the anonymised one (queued, so it survives restarts like everything else)."""
    cards = (await session.scalars(select(OutboxMessage).where(
        OutboxMessage.lead_id == lead.id, OutboxMessage.kind.in_((KIND_LEAD_CARD, KIND_CARD_EDIT))))).all()
    posted = False
    others: list[tuple[str, str]] = []  # (chat, message id) of every card message but the one edited below
    for entry in cards:
        for message_id in (entry.sent_message_id or "").split(","):
            if message_id.isdigit() and message_id != str(lead.staff_message_id) and entry.status == "sent":
                others.append((entry.chat_id, message_id))
        if entry.kind == KIND_LEAD_CARD and entry.status in ("sent", "sending"):
            posted = True
        if entry.kind == KIND_CARD_EDIT and entry.status == "pending":
            entry.status = "cancelled"  # superseded by the anonymised card queued below
        entry.payload = dict(payload) if entry.kind == KIND_LEAD_CARD else {}
    if posted:
        staff_chat = next(e.chat_id for e in cards if e.kind == KIND_LEAD_CARD)
        enqueue(session, kind=KIND_CARD_EDIT, channel="telegram", chat_id=staff_chat, payload=dict(payload),
                lead_id=lead.id, notify=notify)
    for chat, message_id in dict.fromkeys(others):
        # The first parts of a card too long for one message, and copies posted when an edit failed: each
        # still shows the buyer's details, so each is edited to a bare mark.
        enqueue(session, kind=KIND_CARD_ERASE, channel="telegram", chat_id=chat,
                payload={"text": "🗑", "buttons": [], "message_id": message_id}, lead_id=lead.id, notify=notify)


# --- showing a lead in a language


def product_label(item: dict[str, Any], language: str, *, quantity: bool = True) -> str:
    """A product of the lead in the reader's language: the catalogue name, or the buyer's own words; with its
    own quantity when the enquiry gave one per product ("Vải thiều …: 1,5 tấn") unless `quantity` is False."""
    if item.get("slug"):
        label = str(item["name_en"]) if language == "en" and item.get("name_en") else str(
            item.get("name_vi") or item["slug"])
    else:
        label = str(item.get("text", ""))
    if quantity and item.get("quantity"):
        label += ": " + format_quantity(str(item["quantity"]), translator(language))
    return label


def join_quantities(canonicals: list[str]) -> str:
    """Each product's quantity as the lead stores it: '1.5 tonne; 500 kg' (at most MAX_QUANTITY characters:
    notes are dropped first, then the end is cut)."""
    joined = QUANTITY_JOIN.join(canonicals)
    if len(joined) > MAX_QUANTITY:
        joined = QUANTITY_JOIN.join(re.sub(r" \(.*\)$", "", c) for c in canonicals)
    return joined if len(joined) <= MAX_QUANTITY else joined[:MAX_QUANTITY - 1] + "…"


def format_quantity(canonical: str, t: Translator) -> str:
    """'1.5 tonne' → '1,5 tấn' (vi) or '1.5 tonnes' (en), '1.5 tonne; 500 kg' → '1,5 tấn; 500 kg'; anything
    unparsed is shown as stored."""
    if QUANTITY_JOIN in canonical:
        parts = canonical.split(QUANTITY_JOIN)
        if all(quantity_from_canonical(part) is not None for part in parts):
            return QUANTITY_JOIN.join(format_quantity(part, t) for part in parts)
    quantity = quantity_from_canonical(canonical)
    if quantity is None:
        return canonical
    amount = t.number(quantity.amount)
    if quantity.amount_max is not None:
        amount += "–" + t.number(quantity.amount_max)
    if quantity.unit in UNIT_LABELS:
        singular, plural = UNIT_LABELS[quantity.unit]
        one = quantity.amount == 1 and quantity.amount_max is None
        unit = t._(singular if one else plural)
    else:
        unit = quantity.unit
    text = f"{amount} {unit}"
    return f"{text} ({quantity.note})" if quantity.note else text


def time_frame_label(value: str, t: Translator) -> str:
    return t._(TIME_FRAMES[value]) if value in TIME_FRAMES else value


def status_label(status: str, t: Translator) -> str:
    return t._(STATUS_LABELS[status]) if status in STATUS_LABELS else status


# --- statistics and export


@dataclass
class LeadStats:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_product: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    by_week: list[tuple[str, int]] = field(default_factory=list)


def iso_week(moment: dt.datetime) -> str:
    """'2026-W23' for a moment, in Vietnam time."""
    year, week, _ = moment.astimezone(LOCAL_ZONE).isocalendar()
    return f"{year}-W{week:02d}"


async def lead_stats(session: AsyncSession, *, top_products: int = 10, weeks: int = 8) -> LeadStats:
    """Leads by status, by product (catalogue slug or the buyer's words) and by ISO week, newest weeks first."""
    rows = (await session.execute(select(Lead.status, Lead.products, Lead.created_at))).all()
    stats = LeadStats(total=len(rows))
    statuses: Counter[str] = Counter()
    products: Counter[str] = Counter()
    examples: dict[str, dict[str, Any]] = {}
    per_week: Counter[str] = Counter()
    for status, items, created_at in rows:
        statuses[status] += 1
        per_week[iso_week(created_at)] += 1
        for item in items or []:
            key = item.get("slug") or "text:" + str(item.get("text", "")).casefold()
            products[key] += 1
            examples.setdefault(key, {k: v for k, v in item.items() if k != "quantity"})
    stats.by_status = {s: statuses[s] for s in STATUS_LABELS if statuses[s]}
    stats.by_product = [(examples[k], n) for k, n in products.most_common(top_products)]
    stats.by_week = sorted(per_week.items(), reverse=True)[:weeks]
    return stats


EXPORT_COLUMNS = (
    "ref", "created_at", "status", "claimed_by", "channel", "language", "products", "quantity",
    "delivery_place", "time_frame", "buyer_name", "organisation", "phone", "email", "notes",
    "anonymised_at", "updated_at",
)


def lead_row(lead: Lead, t: Translator) -> dict[str, str]:
    """One lead as export cells, readable in the staff's language (times in Vietnam time)."""

    def when(value: dt.datetime | None) -> str:
        return value.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if value else ""

    return {
        "ref": lead.ref or "",
        "created_at": when(lead.created_at),
        "status": lead.status,
        "claimed_by": lead.claimed_by,
        "channel": lead.channel,
        "language": lead.language,
        "products": " | ".join(product_label(p, t.language) for p in lead.products or []),
        "quantity": format_quantity(lead.quantity, t),
        "delivery_place": lead.delivery_place,
        "time_frame": time_frame_label(lead.time_frame, t),
        "buyer_name": lead.buyer_name,
        "organisation": lead.organisation,
        "phone": display_phone(lead.phone) if lead.phone else "",
        "email": lead.email,
        "notes": lead.notes,
        "anonymised_at": when(lead.anonymised_at),
        "updated_at": when(lead.updated_at),
    }


def leads_csv(leads: Iterable[Lead], t: Translator) -> bytes:
    """CSV (UTF-8 with BOM so spreadsheets show Vietnamese) with formula-looking cells neutralised."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for lead in leads:
        writer.writerow({k: neutralise_formula(v) for k, v in lead_row(lead, t).items()})
    return buffer.getvalue().encode("utf-8-sig")
