"""Is it really OCOP? A product's recognition decision and its state today, and how a buyer can check it.

"OCOP chính hãng?", "sâm nam núi Dành còn hạn không", "is it really OCOP certified": the product named (or the
one on screen) with its decision as the catalogue holds it, what that state means, and where to check.
"""

from __future__ import annotations

from catalog.certificates import CertificateStatus, certificate_of, today_in_vietnam
from catalog.models import Product
from handlers import cards, intent
from handlers.context import Context
from handlers.lookup import PRONOUNS, confident, list_item, load_product, named_words, search
from handlers.messages import Button, Reply, h
from locales import N_, Translator

SEVERAL = 5  # products shown when the words fit several

STATE_NOTES = {
    CertificateStatus.VALID: N_("A recognition decision is on record and its certificate is valid today."),
    CertificateStatus.EXPIRING: N_("Its certificate expires soon; ask the producer whether the product has been "
                                   "evaluated again."),
    CertificateStatus.EXPIRED: N_("The certificate of the decision on record has expired; our sources do not say "
                                  "whether the product has been evaluated again since."),
    CertificateStatus.UNCONFIRMED: N_("Our sources name no recognition decision for it: its rating comes from news "
                                      "reports, so we cannot confirm it is certified."),
}


def check_advice(t: Translator) -> list[str]:
    """How a buyer checks a certificate (facts file C1, C9, C10)."""
    return [
        t._("<b>How to check</b>: ask the seller or producer for the OCOP certificate, which names the recognition "
            "decision (number and date); a certificate is valid for 36 months from the decision."),
        t._("Provinces record their OCOP products in the national OCOP system, ocopvietnam.gov.vn; Bac Giang's "
            "OCOP site is ocopbacgiang.vn."),
    ]


def certificate_answer(ctx: Context, product: Product) -> list[Reply]:
    t = ctx.t
    ctx.memory.product = product.slug
    status = certificate_of(product).status(today_in_vietnam())
    name = cards.product_name(product, t.language)
    lines = [
        t._("📜 <b>Is {name} OCOP-certified?</b>", name=h(name)),
        cards.stars_text(t, product.stars, product.year),
        cards.certificate_line(t, product),
        t._(STATE_NOTES[status]),
        "",
        *check_advice(t),
    ]
    buttons = cards.rows(
        [cards.payload_button(t._("« Product"), f"p:{product.slug}"),
         cards.payload_button(t._("🏪 Where to buy"), f"where:{product.slug}")],
        cards.menu_row(t),
    )
    return [Reply(cards.clip("\n".join(lines)), buttons)]


def several_answer(ctx: Context, named: str, products: list[Product]) -> list[Reply]:
    t = ctx.t
    lines = [t._("📜 <b>OCOP recognition of products matching “{query}”</b>", query=h(cards.short_label(named, 60)))]
    for product in products[:SEVERAL]:
        lines.append(f"• <b>{h(cards.product_name(product, t.language))}</b>: {cards.certificate_line(t, product)}")
    lines += ["", *check_advice(t)]
    ctx.remember_results([p.slug for p in products[:SEVERAL]])
    buttons = cards.numbered_buttons(products[:SEVERAL], t.language) + [cards.menu_row(t)]
    return [Reply(cards.clip("\n".join(lines)), buttons)]


def general_answer(ctx: Context, intro: str = "") -> list[Reply]:
    t = ctx.t
    lines = ([intro, ""] if intro else []) + [
        t._("📜 <b>Is it really OCOP?</b> Name the product (“vải thiều còn hạn không”) and I will show the "
            "recognition decision our sources name for it, or say that none is on record."),
        "",
        *check_advice(t),
    ]
    buttons = [[Button(t._("⭐ What the stars mean"), "m:stars"), Button(t._("📚 Browse"), "b:menu")],
               cards.menu_row(t)]
    return [Reply("\n".join(lines), buttons)]


async def on_certificate(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """"OCOP chính hãng?", "… còn hạn không", "is it really OCOP certified"."""
    query = asked.query.strip()
    ordinal = intent.parse_ordinal(query) if query else None
    if ordinal is not None and (slug := list_item(ctx, ordinal)) and (product := await load_product(ctx, slug)):
        return certificate_answer(ctx, product)
    ws = intent.words(query)
    if not ws or intent.has_any(ws, PRONOUNS):
        slug = ctx.memory.product
        if slug and (product := await load_product(ctx, slug)):
            return certificate_answer(ctx, product)
        return general_answer(ctx)
    answer = await search(ctx, query, limit=SEVERAL)
    if not answer.results or not answer.terms:
        named = named_words(query, answer.terms, answer.filters) if answer.terms else query
        return general_answer(ctx, ctx.t._("I couldn't find “{query}” in the catalogue.",
                                           query=h(cards.short_label(named, 60))))
    if confident(answer) and (product := await load_product(ctx, answer.results[0].doc.slug)):
        return certificate_answer(ctx, product)
    products = (await ctx.catalog()).products_by_slug(r.doc.slug for r in answer.results)
    return several_answer(ctx, named_words(query, answer.terms, answer.filters), products)
