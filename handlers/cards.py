"""Shared reply formatting: product cards and lines, stars, product groups, places, menus, map links, lists."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from catalog.certificates import CertificateStatus, certificate_of, product_status, today_in_vietnam
from catalog.text import clean, fold
from handlers.messages import MAX_PAYLOAD_BYTES, Button, Reply, h, link
from locales import N_, Translator

if TYPE_CHECKING:
    from catalog.models import Contact, OnlineListing, Producer, Product, Store
    from catalog.snapshot import Catalog
    from handlers.context import Context

# Telegram allows 4,096 characters; staying well under leaves room for escaping and channel decorations.
MAX_TEXT = 3500
LABEL_CHARS = 48  # longer button labels wrap badly on phones
PAGE_SIZE = 8

CATEGORY_NAMES = {
    "food": N_("Food"),
    "beverage": N_("Beverages"),
    "herbal": N_("Herbal products"),
    "textile": N_("Textiles and garments"),
    "handicraft": N_("Handicrafts and souvenirs"),
    "tourism": N_("Rural and community tourism"),
}
STORE_KINDS = {
    "ocop_store": N_("OCOP store"),
    "sales_point": N_("OCOP sales point"),
    "display_point": N_("OCOP display and sales point"),
    "supermarket": N_("Supermarket"),
    "fair": N_("Fair"),
}
PRODUCER_KINDS = {
    "cooperative": N_("cooperative"),
    "company": N_("company"),
    "household": N_("household business"),
    "other": N_("producer"),
}


# --- small pieces ---------------------------------------------------------------------------------------

def payload_button(label: str, payload: str) -> Button | None:
    """A payload button, or None when the payload would not fit (a very long slug from an import)."""
    if not payload or len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return None
    return Button(short_label(label), payload)


def bold(text: str) -> str:
    """Escaped text in bold."""
    return f"<b>{h(text)}</b>"


def code(text: str) -> str:
    return f"<code>{h(text)}</code>"


def row(*buttons: Button | None) -> list[Button]:
    return [b for b in buttons if b is not None]


def rows(*rows_: Sequence[Button | None]) -> list[list[Button]]:
    """Rows of buttons without the ones that could not be made, and without empty rows."""
    out = [[b for b in r if b is not None] for r in rows_]
    return [r for r in out if r]


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    """One line of at most `limit` characters, without control or zero-width characters (user text too)."""
    text = clean(str(text))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def shorten(text: str, limit: int) -> str:
    """`text` cut at a sentence or word boundary near `limit` characters."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence = max(cut.rfind(". "), cut.rfind("; "))
    if sentence > limit * 0.6:
        return cut[: sentence + 1]
    return cut[: cut.rfind(" ")].rstrip(",;:–- ") + "…" if " " in cut else cut + "…"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Keep a reply under the size limit, cutting between lines so no tag is left open."""
    if len(text) <= limit:
        return text
    out: list[str] = []
    size = 0
    for line in text.split("\n"):
        if size + len(line) + 1 > limit - 2:
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out) + "\n…"


def district_slug(district: str) -> str:
    """Language-neutral slug of a former district for payloads: 'Lục Ngạn' → 'luc-ngan'."""
    return "-".join(fold(district).split())[:40]


def category_name(t: Translator, code: str) -> str:
    return t._(CATEGORY_NAMES[code]) if code in CATEGORY_NAMES else code


def store_kind(t: Translator, kind: str) -> str:
    return t._(STORE_KINDS[kind]) if kind in STORE_KINDS else kind


def star_glyphs(stars: int | None) -> str:
    return "★" * max(0, min(int(stars or 0), 5))


def stars_text(t: Translator, stars: int | None, year: int | None = None) -> str:
    """'★★★★ 4-star OCOP (2022)', or that the rating is not listed."""
    if not stars:
        return t._("star rating not listed")
    if year:
        label = t._("{stars}-star OCOP ({year})", stars=t.number(stars), year=str(year))
    else:
        label = t._("{stars}-star OCOP", stars=t.number(stars))
    return f"{star_glyphs(stars)} {label}"


LEVEL_NAMES = {
    "district": N_("district level"),
    "province": N_("provincial level"),
    "national": N_("national level"),
}


def decision_date(t: Translator, day: dt.date) -> str:
    """09/12/2021 in Vietnamese, as decisions are dated; 9 Dec 2021 in English."""
    from babel.dates import format_date

    return day.strftime("%d/%m/%Y") if t.language == "vi" else format_date(day, "d MMM y", locale=t.locale)


def month_text(t: Translator, day: dt.date) -> str:
    """12/2024 in Vietnamese, Dec 2024 in English."""
    from babel.dates import format_date

    return day.strftime("%m/%Y") if t.language == "vi" else format_date(day, "MMM y", locale=t.locale)


def certificate_text(t: Translator, product: Product, today: dt.date | None = None) -> str:
    """The recognition decision and its state on `today`: "QĐ 1387/QĐ-UBND (provincial level) 09/12/2021 ·
    expired 12/2024", or that no decision is on record. Escaped."""
    cert = certificate_of(product)
    status = cert.status(today or today_in_vietnam())
    if status is CertificateStatus.UNCONFIRMED:
        return t._("recognition decision not confirmed")
    level = f" ({t._(LEVEL_NAMES[cert.level])})" if cert.level in LEVEL_NAMES else ""
    signed = f" {decision_date(t, cert.certified_on)}" if cert.certified_on else ""
    head = t._("Decision {number}", number=h(cert.number)) + level + signed
    expires = cert.expires_on
    assert expires is not None  # confirmed
    if status is CertificateStatus.VALID:
        state = t._("valid until {month}", month=month_text(t, expires))
    elif status is CertificateStatus.EXPIRING:
        days = (expires - (today or today_in_vietnam())).days
        state = t.n_("expires on {date} ({n} day left)", "expires on {date} ({n} days left)", days,
                     date=decision_date(t, expires))
    else:
        state = t._("expired {month}", month=month_text(t, expires))
    return f"{head} · {state}"


def certificate_line(t: Translator, product: Product, today: dt.date | None = None) -> str:
    """'OCOP ★★★★ · Decision … · expired 12/2024' for a card: the stars and the decision behind them."""
    label = f"OCOP {t.number(product.stars)}★" if product.stars else "OCOP"
    return f"📜 {label} · {certificate_text(t, product, today)}"


def status_mark(t: Translator, product: Product, today: dt.date | None = None) -> str:
    """A short word for a list line when the certificate is not a valid one on record ('' when it is)."""
    status = product_status(product, today or today_in_vietnam())
    if status is CertificateStatus.EXPIRED:
        return t._("certificate expired")
    if status is CertificateStatus.EXPIRING:
        return t._("certificate expiring")
    if status is CertificateStatus.UNCONFIRMED:
        return t._("not confirmed")
    return ""


def former_district(t: Translator, district: str) -> str:
    return t._("{district} (former district)", district=district)


def place_text(t: Translator, product: Product) -> str:
    """Commune, former district and province as written in the catalogue, or that none is listed."""
    parts = [product.commune] if product.commune else []
    if product.district:
        parts.append(former_district(t, product.district))
    if product.province:
        parts.append(product.province)
    return ", ".join(parts) if parts else t._("place not listed")


def product_name(product: Product, language: str) -> str:
    """The name to show first in a list: the English name for English readers when there is one."""
    if language == "en" and product.name_en:
        return product.name_en
    return product.name_vi


def description(product: Product | Store | OnlineListing, language: str) -> str:
    text = product.description_en if language == "en" else product.description_vi
    return text or product.description_vi or ""


def in_own_language(t: Translator, product: Product | Store | OnlineListing) -> bool:
    """False when the reader's language has no description of its own and the Vietnamese one is shown."""
    return t.language != "en" or bool(product.description_en) or not product.description_vi


def map_url(latitude: float, longitude: float) -> str:
    return "https://www.google.com/maps/search/?" + urlencode({"api": "1", "query": f"{latitude:.6f},{longitude:.6f}"})


def map_search_url(text: str) -> str:
    return "https://www.google.com/maps/search/?api=1&query=" + quote(text, safe="")


def store_map_url(store: Store) -> str:
    """A map link for a store: its coordinates when the catalogue has them, else its printed address."""
    if store.latitude is not None and store.longitude is not None:
        return map_url(store.latitude, store.longitude)
    if store.address:
        return map_search_url(", ".join(p for p in (store.address, store.province or "Bắc Giang") if p))
    return ""


def store_address(t: Translator, store: Store) -> str:
    """The printed address; else the commune or town and former district the sources give, said to be no more."""
    if store.address:
        return h(store.address)
    if store.commune:
        place = ", ".join([store.commune] + ([former_district(t, store.district)] if store.district else []))
        return t._("{place} (street address not listed)", place=h(place))
    if store.district:
        return t._("address not listed ({place})", place=h(former_district(t, store.district)))
    return t._("address not listed")


def contact_details(t: Translator, entity: Producer | Contact | Store, *, with_address: bool = True) -> list[str]:
    """Published phone, e-mail, website and address lines; empty when none is published."""
    lines = []
    if entity.phone:
        lines.append(t._("Phone: {phone}", phone=h(entity.phone)))
    if entity.email:
        lines.append(t._("E-mail: {email}", email=h(entity.email)))
    if entity.website:
        lines.append(t._("Website: {link}", link=link(entity.website, website_label(entity.website))))
    address = getattr(entity, "address", "") if with_address else ""
    if address:
        lines.append(t._("Address: {address}", address=h(address)))
    return lines


def website_label(url: str) -> str:
    """'https://ttkhuyencong.bacgiang.gov.vn/' → 'ttkhuyencong.bacgiang.gov.vn' (the link keeps the full URL)."""
    label = re.sub(r"^https?://", "", url.strip()).rstrip("/")
    return label or url


def has_contact(entity: Producer | Contact | Store) -> bool:
    return any(getattr(entity, f, "") for f in ("phone", "email", "website", "address"))


# --- menus ----------------------------------------------------------------------------------------------

def main_menu(t: Translator) -> list[list[Button]]:
    """The main menu: find products · where to buy · contacts · browse · bulk enquiry · language."""
    return [
        [Button(t._("🔎 Find products"), "m:find"), Button(t._("🏪 Where to buy"), "m:where")],
        [Button(t._("📞 Contacts"), "m:contacts"), Button(t._("📚 Browse"), "b:menu")],
        [Button(t._("📦 Bulk enquiry"), "enq:start"), Button(t._("🌐 Language"), "lang:menu")],
    ]


def menu_row(t: Translator) -> list[Button]:
    return [Button(t._("☰ Menu"), "m:start")]


def location_keyboard(t: Translator) -> list[list[Button]]:
    return [[Button(t._("📍 Send my location"), kind="location")]]


def product_buttons(t: Translator, slug: str) -> list[list[Button]]:
    return rows(
        [payload_button(t._("🏪 Where to buy"), f"where:{slug}"), payload_button(t._("📞 Contact"), f"contact:{slug}")],
        [payload_button(t._("📦 Bulk enquiry"), f"enq:start:{slug}"),
         payload_button(t._("🔁 More like this"), f"more:{slug}")],
        menu_row(t),
    )


# --- products -------------------------------------------------------------------------------------------

def product_line(t: Translator, product: Product, number: int | None = None, today: dt.date | None = None) -> str:
    """One list line: number, bold name, stars and former district."""
    head = f"{number}. " if number is not None else "• "
    return head + line_body(t, product, today)


def line_body(t: Translator, product: Product, today: dt.date | None = None) -> str:
    """A list line after its number: bold name, stars, former district, a certificate that is not valid."""
    name = product_name(product, t.language)
    other = product.name_vi if name != product.name_vi else ""
    bits = [star_glyphs(product.stars) or t._("stars not listed")]
    if product.district:
        bits.append(h(product.district))
    mark = status_mark(t, product, today)
    if mark:
        bits.append(f"<i>{h(mark)}</i>")
    extra = f" / <i>{h(other)}</i>" if other else ""
    return f"<b>{h(name)}</b>{extra} — " + " · ".join(bits)


def kept_lines(t: Translator, catalog: Catalog, products: Iterable[Product]) -> list[str]:
    """`product_line` of each product, numbered from 1, each line's text kept by the catalogue snapshot for the
    next list that shows the product (`Catalog.rendered`: per product, language and day)."""
    today = today_in_vietnam()
    return [f"{n}. " + catalog.rendered(p, ("line", t.language, today), lambda p=p: line_body(t, p, today))
            for n, p in enumerate(products, 1)]


def kept_card(t: Translator, catalog: Catalog, product: Product) -> str:
    """`product_card` of a product of `catalog`, kept by the snapshot for the next message that shows it."""
    today = today_in_vietnam()
    return catalog.rendered(product, ("card", t.language, today), lambda: product_card(
        t, product, catalog.stores_selling(product), catalog.online_platforms(product), today))


def numbered_buttons(products: Iterable[Product], language: str, prefix: str = "p") -> list[list[Button]]:
    out = []
    for n, product in enumerate(products, 1):
        button = payload_button(f"{n}. {product_name(product, language)}", f"{prefix}:{product.slug}")
        if button:
            out.append([button])
    return out


def product_card(
    t: Translator,
    product: Product,
    stores: Sequence[Store],
    listings: Sequence[OnlineListing],
    today: dt.date | None = None,
) -> str:
    """The product card: names, stars, group, producer, place, a short description, where to buy, contact; the
    certificate's state as of `today` (the department's day when None)."""
    lang = t.language
    if lang == "en" and product.name_en:  # the reader's language first, the other name after it
        lines = [f"<b>{h(product.name_en)}</b>", f"<i>{h(product.name_vi)}</i>"]
    else:
        lines = [f"<b>{h(product.name_vi)}</b>"] + ([f"<i>{h(product.name_en)}</i>"] if product.name_en else [])
    lines.append(stars_text(t, product.stars, product.year))
    lines.append(certificate_line(t, product, today))
    season = product.season_en if lang == "en" and product.season_en else product.season_vi
    if season:
        lines.append(t._("🗓 In season: {season}", season=h(season)))
    lines.append(t._("Product group: {group}", group=h(category_name(t, product.category))))
    producer = product.producer
    if producer is not None:
        kind = t._(PRODUCER_KINDS.get(producer.kind, PRODUCER_KINDS["other"]))
        lines.append(t._("Producer: {name} ({kind})", name=h(producer.name), kind=h(kind)))
    else:
        lines.append(t._("Producer: not named in our sources"))
    lines.append(t._("Place: {place}", place=h(place_text(t, product))))
    text = description(product, lang)
    if text:
        lines += ["", h(shorten(text, 420))]
        if not in_own_language(t, product):
            lines[-1] += " " + h(t._("(in Vietnamese)"))
    lines.append("")
    if stores:
        names = ", ".join(h(s.name) for s in stores[:3])
        lines.append(t._("🏪 Where to buy: {stores}", stores=names))
    else:
        lines.append(t._("🏪 Where to buy: no shop has reported carrying it yet; tap “Where to buy” for the OCOP stores."))
    own = [o for o in listings if o.product_id == product.id]
    if own:
        lines.append(t._("🛒 Online: {links}", links=", ".join(link(o.url, o.platform) for o in own[:4])))
    else:
        general = [o for o in listings if o.product_id is None]
        if general:
            lines.append(t._("🛒 Online: no listing of its own yet; OCOP products are sold on {links}",
                             links=", ".join(link(o.url, o.platform) for o in general[:5])))
    if producer is not None and has_contact(producer):
        lines.append(t._("📞 Contact: {details}", details="; ".join(contact_details(t, producer))))
    else:
        lines.append(t._("📞 Contact: no phone or e-mail is published for this producer yet."))
    return clip("\n".join(lines))


def demo_note(t: Translator) -> str:
    return t._("Note: this catalogue is a demo built from public news articles, not the department's official list.")


def reply(text: str, buttons: list[list[Button]] | None = None, **kw: object) -> Reply:
    return Reply(clip(text), buttons or [], **kw)  # type: ignore[arg-type]


def edit_if_tapped(ctx: Context) -> bool:
    """Replace the message a button was on (page turns), when the channel told us which one."""
    return bool(ctx.incoming.payload and ctx.incoming.message_id)


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")


def valid_slug(slug: str) -> bool:
    """Cheap check before a database lookup: forged payloads (`p:../../etc`) never reach a query."""
    return bool(_SLUG.match(slug or ""))
