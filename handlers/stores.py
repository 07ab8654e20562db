"""Where to buy: the stores that carry a product, the general OCOP stores, online platforms, the nearest store.

The demo stores have no coordinates. A store without its own is ranked by the approximate town centre of its
former district (catalog/data/places.json), and the reply says the distance is approximate; coordinates are
never made up for a store, and a map point (Venue) is only sent for a store that has real ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from catalog.models import OnlineListing, Product, Store
from catalog.places import district_centre
from catalog.repository import distance_km
from handlers import cards, intent
from handlers.context import Context
from handlers.lookup import confident, list_item, load_product, not_found, refers_back, search
from handlers.messages import Button, Reply, Venue, h, link
from handlers.payloads import WhereToBuy
from locales import Translator

NEAREST = 5
FAR_KM = 80.0  # farther than this from every store: the user is probably not in Bắc Giang


@dataclass(frozen=True, slots=True)
class Ranked:
    store: Store
    km: float | None  # None: neither the store nor its district has a known position
    exact: bool  # measured to the store's own coordinates, not to its district's town centre


def store_block(t: Translator, store: Store, note: str = "") -> str:
    """A store: bold name and kind, printed address (or that none is listed), and a map link when possible."""
    lines = [f"• <b>{h(store.name)}</b> ({h(cards.store_kind(t, store.kind))})" + (f" {note}" if note else "")]
    lines.append("  📍 " + cards.store_address(t, store))
    if store.opening_hours:
        lines.append("  🕘 " + h(store.opening_hours))
    lines += ["  " + d for d in cards.contact_details(t, store, with_address=False)]
    url = cards.store_map_url(store)
    if url:
        lines.append("  🗺 " + link(url, t._("Map")))
    return "\n".join(lines)


def online_lines(ctx: Context, listings: list[OnlineListing], product: Product | None) -> list[str]:
    t = ctx.t
    own = [o for o in listings if product is not None and o.product_id == product.id]
    general = [o for o in listings if o.product_id is None]
    lines = []
    if own:
        lines.append(t._("🛒 <b>Online listings of this product:</b>"))
        lines += [f"• {link(o.url, o.platform)}" for o in own]
    if general:
        lines.append(t._("🛒 <b>Online platforms selling OCOP products:</b>"))
        lines.append(", ".join(link(o.url, o.platform) for o in general))
    return lines


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


async def where_for_product(ctx: Context, product: Product, place: str | None = None) -> list[Reply]:
    """Stores that carry the product, then the general OCOP stores (same district first), then online."""
    t = ctx.t
    ctx.memory.product = product.slug
    catalog = await ctx.catalog()
    carrying = catalog.stores_selling(product)
    lines = [t._("🏪 <b>Where to buy {name}</b>", name=h(product.name_vi))]
    if carrying:
        lines.append(t._("Shops that report carrying it:"))
        lines += [store_block(t, s) for s in carrying]
    else:
        lines.append(t._("No shop has reported carrying it yet. These OCOP stores sell Bac Giang OCOP products in "
                         "general; ask them about it:"))
    known = {s.id for s in carrying}
    others = [s for s in catalog.general_stores(place or product.district) if s.id not in known]
    if others:
        if carrying:
            lines += ["", t._("Other OCOP stores:")]
        lines += [store_block(t, s) for s in others]
    lines += [""] + online_lines(ctx, catalog.online_platforms(product), product)
    lines += ["", t._("📍 Share your location to see the nearest store.")]
    return [Reply(cards.clip("\n".join(lines)), where_buttons(ctx, product), keyboard=cards.location_keyboard(t))]


async def where_general(ctx: Context, place: str | None = None, intro: str = "") -> list[Reply]:
    """All OCOP stores (the user's district first) and the online platforms."""
    t = ctx.t
    catalog = await ctx.catalog()
    lines = [intro] if intro else []
    lines.append(t._("🏪 <b>OCOP stores and sales points</b>"))
    lines += [store_block(t, s) for s in catalog.general_stores(place)]
    lines += [""] + online_lines(ctx, catalog.online_platforms(), None)
    lines += ["", t._("Type a product name to see where it is sold, or share your location for the nearest store.")]
    return [Reply(cards.clip("\n".join(lines)), where_buttons(ctx, None), keyboard=cards.location_keyboard(t))]


async def where_for_several(ctx: Context, query: str, products: list[Product], place: str | None) -> list[Reply]:
    """Several products match: where any of them is carried, the general stores, and a pick list."""
    t = ctx.t
    lines = [t._("🏪 <b>Where to buy “{query}”</b>", query=h(cards.short_label(query, 60)))]
    catalog = await ctx.catalog()
    carried: dict[int, tuple[Store, list[str]]] = {}
    for product in products:
        for store in catalog.stores_selling(product):
            carried.setdefault(store.id, (store, []))[1].append(product.name_vi)
    carriers = {key: (store, sorted(names)) for key, (store, names) in
                sorted(carried.items(), key=lambda item: (item[1][0].name, item[0]))}
    if carriers:
        lines.append(t._("Shops that report carrying some of them:"))
        lines += [store_block(t, s, "— " + h(", ".join(names[:3]))) for s, names in carriers.values()]
        lines += ["", t._("Other OCOP stores:")]
    else:
        lines.append(t._("No shop has reported carrying these yet. These OCOP stores sell Bac Giang OCOP products in "
                         "general; ask them:"))
    districts = {p.district for p in products if p.district}
    lines += [store_block(t, s) for s in catalog.general_stores(place or (min(districts) if len(districts) == 1 else None))
              if s.id not in carriers]
    lines += [""] + online_lines(ctx, catalog.online_platforms(), None)
    lines += ["", t._("Several products match. Pick one to see where it is sold:")]
    lines += [cards.product_line(t, p, n) for n, p in enumerate(products, 1)]
    ctx.remember_results([p.slug for p in products])
    ctx.memory.back = None  # this list is not one a card can return to
    buttons = cards.numbered_buttons(products, t.language, prefix="where") + [cards.menu_row(t)]
    return [Reply(cards.clip("\n".join(lines)), buttons, keyboard=cards.location_keyboard(t))]


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
    return sorted(ranked, key=lambda r: (r.km is None, r.km or 0.0, r.store.name))


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


async def nearest(ctx: Context, lat: float, lon: float) -> list[Reply]:
    """The nearest stores with their distance and a map link; stores with no known position after them."""
    t = ctx.t
    if not valid_point(lat, lon):
        return [Reply(t._("That location does not look valid. Please share it again."), [cards.menu_row(t)])]
    catalog = await ctx.catalog()
    stores = catalog.general_stores()
    if not stores:
        return [Reply(t._("No stores are listed yet."), [cards.menu_row(t)], remove_keyboard=True)]
    ranked = rank_stores(stores, lat, lon)
    placed = [r for r in ranked if r.km is not None][:NEAREST]
    unplaced = [r for r in ranked if r.km is None]
    product_slug = ctx.memory.product
    carrying: set[int] = set()
    if product_slug and cards.valid_slug(product_slug):
        product = catalog.product(product_slug)
        if product is not None:
            carrying = {s.id for s in catalog.stores_selling(product)}
    lines = [t._("📍 <b>OCOP stores nearest to you</b>")]
    for n, r in enumerate(placed, 1):
        mark = " ✓ " + t._("carries the product you looked at") if r.store.id in carrying else ""
        lines.append(f"{n}. <b>{h(r.store.name)}</b> — {distance_text(t, r)}{mark}")
        lines.append("   📍 " + cards.store_address(t, r.store))
        url = cards.store_map_url(r.store)
        if url:
            lines.append("   🗺 " + link(url, t._("Map")))
    if any(not r.exact for r in placed):
        lines += ["", t._("Distances marked approximate are measured to the town centre of the store's former "
                          "district, because the catalogue has no map position for the store; check its printed address.")]
    if placed and (placed[0].km or 0.0) > FAR_KM:
        lines += ["", t._("All listed stores are in Bac Giang, far from you. You can also buy online: {links}",
                          links=", ".join(link(o.url, o.platform) for o in catalog.platforms))]
    if unplaced:
        lines += ["", t._("Stores whose location is not listed:")]
        lines += [f"• <b>{h(r.store.name)}</b> — {cards.store_address(t, r.store)}" for r in unplaced]
    replies = [Reply(cards.clip("\n".join(lines)), [[Button(t._("🏪 All stores"), "m:where")] + cards.menu_row(t)],
                     remove_keyboard=True)]
    for r in placed[:3]:
        if r.exact and r.store.latitude is not None and r.store.longitude is not None:
            replies.append(Reply(venue=Venue(r.store.latitude, r.store.longitude, r.store.name, r.store.address)))
    return replies


# --- what the router sends here ------------------------------------------------------------------------

async def answer_where(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """Where to buy what the user named: one product, several, the one on screen, or stores in general."""
    if asked.near and not asked.query.strip():
        return location_prompt(ctx)
    query = asked.query.strip()
    ordinal = intent.parse_ordinal(query) if query else None
    if ordinal is not None and (slug := list_item(ctx, ordinal)):
        product = await load_product(ctx, slug)
        if product is not None:
            return await where_for_product(ctx, product, asked.place)
    if not query or refers_back(query):
        slug = ctx.memory.product
        if query and slug:
            product = await load_product(ctx, slug)
            if product is not None:
                return await where_for_product(ctx, product, asked.place)
        return await where_general(ctx, asked.place)
    answer = await search(ctx, query, limit=8)
    if not answer.results or not answer.terms:
        intro = ""
        if answer.terms:
            intro = ctx.t._("I couldn't find “{query}” in the catalogue, but these stores sell OCOP products:",
                            query=h(cards.short_label(query, 60))) + "\n"
        return await where_general(ctx, asked.place or _district(answer.filters), intro)
    if confident(answer):
        product = await load_product(ctx, answer.results[0].doc.slug)
        if product is not None:
            return await where_for_product(ctx, product, asked.place)
    products = (await ctx.catalog()).products_by_slug(r.doc.slug for r in answer.results)
    return await where_for_several(ctx, query, products, asked.place)


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
