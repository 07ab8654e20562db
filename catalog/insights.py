"""Demand insight: the events of a period (catalog/events.py) read into the department's report.

`build_report` returns plain data (dicts and lists, ready for JSON, the HTML renderer in bot/insights_html.py,
the weekly digest and the XLSX/CSV export):

- top searches and top products viewed, overall and by language and by channel;
- unmet demand: searches that found nothing and searches whose results nobody opened ("abandoned"), grouped
  by similarity of their folded words (rapidfuzz), so "cam bố hạ", "cam bo ha" and "camboha" are one line,
  split into "not in the catalogue" and "in the catalogue but not found" (a product with a near name exists:
  a synonym to add to its aliases);
- the funnel search → card → where to buy / contact → enquiry started → confirmed → claimed → won, overall
  and by product group (unique chats for the chat's steps; leads for the staff's), with the leads lost beside it;
- interest by the products' former district and by the buyer's language;
- a weekly trend.

Unique chats are counted by the monthly chat key, so a chat active in two months counts twice, and events
cut loose by /forget count as events but not as chats.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process
from sqlalchemy import select

from catalog import events
from catalog.models import Event, Lead, utcnow
from catalog.text import fold

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from catalog.snapshot import Catalog

TOP = 10
# Two searches are one line of unmet demand when their folded words, spaces removed, are this similar.
SAME_DEMAND = 85
# A product is "near" a search when its name or an alias, folded and without spaces, is this similar to it,
# or contains it almost exactly (a part of the name, mistyped).
NEAR_NAME = 80
NEAR_PART = 90
NEAR_PART_MIN_CHARS = 8
# A search is abandoned when the chat opened nothing from it (card, where to buy, contacts, an enquiry)
# before its next search or within this long.
ABANDON_AFTER = dt.timedelta(minutes=30)
FOLLOW_UPS = frozenset({events.CARD_VIEW, events.WHERE_VIEW, events.CONTACT_VIEW, events.FORM_START,
                        events.LINK_TAP})

FUNNEL_STEPS = ("search", "card", "where_contact", "enquiry_started", "confirmed", "claimed", "won")
# The lead statuses that count as "claimed" (taken up by staff; so does any lead with `claimed_at`) and "won".
# The lead lifecycle is the staff
# desk's (catalog/leads.py): when it grows statuses, this is the one place the funnel reads them.
CLAIMED_STATUSES = frozenset({"claimed", "contacted", "won"})
WON_STATUSES = frozenset({"won"})
LOST_STATUSES = frozenset({"lost"})  # beside the funnel: closed without a sale (spam is neither)
NO_GROUP = "unknown"
SYNTHETIC_PREFIX = "synthetic"


@dataclass(frozen=True, slots=True)
class Period:
    since: dt.datetime
    until: dt.datetime

    def to_json(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def parse_since(value: str | None, now: dt.datetime | None = None) -> dt.datetime:
    """`7d`, `30d` (days back from now), or a date `YYYY-MM-DD` (its midnight, UTC). Default: 30 days."""
    now = now or utcnow()
    value = (value or "30d").strip().lower()
    if value.endswith("d") and value[:-1].isdigit() and 0 < int(value[:-1]) <= 3660:
        return now - dt.timedelta(days=int(value[:-1]))
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since takes 7d, 30d (any number of days) or a date YYYY-MM-DD, not {value!r}"
        ) from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def squeeze(query: str) -> str:
    """The folded words without spaces: "cam bo ha" and "camboha" meet here."""
    return query.replace(" ", "")


@dataclass(slots=True)
class _Group:
    key: str
    queries: Counter[str]
    chats: set[str]
    no_match: int = 0
    abandoned: int = 0


def group_similar(searches: Iterable[tuple[str, str | None, str]]) -> list[_Group]:
    """(folded query, chat key, "no_match"|"abandoned") → groups of similar queries, the most asked first.

    Greedy leader clustering: queries in order of frequency; each joins the first group whose leader is at
    least SAME_DEMAND similar (rapidfuzz ratio on the spaceless form), or leads a new group."""
    by_query: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for query, key, why in searches:
        if query:
            by_query[query].append((key, why))
    groups: list[_Group] = []
    leaders: list[str] = []
    for query in sorted(by_query, key=lambda q: (-len(by_query[q]), q)):
        squeezed = squeeze(query)
        found = process.extractOne(squeezed, leaders, scorer=fuzz.ratio, score_cutoff=SAME_DEMAND)
        if found is None:
            group = _Group(squeezed, Counter(), set())
            groups.append(group)
            leaders.append(squeezed)
        else:
            group = groups[found[2]]
        for key, why in by_query[query]:
            group.queries[query] += 1
            if key:
                group.chats.add(key)
            if why == "no_match":
                group.no_match += 1
            else:
                group.abandoned += 1
    groups.sort(key=lambda g: (-sum(g.queries.values()), -len(g.chats), g.key))
    return groups


def _name_keys(catalog: Catalog) -> list[tuple[str, str]]:
    """(spaceless folded name or alias, slug) for every product."""
    out = []
    for product in catalog.products:
        for name in (product.name_vi, product.name_en, *(product.aliases or [])):
            if name:
                out.append((squeeze(fold(name)), product.slug))
    return out


def near_product(query: str, names: list[tuple[str, str]]) -> str:
    """The slug of a product whose name or an alias is near the searched words, or "".

    Near: the whole name, folded and without spaces, is NEAR_NAME similar ("banhchungg" / "bánh chưng Vân"),
    or a long enough query is almost exactly part of a longer name (a name typed in part, mistyped). A short
    query inside a name is not enough ("rượu mơ" is not "rượu Mộc Sơn", "bưởi Diễn" is not "bưởi")."""
    squeezed = squeeze(query)
    if not squeezed:
        return ""
    keys = [k for k, _ in names]
    found = process.extractOne(squeezed, keys, scorer=fuzz.ratio, score_cutoff=NEAR_NAME)
    if found is not None:
        return names[found[2]][1]
    if len(squeezed) >= NEAR_PART_MIN_CHARS:
        longer = [(k, slug) for k, slug in names if len(k) > len(squeezed)]
        found = process.extractOne(
            squeezed, [k for k, _ in longer], scorer=fuzz.partial_ratio, score_cutoff=NEAR_PART
        )
        if found is not None:
            return longer[found[2]][1]
    return ""


@dataclass(slots=True)
class _Row:
    at: dt.datetime
    id: int
    kind: str
    chat_key: str | None
    channel: str
    language: str
    query: str
    results: int | None
    product: str
    step: str
    products: list[str]


async def load_events(session: AsyncSession, period: Period) -> list[_Row]:
    query = (
        select(
            Event.at,
            Event.id,
            Event.kind,
            Event.chat_key,
            Event.channel,
            Event.language,
            Event.query,
            Event.results,
            Event.product,
            Event.step,
            Event.products,
        )
        .where(Event.at >= period.since, Event.at < period.until)
        .order_by(Event.at, Event.id)
    )
    return [_Row(*row) for row in (await session.execute(query)).all()]


def abandoned_searches(rows: list[_Row]) -> set[int]:
    """Ids of searches with results that the chat did not follow up (see ABANDON_AFTER)."""
    by_chat: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.chat_key:
            by_chat[row.chat_key].append(row)
    out: set[int] = set()
    for chat_rows in by_chat.values():
        for i, row in enumerate(chat_rows):
            if row.kind != events.SEARCH or not row.results or row.step == "form":
                continue
            followed = False
            for later in chat_rows[i + 1 :]:
                if later.kind == events.SEARCH or later.at - row.at > ABANDON_AFTER:
                    break
                if later.kind in FOLLOW_UPS:
                    followed = True
                    break
            if not followed:
                out.add(row.id)
    return out


def _top(counter: Counter[str], chats: dict[str, set[str]], limit: int = TOP) -> list[dict[str, Any]]:
    return [
        {"key": key, "count": n, "chats": len(chats[key])}
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    ]


def _tops(rows: Iterable[_Row], key_of: Any) -> dict[str, Any]:
    """Top list overall and by language and by channel."""
    overall: Counter[str] = Counter()
    chats: dict[str, set[str]] = defaultdict(set)
    by: dict[str, dict[str, Counter[str]]] = {
        "language": defaultdict(Counter),
        "channel": defaultdict(Counter),
    }
    by_chats: dict[str, dict[str, dict[str, set[str]]]] = {
        "language": defaultdict(lambda: defaultdict(set)),
        "channel": defaultdict(lambda: defaultdict(set)),
    }
    for row in rows:
        key = key_of(row)
        if not key:
            continue
        overall[key] += 1
        for facet in ("language", "channel"):
            value = getattr(row, facet) or "?"
            by[facet][value][key] += 1
            if row.chat_key:
                by_chats[facet][value][key].add(row.chat_key)
        if row.chat_key:
            chats[key].add(row.chat_key)
    return {
        "overall": _top(overall, chats),
        "by_language": {v: _top(c, by_chats["language"][v]) for v, c in sorted(by["language"].items())},
        "by_channel": {v: _top(c, by_chats["channel"][v]) for v, c in sorted(by["channel"].items())},
    }


def _week(at: dt.datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def _lead_groups(lead: Any, group_of: Any) -> set[str]:
    slugs = [p.get("slug", "") for p in (lead.products or []) if isinstance(p, dict)]
    return {group_of(s) for s in slugs} or {NO_GROUP}


async def lead_outcomes(session: AsyncSession, period: Period) -> list[Any]:
    """Leads created in the period with their status and products (the funnel's staff steps)."""
    query = select(Lead.status, Lead.products, Lead.created_at, Lead.claimed_at).where(
        Lead.created_at >= period.since, Lead.created_at < period.until
    )
    return list((await session.execute(query)).all())


async def build_report(session: AsyncSession, catalog: Catalog, period: Period) -> dict[str, Any]:
    """The whole report for a period, as plain data."""
    rows = await load_events(session, period)
    leads = await lead_outcomes(session, period)
    products = {p.slug: p for p in catalog.products}

    def group_of(slug: str) -> str:
        product = products.get(slug)
        return product.category if product is not None else NO_GROUP

    def name_of(slug: str) -> dict[str, str]:
        product = products.get(slug)
        if product is None:
            return {"slug": slug, "name_vi": slug, "name_en": slug, "category": NO_GROUP, "district": ""}
        return {
            "slug": slug,
            "name_vi": product.name_vi,
            "name_en": product.name_en or product.name_vi,
            "category": product.category,
            "district": product.district,
        }

    searches = [r for r in rows if r.kind == events.SEARCH]
    abandoned = abandoned_searches(rows)
    kinds = Counter(r.kind for r in rows)

    # --- top lists
    top_searches = _tops(searches, lambda r: r.query)
    top_products = _tops((r for r in rows if r.kind == events.CARD_VIEW), lambda r: r.product)
    for section in (
        top_products["overall"],
        *top_products["by_language"].values(),
        *top_products["by_channel"].values(),
    ):
        for item in section:
            item.update(name_of(item["key"]))

    # Platform and map buttons tapped (Telegram only: handlers/links.py), by site
    link_taps = _tops((r for r in rows if r.kind == events.LINK_TAP), lambda r: r.step)

    # --- unmet demand
    misses = [(r.query, r.chat_key, "no_match") for r in searches if r.results == 0]
    misses += [(r.query, r.chat_key, "abandoned") for r in searches if r.id in abandoned]
    # What an abandoned search found first, by its words: the product is in the catalogue, nobody opened it.
    found_first: dict[str, Counter[str]] = defaultdict(Counter)
    for r in searches:
        if r.id in abandoned and r.product:
            found_first[r.query][r.product] += 1
    names = _name_keys(catalog)
    unmet: dict[str, list[dict[str, Any]]] = {"not_in_catalogue": [], "in_catalogue_not_found": []}
    for group in group_similar(misses):
        label = group.queries.most_common(1)[0][0]
        near = near_product(label, names) or next(
            (slug for q in group.queries if (slug := near_product(q, names))), ""
        )
        if not near:
            shown = sum((found_first[q] for q in group.queries), Counter())
            near = min(shown, key=lambda slug: (-shown[slug], slug)) if shown else ""
        item = {
            "label": label,
            "variants": sorted(group.queries, key=lambda q: (-group.queries[q], q)),
            "count": sum(group.queries.values()),
            "chats": len(group.chats),
            "no_match": group.no_match,
            "abandoned": group.abandoned,
        }
        if near:
            item["near_product"] = name_of(near)
            unmet["in_catalogue_not_found"].append(item)
        else:
            unmet["not_in_catalogue"].append(item)

    # --- funnel, overall and by product group
    step_of = {
        events.SEARCH: "search",
        events.CARD_VIEW: "card",
        events.WHERE_VIEW: "where_contact",
        events.CONTACT_VIEW: "where_contact",
        events.FORM_START: "enquiry_started",
        events.LEAD_CONFIRMED: "confirmed",
    }
    chats: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        step = step_of.get(row.kind)
        if step is None or (step == "search" and row.step == "form"):
            continue
        if row.kind == events.LEAD_CONFIRMED:
            groups = {group_of(s) for s in row.products if s} or {NO_GROUP}
        elif row.kind == events.SEARCH and not row.product:
            groups = {NO_GROUP}
        else:
            groups = {group_of(row.product)} if row.product else {NO_GROUP}
        for group in groups | {"all"}:
            counts[group][step] += 1
            if row.chat_key:
                chats[group][step].add(row.chat_key)
    lead_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for lead in leads:
        for group in _lead_groups(lead, group_of) | {"all"}:
            lead_counts[group]["confirmed"] += 1
            # Claimed: taken up by staff, whatever came of it since (a claimed lead later lost still was).
            if lead.status in CLAIMED_STATUSES or lead.claimed_at is not None:
                lead_counts[group]["claimed"] += 1
            if lead.status in WON_STATUSES:
                lead_counts[group]["won"] += 1
            if lead.status in LOST_STATUSES:
                lead_counts[group]["lost"] += 1
    funnel = {}
    for group in sorted(set(counts) | set(lead_counts), key=lambda g: (g != "all", g == NO_GROUP, g)):
        steps = []
        previous: int | None = None
        for step in FUNNEL_STEPS:
            if step in ("claimed", "won"):
                value, unit = lead_counts[group][step], "leads"
                base = lead_counts[group]["confirmed"] if step == "claimed" else previous
            else:
                value, unit = len(chats[group][step]), "chats"
                base = previous
            rate = round(value / base, 4) if base else None
            steps.append(
                {
                    "step": step,
                    "value": value,
                    "unit": unit,
                    "events": counts[group][step],
                    "conversion": rate,
                }
            )
            previous = value
        funnel[group] = {
            "steps": steps,
            "leads": lead_counts[group]["confirmed"],
            "lost": lead_counts[group]["lost"],
        }

    # --- interest by district of origin and by buyer language
    districts: dict[str, Counter[str]] = defaultdict(Counter)
    district_chats: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.kind in (events.CARD_VIEW, events.WHERE_VIEW, events.CONTACT_VIEW) or (
            row.kind == events.SEARCH and row.product
        ):
            product = products.get(row.product)
            district = (product.district if product is not None else "") or NO_GROUP
            districts[district]["searches" if row.kind == events.SEARCH else "views"] += 1
            if row.chat_key:
                district_chats[district].add(row.chat_key)
    by_district = [
        {"district": d, "views": c["views"], "searches": c["searches"], "chats": len(district_chats[d])}
        for d, c in sorted(districts.items(), key=lambda kv: (-kv[1]["views"] - kv[1]["searches"], kv[0]))
    ]
    languages: dict[str, Counter[str]] = defaultdict(Counter)
    language_chats: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        lang = row.language or "?"
        if row.kind == events.SEARCH:
            languages[lang]["searches"] += 1
            languages[lang]["no_match"] += row.results == 0
        elif row.kind in (events.CARD_VIEW, events.WHERE_VIEW, events.CONTACT_VIEW):
            languages[lang]["views"] += 1
        elif row.kind == events.FORM_START:
            languages[lang]["enquiries_started"] += 1
        elif row.kind == events.LEAD_CONFIRMED:
            languages[lang]["confirmed"] += 1
        if row.chat_key:
            language_chats[lang].add(row.chat_key)
    by_language = [
        {
            "language": lang,
            "searches": c["searches"],
            "no_match": c["no_match"],
            "views": c["views"],
            "enquiries_started": c["enquiries_started"],
            "confirmed": c["confirmed"],
            "chats": len(language_chats[lang]),
        }
        for lang, c in sorted(languages.items())
    ]

    # --- weekly trend
    weekly: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        week = weekly[_week(row.at)]
        if row.kind == events.SEARCH:
            week["searches"] += 1
            week["no_match"] += row.results == 0
        elif row.kind in (events.CARD_VIEW, events.WHERE_VIEW, events.CONTACT_VIEW):
            week["views"] += 1
        elif row.kind == events.LEAD_CONFIRMED:
            week["confirmed"] += 1
    trend = [
        {
            "week": w,
            "searches": c["searches"],
            "no_match": c["no_match"],
            "views": c["views"],
            "confirmed": c["confirmed"],
        }
        for w, c in sorted(weekly.items())
    ]

    abandoned_forms = Counter(r.step for r in rows if r.kind == events.FORM_ABANDONED)
    return {
        "period": period.to_json(),
        # Traffic from scripts/synthetic_traffic.py comes on channels named "synthetic-…": say so on every report.
        "synthetic": any(r.channel.startswith(SYNTHETIC_PREFIX) for r in rows),
        "totals": {
            "events": len(rows),
            "chats": len({r.chat_key for r in rows if r.chat_key}),
            "searches": len(searches),
            "no_match": sum(1 for r in searches if r.results == 0),
            "abandoned_searches": len(abandoned),
            "card_views": kinds[events.CARD_VIEW],
            "where_views": kinds[events.WHERE_VIEW],
            "contact_views": kinds[events.CONTACT_VIEW],
            "enquiries_started": kinds[events.FORM_START],
            "enquiries_abandoned": kinds[events.FORM_ABANDONED],
            "enquiries_confirmed": kinds[events.LEAD_CONFIRMED],
            "link_taps": kinds[events.LINK_TAP],
        },
        "top_searches": top_searches,
        "top_products": top_products,
        "link_taps": link_taps,
        "unmet": unmet,
        "funnel": funnel,
        "abandoned_form_steps": dict(sorted(abandoned_forms.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_district": by_district,
        "by_language": by_language,
        "weekly": trend,
    }


async def report_for(
    session: AsyncSession, catalog: Catalog, since: dt.datetime, until: dt.datetime | None = None
) -> dict[str, Any]:
    return await build_report(session, catalog, Period(since, until or utcnow()))
