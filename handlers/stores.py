"""Where to buy: the stores that carry a product, the general OCOP stores, online platforms, the nearest store.

The demo stores have no coordinates. A store without its own is ranked by the approximate town centre of its
former district (catalog/data/places.json), and the reply says the distance is approximate; coordinates are
never made up for a store, and a map point (Venue) is only sent for a store that has real ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from catalog.collation import collation_key, sort_names
from catalog.models import OnlineListing, Product, Store
from catalog.places import district_centre
from catalog.repository import distance_km
from catalog.snapshot import Catalog
from catalog.text import fold
from handlers import cards, intent, needs
from handlers.context import Context
from handlers.lookup import confident, list_item, load_product, named_words, not_found, refers_back, search
from handlers.messages import Button, Reply, Venue, h, link
from handlers.payloads import StorePage, WhereToBuy
from handlers.products import need_selection
from locales import Translator

MAX_LINES = 12  # a where-to-buy answer; the stores that do not fit are behind a "More stores" button
FAR_KM = 80.0  # farther than this from every store: the user is probably not in Bắc Giang


@dataclass(frozen=True, slots=True)
class Ranked:
    store: Store
    km: float | None  # None: neither the store nor its district has a known position
    exact: bool  # measured to the store's own coordinates, not to its district's town centre


MAP_TAP_PATH = "/go/map/"  # the console's counted map links (bot/web/map_taps.py)


def map_url(ctx: Context, store: Store) -> str:
    """A store's map link; through the console's public address when it has one (bot/web/map_taps.py), so that
    a tap on it is counted for the department's demand insight."""
    url = cards.store_map_url(store)
    base = ctx.settings.web_public_url
    if not url or not base:
        return url
    query = {"c": ctx.incoming.channel.removeprefix("synthetic-")}
    if ctx.memory.product:
        query["p"] = ctx.memory.product
    return f"{base}{MAP_TAP_PATH}{quote(store.slug)}?{urlencode(query)}"


def store_line(t: Translator, store: Store, note: str = "", map_link: str = "") -> str:
    """A store on one line: bold name, printed address (or that none is listed), phone and map link if any."""
    parts = [f"• <b>{h(store.name)}</b>" + (f" {note}" if note else ""), "📍 " + cards.store_address(t, store)]
    if store.phone:
        parts.append("☎ " + h(store.phone))
    url = map_link or cards.store_map_url(store)
    if url:
        parts.append(link(url, t._("Map")))
    return " · ".join(parts)


# --- what the buyer named: a street ("gần Lê Lợi", "near Le Loi", "đường Lê Lợi")

# "gần X", "near X": always a place. "đường X", "phố X" only when a store's address names X ("đường" is also
# sugar, "đường phèn" a product).
NEAR_WORDS = frozenset({"gan", "near", "quanh", "canh", "around"})
STREET_WORDS = frozenset({"duong", "pho", "street", "road"})
STREET_TAIL = frozenset({"street", "road", "st", "duong", "pho"})


def split_street(query: str, stores: Iterable[Store] = ()) -> tuple[str, str]:
    """('vải thiều', 'lê lợi') for 'vải thiều gần lê lợi': the words after a street cue, and the rest."""
    raw = [w.strip(",.;!?") for w in query.split()]
    raw = [w for w in raw if w]
    folded = [fold(w) for w in raw]
    for i, word in enumerate(folded):
        if (word in NEAR_WORDS or word in STREET_WORDS) and i + 1 < len(raw):
            street = raw[i + 1:]
            while street and fold(street[-1]) in STREET_TAIL:
                street = street[:-1]
            while street and fold(street[0]) in NEAR_WORDS | STREET_WORDS:
                street = street[1:]
            words = " ".join(street)
            if words and (word in NEAR_WORDS or any(street_in(s.address, words) for s in stores)):
                return " ".join(raw[:i]), words
    return query, ""


def street_in(address: str, street: str) -> str:
    """The street as the address writes it ('Lê Lợi' for 'le loi'), or '' when the address does not name it."""
    wanted = fold(street).split()
    if not wanted or not address:
        return ""
    words = re.findall(r"[^\W_]+", address)
    folded = [fold(w) for w in words]
    for i in range(len(words) - len(wanted) + 1):
        if folded[i:i + len(wanted)] == wanted:
            return " ".join(words[i:i + len(wanted)])
    return ""


@dataclass(frozen=True, slots=True)
class Named:
    """What the buyer named to rank stores by: a street and a former district (either may be empty)."""

    street: str = ""
    district: str = ""


def rank_named(stores: Iterable[Store], named: Named, first: set[int] | None = None) -> list[Store]:
    """Stores in `first` (those carrying the product), then on the named street, then in the named district,
    then the others with an address, then those without one; alphabetically within each."""
    first = first or set()
    district = fold(named.district)

    def key(store: Store) -> tuple[bool, bool, bool, bool, tuple]:
        return (store.id not in first, not (named.street and street_in(store.address, named.street)),
                not (district and fold(store.district) == district), not store.address, collation_key(store.name))

    return sorted(stores, key=key)


# --- platforms

# Each platform's own search page, where we know it; any other is searched through a web search of its site.
PLATFORM_SEARCH = {
    "shopee.vn": "https://shopee.vn/search?keyword={q}",
    "tiki.vn": "https://tiki.vn/search?q={q}",
}


def platform_search_url(home: str, words: str) -> str:
    host = urlsplit(home).hostname or ""
    host = host.removeprefix("www.")
    if host in PLATFORM_SEARCH:
        return PLATFORM_SEARCH[host].format(q=quote(words, safe=""))
    return "https://www.google.com/search?q=" + quote(f"site:{host} {words}", safe="")


def platform_buttons(t: Translator, catalog: Catalog, words: str) -> list[list[Button]]:
    """A button per platform that searches it for `words` (labelled as a search: it is not a listing), or the
    platform's home page when there is nothing to search for."""
    buttons = []
    for platform in catalog.platforms:
        if words:
            buttons.append(Button(cards.short_label(t._("🔎 Search {platform}", platform=platform.platform)),
                                  url=platform_search_url(platform.url, words), kind="url"))
        else:
            buttons.append(Button(cards.short_label("🛒 " + platform.platform), url=platform.url, kind="url"))
    return [buttons[i:i + 3] for i in range(0, len(buttons), 3)]


def own_listings_line(t: Translator, listings: list[OnlineListing], product: Product) -> list[str]:
    own = [o for o in listings if o.product_id == product.id]
    if not own:
        return []
    return [t._("🛒 Online listings of this product: {links}", links=", ".join(link(o.url, o.platform) for o in own))]


def where_buttons(ctx: Context, product: Product | None) -> list[list[Button]]:
    t = ctx.t
    if product is None:
        return [[Button(t._("📞 Contacts"), "m:contacts"), Button(t._("📦 Bulk enquiry"), "enq:start")],
                cards.menu_row(t)]
    return cards.rows(
        [cards.payload_button(t._("📞 Contact"), f"contact:{product.slug}"),
         cards.payload_button(t._("📦 Bulk enquiry"), f"enq:start:{product.slug}")],
        [cards.payload_button(t._("« Product"), f"p:{product.slug}")] + cards.menu_row(t),
    )


def data_language(t: Translator) -> list[str]:
    """The catalogue has store names and addresses in Vietnamese only: said so to readers of other languages."""
    return [] if t.language == "vi" else [t._("(Store names and addresses are in Vietnamese, as listed.)")]


def fit_stores(ctx: Context, lines: list[str], stores: list[Store], footer: list[str],
               notes: dict[int, str] | None = None, *, heading_after: tuple[int, str] | None = None,
               render: Callable[[int, Store], str] | None = None,
               ) -> tuple[list[str], list[list[Button]]]:
    """The store lines that fit in MAX_LINES with the lines before and after; the rest behind "More stores".
    `render(n, store)` writes the n-th store's line (default: `store_line` with its note)."""
    t = ctx.t
    notes = notes or {}
    room = MAX_LINES - len(lines) - len(footer) - (1 if heading_after else 0)
    shown = stores if len(stores) <= room else stores[:max(room, 1)]
    out = list(lines)
    for n, store in enumerate(shown):
        if heading_after and n == heading_after[0] and n > 0:
            out.append(heading_after[1])
        out.append(render(n, store) if render else store_line(t, store, notes.get(store.id, ""), map_url(ctx, store)))
    out += footer
    rest = [s.slug for s in stores[len(shown):]]
    ctx.memory.stores = rest
    more = [[Button(t._("More stores ({n}) »", n=t.number(len(rest))), "ws:0")]] if rest else []
    return out, more


async def where_for_product(ctx: Context, product: Product, place: str | None = None, street: str = "") -> list[Reply]:
    """Stores that carry the product, then the others ranked by what the buyer named, then online."""
    ctx.record("where_view", product=product.slug)  # demand insight (catalog/events.py)
    t = ctx.t
    ctx.memory.product = product.slug
    catalog = await ctx.catalog()
    carrying = catalog.stores_selling(product)
    name = cards.product_name(product, t.language)
    lines = [t._("🏪 <b>Where to buy {name}</b>", name=h(name))]
    if carrying:
        lines.append(t._("Shops marked ✓ report carrying it; they come first:"))
    else:
        lines.append(t._("No shop has reported carrying it yet; these OCOP stores sell Bac Giang OCOP products "
                         "in general, ask them about it:"))
    named = Named(street, place or product.district or "")
    ranked = rank_named([*carrying, *(s for s in catalog.general_stores() if s not in carrying)], named,
                        {s.id for s in carrying})
    footer = own_listings_line(t, catalog.online_platforms(product), product)
    footer += [t._("🔎 Search the online platforms with the buttons below, or share your location for the "
                   "nearest store.")] + data_language(t)
    notes = {s.id: "✓" for s in carrying}
    lines, more = fit_stores(ctx, lines, ranked, footer, notes)
    buttons = more + platform_buttons(t, catalog, product.name_vi) + where_buttons(ctx, product)
    return [Reply(cards.clip("\n".join(lines)), buttons, keyboard=cards.location_keyboard(t))]


def named_header(t: Translator, stores: list[Store], named: Named) -> list[str]:
    """The header of a general store list: naming the street or district asked about when a store is there,
    else saying none is listed there."""
    if named.street:
        found = next((w for s in stores if (w := street_in(s.address, named.street))), "")
        if found:
            return [t._("🏪 <b>OCOP stores near {street}</b>", street=h(found))]
        return [t._("🏪 <b>OCOP stores and sales points</b>"),
                t._("No store is listed near “{street}”; here are all of them:",
                    street=h(cards.short_label(named.street, 40)))]
    if named.district:
        if any(fold(s.district) == fold(named.district) for s in stores):
            return [t._("🏪 <b>OCOP stores in {place}</b>", place=h(named.district))]
        return [t._("🏪 <b>OCOP stores and sales points</b>"),
                t._("No store is listed in {place}; here are all of them:", place=h(named.district))]
    return [t._("🏪 <b>OCOP stores and sales points</b>")]


async def where_general(ctx: Context, place: str | None = None, intro: str = "", street: str = "") -> list[Reply]:
    """The OCOP stores, ranked by the street or district named, and the online platforms."""
    t = ctx.t
    catalog = await ctx.catalog()
    named = Named(street, place or "")
    stores = rank_named(catalog.general_stores(), named)
    lines = ([intro] if intro else []) + named_header(t, stores, named)
    footer = [t._("Type a product name to see where it is sold, or share your location for the nearest store.")]
    footer += data_language(t)
    lines, more = fit_stores(ctx, lines, stores, footer)
    buttons = more + platform_buttons(t, catalog, "") + where_buttons(ctx, None)
    return [Reply(cards.clip("\n".join(lines)), buttons, keyboard=cards.location_keyboard(t))]


def words_meant(query: str, terms: str) -> str:
    """The buyer's product words ('vải thiều' of 'cho em hỏi vải thiều'): the question's leftovers around them
    are not repeated back."""
    return named_words(query, terms)


async def where_for_several(ctx: Context, query: str, products: list[Product], place: str | None,
                            street: str = "", terms: str = "") -> list[Reply]:
    """Several products match: a pick list (buttons), stores carrying any of them first, then the others."""
    t = ctx.t
    words = cards.short_label(words_meant(query, terms), 60)
    lines = [t._("🏪 <b>Where to buy “{query}”</b>", query=h(words)),
             t._("Several products match; tap one to see where it is sold.")]
    catalog = await ctx.catalog()
    carried: dict[int, tuple[Store, list[str]]] = {}
    for product in products:
        for store in catalog.stores_selling(product):
            carried.setdefault(store.id, (store, []))[1].append(cards.product_name(product, t.language))
    districts = {p.district for p in products if p.district}
    named = Named(street, place or (min(districts) if len(districts) == 1 else ""))
    stores = rank_named([*(s for s, _ in carried.values()),
                         *(s for s in catalog.general_stores() if s.id not in carried)], named, set(carried))
    notes = {key: "✓ " + h(", ".join(sort_names(names)[:2])) for key, (_, names) in carried.items()}
    footer = [t._("🔎 Search the online platforms with the buttons below, or share your location for the "
                  "nearest store.")] + data_language(t)
    lines, more = fit_stores(ctx, lines, stores, footer, notes)
    ctx.remember_results([p.slug for p in products])
    ctx.memory.back = None  # this list is not one a card can return to
    buttons = (cards.numbered_buttons(products, t.language, prefix="where") + more
               + platform_buttons(t, catalog, words) + [cards.menu_row(t)])
    return [Reply(cards.clip("\n".join(lines)), buttons, keyboard=cards.location_keyboard(t))]


async def on_more_stores(ctx: Context, data: StorePage) -> list[Reply]:
    """`ws:<page>`: the stores that did not fit, MAX_LINES at a time, in the order they were ranked."""
    t = ctx.t
    catalog = await ctx.catalog()
    by_slug = {s.slug: s for s in catalog.stores}
    stores = [by_slug[slug] for slug in ctx.memory.stores if slug in by_slug]
    start = data.page * (MAX_LINES - 1)
    page = stores[start:start + MAX_LINES - 1]
    if not page:
        return await where_general(ctx)
    lines = [t._("🏪 <b>More stores</b>")] + [store_line(t, s, map_link=map_url(ctx, s)) for s in page]
    buttons = []
    if start + len(page) < len(stores):
        buttons.append([Button(t._("More stores ({n}) »", n=t.number(len(stores) - start - len(page))),
                               f"ws:{data.page + 1}")])
    return [Reply("\n".join(lines), buttons + [[Button(t._("🏪 All stores"), "m:where")] + cards.menu_row(t)])]


def location_prompt(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(
        t._("📍 Share your location and I will list the nearest OCOP stores. Your location is used for this answer "
            "only and is not stored."),
        [[Button(t._("🏪 All stores"), "m:where")] + cards.menu_row(t)],
        keyboard=cards.location_keyboard(t),
    )]


# --- nearest --------------------------------------------------------------------------------------------

def rank_stores(stores: list[Store], lat: float, lon: float) -> list[Ranked]:
    """Nearest first: by the store's own coordinates, else by its district's town centre; unknown last."""
    ranked = []
    for store in stores:
        if store.latitude is not None and store.longitude is not None:
            ranked.append(Ranked(store, distance_km(lat, lon, store.latitude, store.longitude), True))
            continue
        centre = district_centre(store.district)
        km = distance_km(lat, lon, centre.latitude, centre.longitude) if centre else None
        ranked.append(Ranked(store, km, False))
    return sorted(ranked, key=lambda r: (r.km is None, r.km or 0.0, collation_key(r.store.name)))


def distance_text(t: Translator, r: Ranked) -> str:
    km = t.number(round(r.km or 0.0, 1))
    if r.exact:
        return t._("{km} km", km=km)
    centre = district_centre(r.store.district)
    place = r.store.district
    if centre and centre.town != centre.district:
        place = f"{centre.town} ({centre.district})"
    return t._("about {km} km (approximate, to the town centre of {place})", km=km, place=h(place))


def valid_point(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def nearest_line(t: Translator, n: int, r: Ranked, carries: bool, map_link: str = "") -> str:
    """One store of the nearest list on one line: number, name, distance, printed address, map link."""
    mark = " ✓ " + t._("carries the product you looked at") if carries else ""
    if r.km is None:  # neither the store nor its district has a position: listed after the others
        return f"• <b>{h(r.store.name)}</b>{mark} · 📍 {cards.store_address(t, r.store)}"
    parts = [f"{n}. <b>{h(r.store.name)}</b> — {distance_text(t, r)}{mark}", "📍 " + cards.store_address(t, r.store)]
    url = map_link or cards.store_map_url(r.store)
    if url:
        parts.append("🗺 " + link(url, t._("Map")))
    return " · ".join(parts)


async def nearest(ctx: Context, lat: float, lon: float) -> list[Reply]:
    """The stores nearest first, one line each and at most MAX_LINES lines (the rest behind "More stores", in
    the same order); stores with no known position after them. The location itself is not kept."""
    t = ctx.t
    if not valid_point(lat, lon):
        return [Reply(t._("That location does not look valid. Please share it again."), [cards.menu_row(t)])]
    catalog = await ctx.catalog()
    stores = catalog.general_stores()
    if not stores:
        return [Reply(t._("No stores are listed yet."), [cards.menu_row(t)], remove_keyboard=True)]
    ranked = rank_stores(stores, lat, lon)
    placed = [r for r in ranked if r.km is not None]
    by_id = {r.store.id: r for r in ranked}
    product_slug = ctx.memory.product
    carrying: set[int] = set()
    if product_slug and cards.valid_slug(product_slug):
        product = catalog.product(product_slug)
        if product is not None:
            carrying = {s.id for s in catalog.stores_selling(product)}
    lines = [t._("📍 <b>OCOP stores nearest to you</b>")]
    footer: list[str] = []
    if any(not r.exact for r in placed):
        footer.append(t._("Distances marked approximate are measured to the town centre of the store's former "
                          "district, because the catalogue has no map position for the store; check its printed "
                          "address."))
    if placed and (placed[0].km or 0.0) > FAR_KM:
        footer.append(t._("All listed stores are in Bac Giang, far from you. You can also buy online: {links}",
                          links=", ".join(link(o.url, o.platform) for o in catalog.platforms)))
    footer += data_language(t)
    heading = (len(placed), t._("Stores whose location is not listed:")) if len(placed) < len(ranked) else None

    def render(n: int, store: Store) -> str:
        return nearest_line(t, n + 1, by_id[store.id], store.id in carrying, map_url(ctx, store))

    lines, more = fit_stores(ctx, lines, [r.store for r in ranked], footer, heading_after=heading, render=render)
    buttons = more + [[Button(t._("🏪 All stores"), "m:where")] + cards.menu_row(t)]
    replies = [Reply(cards.clip("\n".join(lines)), buttons, remove_keyboard=True)]
    for r in placed[:3]:
        if r.exact and r.store.latitude is not None and r.store.longitude is not None:
            replies.append(Reply(venue=Venue(r.store.latitude, r.store.longitude, r.store.name, r.store.address)))
    return replies


# --- what the router sends here ------------------------------------------------------------------------

async def answer_where(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """Where to buy what the user named: one product, several, the one on screen, or stores in general."""
    if asked.near and generic_only(asked.query):
        return location_prompt(ctx)
    stores = (await ctx.catalog()).stores
    query, street = split_street(asked.query.strip(), stores)
    ordinal = intent.parse_ordinal(query) if query else None
    if ordinal is not None and (slug := list_item(ctx, ordinal)):
        product = await load_product(ctx, slug)
        if product is not None:
            return await where_for_product(ctx, product, asked.place, street)
    if not query or refers_back(query):
        slug = ctx.memory.product
        if query and slug:
            product = await load_product(ctx, slug)
            if product is not None:
                return await where_for_product(ctx, product, asked.place, street)
        return await where_general(ctx, asked.place, street=street)
    answer = await search(ctx, split_street(asked.search, stores)[0] if asked.search else query, limit=8, asked=query)
    if not answer.results and needs.beyond_catalogue(answer.asks):  # "chỗ mua cây giống vải thiều"
        return [Reply(needs.beyond_catalogue_note(ctx.t, answer.asks), cards.main_menu(ctx.t))]
    if answer.results and not answer.terms and needs.needs_of(answer):
        # "nên mua gì để cúng rằm", "what should I buy for my boss": a need, not a store, is the question.
        return await need_selection(ctx, answer)
    if not answer.results or not answer.terms:
        intro = ""
        if answer.terms:
            intro = ctx.t._("I couldn't find “{query}” in the catalogue, but these stores sell OCOP products:",
                            query=h(cards.short_label(words_meant(query, answer.terms), 60)))
        return await where_general(ctx, asked.place or _district(answer.filters), intro, street)
    if confident(answer):
        product = await load_product(ctx, answer.results[0].doc.slug)
        if product is not None:
            return await where_for_product(ctx, product, asked.place, street)
    products = (await ctx.catalog()).products_by_slug(r.doc.slug for r in answer.results)
    return await where_for_several(ctx, query, products, asked.place, street, answer.terms)


# Words that name no product in "OCOP shop near me", "cửa hàng sản phẩm OCOP gần tôi".
GENERIC_WORDS = frozenset({"ocop", "product", "products", "san", "pham", "sp", "dac"})


def generic_only(query: str) -> bool:
    """Nothing in the query but words that name no particular product (or nothing at all)."""
    return all(fold(w) in GENERIC_WORDS for w in re.findall(r"[^\W_]+", query))


def _district(filters: dict) -> str | None:
    value = filters.get("district")
    return value if isinstance(value, str) else None


async def on_where(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """"mua mỳ chũ ở đâu", "where can I buy lychee"."""
    return await answer_where(ctx, asked)


async def on_where_button(ctx: Context, data: WhereToBuy) -> list[Reply]:
    """`where:<slug>`."""
    product = await load_product(ctx, data.slug)
    return await where_for_product(ctx, product) if product else not_found(ctx)


async def on_all_stores(ctx: Context) -> list[Reply]:
    """`m:where`: every store; the next product name typed asks where to buy it."""
    replies = await where_general(ctx)
    ctx.memory.menu = "where"
    return replies


async def on_near(ctx: Context) -> list[Reply]:
    """`m:near`: ask for the location."""
    return location_prompt(ctx)


async def on_location(ctx: Context) -> list[Reply]:
    """A shared location: the nearest stores."""
    location = ctx.incoming.location
    assert location is not None
    return await nearest(ctx, location.latitude, location.longitude)
