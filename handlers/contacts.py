"""Whom to contact: a product's producer as published, else the trade-promotion and OCOP bodies; never invented."""

from __future__ import annotations

from catalog.collation import sort_names
from catalog.models import Contact, Product
from catalog.text import fold
from handlers import cards, intent
from handlers.context import Context
from handlers.lookup import PRONOUNS, confident, list_item, load_product, named_words, not_found, search
from handlers.messages import Button, Reply, h
from handlers.payloads import ContactFor
from locales import Translator

BODIES_WITH_PRODUCT = 4  # trade bodies shown under a producer: the current ones and a few former ones


def body_block(t: Translator, body: Contact) -> str:
    """A public body: name in the user's language, its role, and its published details (or that there are none)."""
    name = body.name_en if t.language == "en" and body.name_en else body.name_vi
    role = body.role_en if t.language == "en" and body.role_en else body.role_vi
    head = f"• <b>{h(name)}</b>"
    if not body.current:
        head += " " + t._("(before the July 2025 merger)")
    lines = [head]
    if role:
        lines.append("  " + h(cards.shorten(role, 200)))
    details = cards.contact_details(t, body)
    lines += ["  " + d for d in details] if details else ["  " + t._("No phone or e-mail is published yet.")]
    return "\n".join(lines)


def _useful_first(bodies: list[Contact]) -> list[Contact]:
    """Current bodies first, then former ones with a published way to reach them."""
    current = [b for b in bodies if b.current]
    former = sorted((b for b in bodies if not b.current), key=lambda b: not cards.has_contact(b))
    return current + former


def producer_lines(t: Translator, product: Product) -> list[str]:
    producer = product.producer
    if producer is None:
        return [t._("The producer is not named in our sources."),
                t._("No phone or e-mail is published for this producer yet.")]
    kind = t._(cards.PRODUCER_KINDS.get(producer.kind, cards.PRODUCER_KINDS["other"]))
    lines = [t._("Producer: {name} ({kind})", name=cards.bold(producer.name), kind=h(kind))]
    details = cards.contact_details(t, producer)
    lines += details or [t._("No phone or e-mail is published for this producer yet.")]
    return lines


async def contact_for_product(ctx: Context, product: Product) -> list[Reply]:
    """The producer's published contact, then the bodies that can put a buyer in touch."""
    ctx.record("contact_view", product=product.slug)  # demand insight (catalog/events.py)
    t = ctx.t
    ctx.memory.product = product.slug
    lines = [t._("📞 <b>Whom to contact about {name}</b>", name=h(cards.product_name(product, t.language)))]
    lines += producer_lines(t, product)
    bodies = _useful_first(list((await ctx.catalog()).contacts))[:BODIES_WITH_PRODUCT]
    if bodies:
        lines += ["", t._("Trade-promotion and OCOP bodies that can put you in touch:")]
        lines += [body_block(t, b) for b in bodies]
    lines += ["", t._("For a wholesale order, the Bulk enquiry button sends your request to the trade department.")]
    buttons = cards.rows(
        [cards.payload_button(t._("🏪 Where to buy"), f"where:{product.slug}"),
         cards.payload_button(t._("📦 Bulk enquiry"), f"enq:start:{product.slug}")],
        [cards.payload_button(t._("« Product"), f"p:{product.slug}")] + cards.menu_row(t),
    )
    return [Reply(cards.clip("\n".join(lines)), buttons)]


async def contact_for_producer(ctx: Context, products: list[Product]) -> list[Reply]:
    """The buyer named a producer ("phone number of Hong Xuan cooperative"): that producer, its published
    contact and its products, then the bodies that can put a buyer in touch."""
    t = ctx.t
    producer = products[0].producer
    assert producer is not None
    if len(products) == 1:
        ctx.memory.product = products[0].slug
    kind = t._(cards.PRODUCER_KINDS.get(producer.kind, cards.PRODUCER_KINDS["other"]))
    lines = [t._("📞 <b>How to reach {producer}</b>", producer=h(producer.name)) + f" ({h(kind)})"]
    lines += cards.contact_details(t, producer) or [t._("No phone or e-mail is published for this producer yet.")]
    names = sort_names([cards.product_name(p, t.language) for p in products])
    lines.append(t._("Its products in the catalogue: {names}", names=h("; ".join(names))))
    bodies = _useful_first(list((await ctx.catalog()).contacts))[:BODIES_WITH_PRODUCT]
    if bodies:
        lines += ["", t._("Trade-promotion and OCOP bodies that can put you in touch:")]
        lines += [body_block(t, b) for b in bodies]
    lines += ["", t._("For a wholesale order, the Bulk enquiry button sends your request to the trade department.")]
    if len(products) == 1:
        slug = products[0].slug
        buttons = cards.rows(
            [cards.payload_button(t._("🏪 Where to buy"), f"where:{slug}"),
             cards.payload_button(t._("📦 Bulk enquiry"), f"enq:start:{slug}")],
            [cards.payload_button(t._("« Product"), f"p:{slug}")] + cards.menu_row(t),
        )
    else:
        ctx.remember_results([p.slug for p in products])
        ctx.memory.back = None
        buttons = cards.numbered_buttons(products, t.language) + [
            [Button(t._("📦 Bulk enquiry"), "enq:start")] + cards.menu_row(t)]
    return [Reply(cards.clip("\n".join(lines)), buttons)]


async def all_bodies(ctx: Context, intro: str = "") -> list[Reply]:
    """Every trade-promotion and OCOP body in the catalogue, the current ones first."""
    t = ctx.t
    bodies = _useful_first(list((await ctx.catalog()).contacts))
    lines = [intro] if intro else []
    lines.append(t._("📞 <b>Trade-promotion and OCOP contacts</b>"))
    if bodies:
        lines.append(t._("Bac Giang merged into Bac Ninh on 1 July 2025; the current bodies come first."))
        lines += [body_block(t, b) for b in bodies]
    else:
        lines.append(t._("No contact body is listed yet."))
    lines += ["", t._("To reach a producer, type the product, for example <i>contact Chu noodles</i> or "
                      "<i>who makes lychee honey</i>.")]
    buttons = [[Button(t._("📦 Bulk enquiry"), "enq:start")] + cards.menu_row(t)]
    return [Reply(cards.clip("\n".join(lines)), buttons)]


async def contact_for_several(ctx: Context, named: str, products: list[Product]) -> list[Reply]:
    """Several products match what the buyer named (`named`: their product words, not the whole question):
    each with its producer, to pick from."""
    t = ctx.t
    producers = {p.producer_id for p in products}
    if len(producers) == 1 and None not in producers:
        return await contact_for_product(ctx, products[0])
    lines = [t._("📞 <b>Producers of “{query}”</b>", query=h(cards.short_label(named, 60)))]
    for n, p in enumerate(products, 1):
        maker = h(p.producer.name) if p.producer else t._("producer not named")
        lines.append(f"{n}. <b>{h(cards.product_name(p, t.language))}</b> — {maker}")
    lines += ["", t._("Pick a product for its producer's contact details.")]
    ctx.remember_results([p.slug for p in products])
    ctx.memory.back = None  # this list is not one a card can return to
    buttons = cards.numbered_buttons(products, t.language, prefix="contact") + [
        [Button(t._("📞 Trade bodies"), "m:contacts")] + cards.menu_row(t)
    ]
    return [Reply(cards.clip("\n".join(lines)), buttons)]


# Words of a producer's name that do not tell producers apart.
PRODUCER_WORDS = frozenset(fold(w) for w in (
    "htx", "hợp", "tác", "xã", "cooperative", "co-op", "coop", "company", "công", "ty", "tnhh", "cổ", "phần",
    "cơ", "sở", "hộ", "kinh", "doanh", "the", "of", "ltd", "household", "producer", "cho", "của", "a",
))


# Words that say the buyer means a producer, not a product ("số điện thoại HTX Hồng Xuân").
PRODUCER_CUES = ("htx", "hợp tác xã", "cooperative", "co-op", "coop", "công ty", "company", "cơ sở", "hộ kinh doanh",
                 "household", "nhà sản xuất", "producer", "maker")


def names_producer(query: str) -> bool:
    return intent.has_any(intent.words(query), PRODUCER_CUES)


def producer_named(products: list[Product], query: str) -> list[Product]:
    """The products of the one producer whose name holds every telling word of `query` ("Hong Xuan
    cooperative"), or [] when none or several producers match."""
    words = [w for w in fold(query).split() if w not in PRODUCER_WORDS]
    if not words:
        return []
    made = [p for p in products if p.producer is not None
            and all(w in fold(p.producer.name).split() for w in words)]
    return made if len({p.producer_id for p in made}) == 1 else []


async def answer_contact(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """Whom to contact about what the user named: one product, several, the one on screen, or in general."""
    query = asked.query.strip()
    ordinal = intent.parse_ordinal(query) if query else None
    if ordinal is not None and (slug := list_item(ctx, ordinal)) and (product := await load_product(ctx, slug)):
        return await contact_for_product(ctx, product)
    ws = intent.words(query)
    if not ws or intent.has_any(ws, PRONOUNS):
        slug = ctx.memory.product
        if ws and slug and (product := await load_product(ctx, slug)):
            return await contact_for_product(ctx, product)
        return await all_bodies(ctx)
    answer = await search(ctx, query, limit=8)
    named = named_words(query, answer.terms, answer.filters)
    if not answer.results or not answer.terms:
        intro = ""
        if answer.terms:
            intro = ctx.t._("I couldn't find “{query}” in the catalogue.", query=h(cards.short_label(named, 60)))
        return await all_bodies(ctx, intro)
    sure = confident(answer)
    # The producer cue may be among the words the intent took out ("… Hong Xuan cooperative"): read the message.
    cued = names_producer(query) or names_producer(ctx.incoming.text or "")
    made_by = producer_named(list((await ctx.catalog()).products), query) if cued or not sure else []
    if made_by:  # the buyer named a producer ("HTX Hồng Xuân"): answered with the producer
        return await contact_for_producer(ctx, made_by)
    if sure and (product := await load_product(ctx, answer.results[0].doc.slug)):
        return await contact_for_product(ctx, product)
    return await contact_for_several(ctx, named, (await ctx.catalog()).products_by_slug(
        r.doc.slug for r in answer.results))


async def on_contact(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """"liên hệ …", "who makes …", "HTX nào làm …", "phone number of …"."""
    return await answer_contact(ctx, asked)


async def on_contact_button(ctx: Context, data: ContactFor) -> list[Reply]:
    """`contact:<slug>`."""
    product = await load_product(ctx, data.slug)
    return await contact_for_product(ctx, product) if product else not_found(ctx)


async def on_all_contacts(ctx: Context) -> list[Reply]:
    """`m:contacts`: the trade bodies; the next product name typed asks whom to contact about it."""
    replies = await all_bodies(ctx)
    ctx.memory.menu = "contact"
    return replies
