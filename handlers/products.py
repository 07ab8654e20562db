"""Product questions: catalogue search, the product card, short lists to pick from, follow-ups, "more like this".

The catch-all: the router sends here any text no other intent took, and any button nobody knew.
"""

from __future__ import annotations

from catalog.collation import collation_key
from catalog.models import Product
from catalog.search import SearchAnswer
from catalog.text import fold
from handlers import browse, cards, intent, needs
from handlers.context import Context
from handlers.lookup import (
    CARD_MARGIN,
    LIST_LIMIT,
    load_product,
    named_words,
    not_found,
    remember_list,
    search,
)
from handlers.messages import Button, Reply, h
from handlers.payloads import ListPage, MoreLike, ProductCard

__all__ = ["CARD_MARGIN", "LIST_LIMIT", "load_product", "not_found", "remember_list", "search"]


async def card_reply(ctx: Context, product: Product, extra: str = "",
                     more: list[list[Button]] | None = None) -> Reply:
    """The product card with its buttons; the product becomes "it" for the next question."""
    t = ctx.t
    catalog = await ctx.catalog()
    text = cards.kept_card(t, catalog, product)
    if extra:
        text = cards.clip(text + "\n\n" + extra)
    ctx.memory.product = product.slug
    buttons = cards.product_buttons(t, product.slug)
    ctx.record("card_view", product=product.slug)  # demand insight (catalog/events.py)
    if more:
        buttons = buttons[:-1] + more + buttons[-1:]
    back = ctx.memory.back
    if back and (button := cards.payload_button(t._("« List"), back)):
        buttons[-1] = [button, *buttons[-1]]
    return Reply(text, buttons, image=product.image)


async def product_replies(ctx: Context, slug: str, *, quiet: bool = False) -> list[Reply]:
    product = await load_product(ctx, slug)
    if product is None:
        return [] if quiet else not_found(ctx)
    return [await card_reply(ctx, product)]


# --- lists ----------------------------------------------------------------------------------------------

async def list_page(ctx: Context, page: int, *, edit: bool = False) -> list[Reply]:
    """One page of the remembered list, numbered from 1, with buttons to open each product."""
    t = ctx.t
    saved = ctx.memory.saved_list
    slugs = saved.slugs if saved else []
    if saved is None or not slugs:
        return [Reply(t._("That list is no longer available. Type a product name to search again."),
                      [cards.menu_row(t)])]
    pages = max(1, -(-len(slugs) // cards.PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    catalog = await ctx.catalog()
    shown = catalog.products_by_slug(slugs[page * cards.PAGE_SIZE : (page + 1) * cards.PAGE_SIZE])
    ctx.remember_results([p.slug for p in shown])
    ctx.memory.back = f"l:{page}"
    lines = [saved.title]  # reply HTML we wrote ourselves, user words already escaped
    if pages > 1:
        lines[0] += " " + t._("(page {page} of {pages})", page=t.number(page + 1), pages=t.number(pages))
    lines += cards.kept_lines(t, catalog, shown)
    lines += ["", t._("Tap a product, or type its number.")]
    nav = cards.row(
        cards.payload_button(t._("‹ Previous"), f"l:{page - 1}") if page > 0 else None,
        cards.payload_button(t._("Next ›"), f"l:{page + 1}") if page + 1 < pages else None,
    )
    buttons = cards.numbered_buttons(shown, t.language) + cards.rows(nav, cards.menu_row(t))
    return [Reply(cards.clip("\n".join(lines)), buttons, edit=edit)]


async def show_list(ctx: Context, slugs: list[str], title: str) -> list[Reply]:
    remember_list(ctx, slugs, title)
    return await list_page(ctx, 0)


# --- search ---------------------------------------------------------------------------------------------

def quoted(text: str, limit: int = 60) -> str:
    return h(cards.short_label(text, limit))


async def no_match(ctx: Context, text: str, answer: SearchAnswer) -> list[Reply]:
    """Nothing matched: say so, offer the near misses, and say plainly the catalogue is a demo."""
    t = ctx.t
    ctx.memory.back = None
    if answer.doubted:
        # Products were found, but maybe not what was asked for: the words they were found by may be misread, so
        # they are not repeated back ("bông tẩy trang …, mai e đi hẹn hò": no "mai" of Đa Mai was asked for).
        lines = [t._("I'm not sure the OCOP catalogue has what you are looking for.")]
    else:
        # What was asked, as typed, not the question around it ("mứt gừng Tết", not "… còn không shop").
        asked = named_words(text, answer.terms, answer.filters) if answer.terms else text
        lines = [t._("I couldn't find “{query}” in the OCOP catalogue.", query=quoted(asked))]
    buttons: list[list[Button]] = []
    if answer.suggestions:
        catalog = await ctx.catalog()
        products = catalog.products_by_slug(s.doc.slug for s in answer.suggestions)
        lines += ["", t._("The closest products I found:") if answer.doubted else t._("Did you mean:")]
        lines += cards.kept_lines(t, catalog, products)
        buttons = cards.numbered_buttons(products, t.language)
        ctx.remember_results([p.slug for p in products])
    else:
        lines += ["", t._("Try fewer words, another spelling, or the English name (no diacritics needed).")]
    lines += ["", f"<i>{h(cards.demo_note(t))}</i> "
              + t._("Many real OCOP products are not in it yet.")]
    buttons += [[Button(t._("📚 Browse"), "b:menu")] + cards.menu_row(t)]
    return [Reply("\n".join(lines), buttons)]


def not_understood(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(
        t._("I'm not sure what you are looking for. Type a product name, for example <i>Chu noodles</i> or "
            "<i>lychee</i>, or choose from the menu."),
        cards.main_menu(t),
    )]


async def overview(ctx: Context) -> list[Reply]:
    """"shop có những sản phẩm gì", "what do you recommend", "món nào bán chạy nhất": no product named, so the
    catalogue itself, best rated first; sales are not published, so the bot does not claim what sells best."""
    t = ctx.t
    intro = Reply(h(t._("No sales figures are published, so I cannot say what sells best. Here is the catalogue, "
                        "best rated first; you can also browse it by group or former district.")))
    return [intro, *await browse.filter_page(ctx, browse.Filter(), 0)]


async def need_selection(ctx: Context, answer: SearchAnswer) -> list[Reply]:
    """"quà biếu tết cho sếp", "đau xương khớp", "what should I buy for the altar": a short selection for the
    need the search read, under a heading that says on what basis it was chosen."""
    t = ctx.t
    title = "\n".join([needs.needs_title(t, needs.needs_of(answer)), *needs.asks_notes(t, answer.asks)])
    return await show_list(ctx, [hit.doc.slug for hit in answer.results][: needs.SELECTION], title)


async def search_replies(ctx: Context, text: str) -> list[Reply]:
    """Answer a product question: one card, a short list to pick from, a part of the catalogue, or no match."""
    t = ctx.t
    answer = await search(ctx, text)
    if not answer.results:
        if needs.beyond_catalogue(answer.asks):
            return [Reply(needs.beyond_catalogue_note(t, answer.asks), cards.main_menu(t))]
        # (Products the gate doubted are offered as the closest, however they were found.)
        if not answer.terms and not answer.filters and "overview" in answer.asks and not answer.doubted:
            return await overview(ctx)
        if not answer.terms and not answer.filters and not answer.doubted:
            return not_understood(ctx)
        return await no_match(ctx, text, answer)
    notes = needs.asks_notes(t, answer.asks)
    if not answer.terms and needs.needs_of(answer):
        return await need_selection(ctx, answer)
    if not answer.terms and answer.filters:
        # "OCOP 4 sao Lục Ngạn", "đồ uống": a part of the catalogue, paged like browsing.
        flt = browse.Filter.from_search(answer.filters)
        if flt is not None:
            return await browse.filter_page(ctx, flt, 0)
    results = answer.results
    slugs = [hit.doc.slug for hit in results]
    # The header repeats what the buyer named, not the question around it ("vải thiều", not "… giá bao nhiêu").
    named = named_words(text, answer.terms, answer.filters) if answer.terms else text
    confident = len(results) == 1 or results[0].score - results[1].score >= CARD_MARGIN
    if confident and answer.terms:
        product = await load_product(ctx, slugs[0])
        if product is not None:
            ctx.remember_results(slugs)
            ctx.memory.back = None
            extra = "\n".join(notes)
            if len(slugs) > 1:
                remember_list(ctx, slugs, t._("Products matching “{query}”:", query=quoted(named)))
                more = [[Button(t._("See all {n} matches", n=t.number(len(slugs))), "l:0")]]
                return [await card_reply(ctx, product, extra, more=more)]
            return [await card_reply(ctx, product, extra)]
    title = t.n_("I found {n} product for “{query}”:", "I found {n} products for “{query}”:", len(slugs),
                 query=quoted(named))
    return await show_list(ctx, slugs, "\n".join([title, *notes]))


# --- follow-ups -----------------------------------------------------------------------------------------

async def pick(ctx: Context, ordinal: int) -> list[Reply]:
    """"số 2", "the second one": the product at that place in the list on screen."""
    t = ctx.t
    last = ctx.memory.shown
    if not last:
        return [Reply(t._("There is no list to choose from yet. Type a product name first."), cards.main_menu(t))]
    ctx.keep_list()  # the list stays on screen: the next number still refers to it
    index = len(last) - 1 if ordinal == intent.LAST else ordinal - 1
    if not 0 <= index < len(last):
        return [Reply(t.n_("The last list has only {n} item. Type a number from the list.",
                           "The last list has only {n} items. Type a number from the list.", len(last)),
                      [cards.menu_row(t)])]
    return await product_replies(ctx, last[index])


def _similarity(base: Product, other: Product) -> float:
    words = set(fold(base.name_vi).split()[:2])
    score = 2.0 * len(words & set(fold(other.name_vi).split()[:3]))
    if other.category == base.category:
        score += 1.5
    if base.district and other.district == base.district:
        score += 1.0
    if base.producer_id and other.producer_id == base.producer_id:
        score += 0.5
    return score + 0.1 * (other.stars or 0)


async def more_like(ctx: Context, slug: str) -> list[Reply]:
    """Products like this one: same kind of product first, then same group and place."""
    t = ctx.t
    base = await load_product(ctx, slug)
    if base is None:
        return not_found(ctx)
    others = [p for p in (await ctx.catalog()).products if p.id != base.id]
    ranked = sorted(others, key=lambda p: (-_similarity(base, p), collation_key(cards.product_name(p, t.language))))
    similar = [p.slug for p in ranked if _similarity(base, p) >= 1.5][:16]
    if not similar:
        return [Reply(t._("I have nothing similar to {name} in the catalogue yet.", name=cards.bold(cards.product_name(base, t.language))),
                      [cards.menu_row(t)])]
    return await show_list(ctx, similar, t._("Products like {name}:",
                                              name=cards.bold(cards.product_name(base, t.language))))


# --- what the router sends here ------------------------------------------------------------------------

def unknown_button(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(t._("Sorry, that button is no longer valid. Here is the menu."), cards.main_menu(t),
                  notice=t._("This button is no longer valid."))]


async def on_product_button(ctx: Context, data: ProductCard) -> list[Reply]:
    """`p:<slug>`: the product card."""
    return await product_replies(ctx, data.slug)


async def on_more_button(ctx: Context, data: MoreLike) -> list[Reply]:
    """`more:<slug>`: products like it."""
    return await more_like(ctx, data.slug)


async def on_list_page(ctx: Context, data: ListPage) -> list[Reply]:
    """`l:<page>`: a page of the remembered long answer."""
    return await list_page(ctx, data.page, edit=cards.edit_if_tapped(ctx))


async def on_shared_contact(ctx: Context) -> list[Reply]:
    """A phone number shared outside an enquiry: it is not kept."""
    t = ctx.t
    return [Reply(t._("Thank you. I only need a phone number for a bulk enquiry: tap “Bulk enquiry” to start one."),
                  cards.main_menu(t), remove_keyboard=True)]


async def on_ordinal(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """"số 2", "the second one": an item of the list on screen."""
    return await pick(ctx, asked.ordinal if asked.ordinal is not None else 1)


async def on_search(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """Any other text: a catalogue search."""
    text = ctx.incoming.text or ""
    if not text.strip():
        return not_understood(ctx)
    return await search_replies(ctx, asked.query or text)
