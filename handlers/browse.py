"""Browsing the catalogue by product group, former district and stars, page by page; and "how many products…".

```mermaid
stateDiagram-v2
    [*] --> menu: /browse · "danh mục" · b:menu
    [*] --> page: a search that names only a part ("OCOP 4 sao Lục Ngạn", "đồ uống") · "how many …" → Show them
    menu --> page: b:c:<group>:0 · b:d:<district>:0 · b:s:<stars>:0
    page --> page: ‹ Previous · Next › (b:…:<page>, the message is edited)
    page --> card: a product's button (p:<slug>) or its number typed
    card --> page: « List
    page --> menu: 📚 Browse
    note right of page: a forged or stale payload answers "no longer available" and shows the menu
```

Pages hold `cards.PAGE_SIZE` products in Vietnamese alphabetical order (English names in English); the page on
screen is what a typed number refers to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalog.certificates import CertificateStatus, product_status, today_in_vietnam
from catalog.collation import collation_key
from catalog.models import CATEGORIES, Product
from handlers import cards, intent
from handlers.context import Context
from handlers.lookup import remember_list, search
from handlers.messages import Button, Reply, h, link
from handlers.payloads import Browse
from locales import Translator

MAX_PAGE = 9999  # page numbers in payloads are clamped to the real last page; this only bounds parsing

# The latest full provincial figure in the project's facts file (§4.1, source S5): stated as "reported".
REPORTED_TOTAL = 334
REPORTED_YEAR = 2024
REPORTED_FIVE_STAR = 1
REPORTED_SOURCE = "https://doanhnhan.congly.vn/print/453333.html"


@dataclass(frozen=True, slots=True)
class Filter:
    """A part of the catalogue. `stars=0` means "no rating listed"; `min_stars` means that many or more."""

    category: str | None = None
    district: str | None = None  # as written in the catalogue
    stars: int | None = None
    min_stars: bool = False

    @property
    def empty(self) -> bool:
        return self.category is None and self.district is None and self.stars is None

    def payload(self, page: int) -> str | None:
        """The shortest payload for this filter's page, or None if it does not fit in 64 bytes."""
        parts = [self.category is not None, self.district is not None, self.stars is not None]
        if sum(parts) == 1 and not self.min_stars:
            if self.category is not None:
                text = f"b:c:{self.category}:{page}"
            elif self.district is not None:
                text = f"b:d:{cards.district_slug(self.district)}:{page}"
            else:
                text = f"b:s:{self.stars}:{page}"
        else:
            stars = "-" if self.stars is None else f"{self.stars}{'+' if self.min_stars else ''}"
            district = cards.district_slug(self.district) if self.district else "-"
            text = f"b:x:{stars}:{self.category or '-'}:{district}:{page}"
        return text if len(text.encode()) <= 64 else None

    @classmethod
    def from_search(cls, filters: dict[str, Any]) -> Filter | None:
        """The filter the catalogue search recognised, if browsing can show it (one group, one district)."""
        category, district = filters.get("category"), filters.get("district")
        if not isinstance(category, str | None) or not isinstance(district, str | None) or filters.get("commune"):
            return None
        stars, min_stars = filters.get("stars"), False
        if stars is None and filters.get("min_stars") is not None:
            stars, min_stars = filters.get("min_stars"), True
        if stars is not None and not isinstance(stars, int):
            return None
        return cls(category if category in CATEGORIES else None, district, stars, min_stars)

    def matches(self, product: Product) -> bool:
        if self.category and product.category != self.category:
            return False
        if self.district is not None and product.district != self.district:
            return False
        if self.stars == 0:
            return product.stars is None
        if self.stars is not None:
            if product.stars is None:
                return False
            return product.stars >= self.stars if self.min_stars else product.stars == self.stars
        return True

    def select(self, products: Iterable[Product]) -> list[Product]:
        """The matching products, in the order given."""
        return [p for p in products if self.matches(p)]

    def describe(self, t: Translator) -> str:
        bits = []
        if self.category:
            bits.append(cards.category_name(t, self.category))
        if self.district:
            bits.append(cards.former_district(t, self.district))
        if self.stars == 0:
            bits.append(t._("star rating not listed"))
        elif self.stars is not None:
            label = t._("{stars} stars or more", stars=t.number(self.stars)) if self.min_stars else cards.stars_text(
                t, self.stars)
            bits.append(label)
        return " · ".join(bits) if bits else t._("All products")


async def district_names(ctx: Context) -> dict[str, str]:
    """Payload slug → former district as written, for the districts the catalogue has products in."""
    return {cards.district_slug(d): d for d in (await ctx.catalog()).districts}


async def parse_payload(ctx: Context, parts: list[str]) -> tuple[Filter, int] | None:
    """`b:c:food:2`, `b:d:luc-ngan:0`, `b:s:4:1`, `b:x:4+:food:luc-ngan:0` → (filter, page); None if forged."""
    if not parts or not (parts[-1].isascii() and parts[-1].isdigit()) or len(parts[-1]) > 6:
        return None
    page = min(int(parts[-1]), MAX_PAGE)
    kind, args = parts[0], parts[1:-1]
    if kind == "c" and len(args) == 1 and args[0] in CATEGORIES:
        return Filter(category=args[0]), page
    if kind == "d" and len(args) == 1:
        district = (await district_names(ctx)).get(args[0])
        return (Filter(district=district), page) if district else None
    if kind == "s" and len(args) == 1 and args[0] in ("0", "1", "2", "3", "4", "5"):
        return Filter(stars=int(args[0])), page
    if kind == "x" and len(args) == 3:
        stars_arg, category, district_arg = args
        min_stars = stars_arg.endswith("+")
        stars_digits = stars_arg.rstrip("+")
        if stars_arg != "-" and stars_digits not in ("0", "1", "2", "3", "4", "5"):
            return None
        if category != "-" and category not in CATEGORIES:
            return None
        district = None
        if district_arg != "-":
            district = (await district_names(ctx)).get(district_arg)
            if district is None:
                return None
        stars = None if stars_arg == "-" else int(stars_digits)
        return Filter(None if category == "-" else category, district, stars, min_stars), page
    return None


async def count(ctx: Context, flt: Filter) -> int:
    return sum(1 for p in (await ctx.catalog()).products if flt.matches(p))


def certificate_breakdown(t: Translator, products: Iterable[Product]) -> str:
    """", of which: 0 with a valid OCOP recognition decision; 2 whose certificate has expired; 86 not
    confirmed…": "OCOP products" only for the ones a decision on record makes so, today."""
    today = today_in_vietnam()
    states = Counter(product_status(p, today) for p in products)
    parts = [t.n_("{n} with a valid OCOP recognition decision on record",
                  "{n} with a valid OCOP recognition decision on record", states[CertificateStatus.VALID])]
    if states[CertificateStatus.EXPIRING]:
        parts.append(t.n_("{n} whose certificate expires within 90 days",
                          "{n} whose certificate expires within 90 days", states[CertificateStatus.EXPIRING]))
    if states[CertificateStatus.EXPIRED]:
        parts.append(t.n_("{n} whose certificate has expired (shown as such)",
                          "{n} whose certificate has expired (shown as such)", states[CertificateStatus.EXPIRED]))
    if states[CertificateStatus.UNCONFIRMED]:
        parts.append(t.n_("{n} not confirmed: no recognition decision on record, only news reports",
                          "{n} not confirmed: no recognition decision on record, only news reports",
                          states[CertificateStatus.UNCONFIRMED]))
    return t._(", of which: {parts}.", parts="; ".join(parts))


async def filter_page(ctx: Context, flt: Filter, page: int, *, edit: bool = False) -> list[Reply]:
    """One page of a part of the catalogue, best rated first, numbered from 1, with prev/next buttons."""
    t = ctx.t
    catalog = await ctx.catalog()
    language = t.language
    matching = catalog.selection(("browse", flt, language), lambda: flt.select(catalog.best_first_in(language)))
    total = len(matching)
    if total == 0:
        return [Reply(t._("No products in the catalogue match: {what}.", what=h(flt.describe(t))),
                      [[Button(t._("📚 Browse"), "b:menu")] + cards.menu_row(t)], edit=edit)]
    pages = -(-total // cards.PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = list(matching[page * cards.PAGE_SIZE : (page + 1) * cards.PAGE_SIZE])
    ctx.remember_results([p.slug for p in shown])
    ctx.memory.back = flt.payload(page)  # where "« List" on a product card returns to
    head = f"📚 <b>{h(flt.describe(t))}</b>: " + t.n_("{n} product", "{n} products", total)
    if pages > 1:
        head += " " + t._("(page {page} of {pages})", page=t.number(page + 1), pages=t.number(pages))
    lines = [head, *cards.kept_lines(t, catalog, shown)]
    lines += ["", t._("Tap a product, or type its number.")]
    prev_payload = flt.payload(page - 1) if page > 0 else None
    next_payload = flt.payload(page + 1) if page + 1 < pages else None
    nav = cards.row(
        cards.payload_button(t._("‹ Previous"), prev_payload) if prev_payload else None,
        cards.payload_button(t._("Next ›"), next_payload) if next_payload else None,
    )
    buttons = cards.numbered_buttons(shown, t.language) + cards.rows(
        nav, [Button(t._("📚 Browse"), "b:menu")] + cards.menu_row(t)
    )
    return [Reply(cards.clip("\n".join(lines)), buttons, edit=edit)]


async def browse_menu(ctx: Context, *, edit: bool = False) -> list[Reply]:
    """Choose a product group, a number of stars or a former district, each with its product count."""
    t = ctx.t
    catalog = await ctx.catalog()
    total = len(catalog.products)
    by_category = Counter(p.category for p in catalog.products)
    by_stars = Counter(p.stars for p in catalog.products)
    by_district = catalog.districts.items()
    text = "\n".join([
        t._("📚 <b>Browse the catalogue</b>") + " — " + t.n_("{n} product", "{n} products", total)
        + (certificate_breakdown(t, catalog.products) if total else ""),
        t._("Choose a product group, a star rating or a former district:"),
    ])
    groups = [Button(f"{cards.category_name(t, c)} ({t.number(by_category[c])})", f"b:c:{c}:0")
              for c in CATEGORIES if by_category.get(c)]
    stars = [Button(f"{cards.star_glyphs(s)} ({t.number(by_stars[s])})", f"b:s:{s}:0")
             for s in (5, 4, 3, 2, 1) if by_stars.get(s)]
    if by_stars.get(None):
        stars.append(Button(t._("Not rated ({n})", n=t.number(by_stars[None])), "b:s:0:0"))
    places = [b for d, n in sorted(by_district, key=lambda r: (-r[1], collation_key(r[0])))
              if (b := cards.payload_button(f"{d} ({t.number(n)})", f"b:d:{cards.district_slug(d)}:0"))]
    buttons = _chunk(groups, 2) + _chunk(stars, 4) + _chunk(places, 3) + [cards.menu_row(t)]
    return [Reply(text, buttons, edit=edit)]


def _chunk(buttons: list[Button], size: int) -> list[list[Button]]:
    return [buttons[i : i + size] for i in range(0, len(buttons), size)]


def reported_sentence(t: Translator) -> str:
    # Translated first: gettext extraction does not see a _() nested inside another _() call.
    source = link(REPORTED_SOURCE, t._("source"))
    return t._(
        "For comparison, Bac Giang province reported {total} OCOP products in {year}, {five} of them rated 5 stars "
        "nationally ({source}).",
        total=t.number(REPORTED_TOTAL), year=str(REPORTED_YEAR), five=t.number(REPORTED_FIVE_STAR),
        source=source,
    )


async def how_many(ctx: Context, query: str) -> list[Reply]:
    """Count products in the catalogue by what was asked (stars, group, district, or product words)."""
    t = ctx.t
    answer = await search(ctx, query, limit=1000) if query.strip() else None
    buttons: list[list[Button]] = []
    catalog = await ctx.catalog()
    if answer is not None and answer.terms and answer.results:
        n = len(answer.results)
        what = h(cards.short_label(query, 60))
        counted = catalog.products_by_slug(r.doc.slug for r in answer.results)
        sentence = t.n_("The demo catalogue lists {n} product matching “{what}”",
                        "The demo catalogue lists {n} products matching “{what}”", n, what=what)
        remember_list(ctx, [r.doc.slug for r in answer.results], t._("Products matching “{query}”:", query=what))
        buttons.append([Button(t._("Show them"), "l:0")])
    else:
        flt = (Filter.from_search(answer.filters) if answer is not None else None) or Filter()
        counted = [p for p in catalog.products if flt.matches(p)]
        n = len(counted)
        if flt.empty:
            sentence = t.n_("The demo catalogue lists {n} product", "The demo catalogue lists {n} products", n)
        else:
            sentence = t.n_("The demo catalogue lists {n} product ({what})",
                            "The demo catalogue lists {n} products ({what})", n, what=h(flt.describe(t)))
        payload = flt.payload(0) if not flt.empty else "b:menu"
        if n and payload:
            buttons.append([Button(t._("Show them"), payload)])
    if n:
        sentence += certificate_breakdown(t, counted)
    else:
        sentence += "."
    lines = [sentence, reported_sentence(t),
             t._("The demo holds only a sample, built from news articles.")]
    buttons.append([Button(t._("📚 Browse"), "b:menu")] + cards.menu_row(t))
    return [Reply("\n".join(lines), buttons)]


async def on_browse_button(ctx: Context, data: Browse) -> list[Reply]:
    """`b:menu` and the `b:…` pages of a product group, district or star rating."""
    if data.parts == ("menu",):
        return await browse_menu(ctx)
    parsed = await parse_payload(ctx, list(data.parts))
    if parsed is None:
        t = ctx.t
        return [Reply(t._("That list is no longer available. Choose again:"), notice=t._("List not available"))
                ] + await browse_menu(ctx)
    flt, page = parsed
    return await filter_page(ctx, flt, page, edit=cards.edit_if_tapped(ctx))


async def on_browse(ctx: Context, *_: object) -> list[Reply]:
    """`/browse`, "browse", "danh mục": the browse menu."""
    return await browse_menu(ctx)


async def on_count(ctx: Context) -> list[Reply]:
    """`m:count`: how many products the catalogue lists."""
    return await how_many(ctx, "")


async def on_how_many(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """"bao nhiêu sản phẩm OCOP 4 sao", "how many lychee products"."""
    return await how_many(ctx, asked.query)
