"""Greeting, /start, /help and the main menu, plus the short explainers: what OCOP is, what the stars mean."""

from __future__ import annotations

from handlers import cards
from handlers.context import Context
from handlers.messages import Button, Reply, h
from handlers.products import product_replies


def welcome(ctx: Context) -> list[Reply]:
    """The first thing a user sees: who the bot is, what to type, and the menu."""
    t = ctx.t
    name = ctx.incoming.display_name.strip()
    hello = t._("Hello {name}!", name=h(name[:60])) if name else t._("Hello!")
    text = "\n".join([
        f"<b>{hello}</b> " + t._("I am OCOP Bot, the guide to OCOP products of former Bac Giang province (now part of Bac Ninh)."),
        "",
        t._("Type a product name, for example <i>Chu noodles</i>, <i>lychee</i> or <i>Yen The hill chicken</i>, "
            "or ask “where can I buy lychee?”. Or choose below:"),
        "",
        f"<i>{h(cards.demo_note(t))}</i>",
    ])
    return [Reply(text, cards.main_menu(t), remove_keyboard=True)]


async def main_menu(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(t._("What would you like to do?"), cards.main_menu(t), remove_keyboard=True)]


async def help_text(ctx: Context) -> list[Reply]:
    t = ctx.t
    lines = [
        t._("<b>How to use OCOP Bot</b>"),
        t._("• Type a product: <i>mỳ Chũ</i>, <i>vai thieu</i>, <i>Chu noodles</i>, <i>rượu làng Vân</i>"),
        t._("• Where to buy: <i>mua mỳ Chũ ở đâu</i>, <i>where can I buy lychee</i>; share your location for the nearest store"),
        t._("• Whom to contact: <i>HTX nào làm gà đồi Yên Thế</i>, <i>who makes Chu noodles</i>"),
        t._("• A part of the catalogue: <i>OCOP 4 sao Lục Ngạn</i>, <i>herbal products</i>, or the Browse button"),
        t._("• Questions: <i>bao nhiêu sản phẩm OCOP 4 sao</i>, <i>what do the stars mean</i>, <i>OCOP là gì</i>"),
        t._("• After a list: <i>số 2</i>, <i>the second one</i>, or tap an item"),
        t._("• Wholesale: the Bulk enquiry button sends your request to the trade department"),
        t._("• Language: /lang, or just write “English please” / “tiếng Việt”"),
    ]
    return [Reply("\n".join(lines), cards.main_menu(t))]


async def prompt_find(ctx: Context) -> list[Reply]:
    t = ctx.t
    ctx.memory.menu = "find"
    return [Reply(
        t._("Type the name of a product, a place or a product group, for example <i>Chu noodles</i>, <i>Luc Ngan</i> or "
            "<i>drinks</i>. No diacritics needed."),
        [[Button(t._("📚 Browse instead"), "b:menu")], cards.menu_row(t)],
    )]


async def stars_meaning(ctx: Context) -> list[Reply]:
    """What 3, 4 and 5 OCOP stars mean, who grants them, and how long a certificate lasts."""
    t = ctx.t
    lines = [
        t._("<b>What the OCOP stars mean</b>"),
        t._("OCOP products are scored by an evaluation council and ranked by stars; 3 stars and above are certified."),
        "★★★ " + t._("3 stars: meets the OCOP standard and can be improved further."),
        "★★★★ " + t._("4 stars: a good product that can compete nationally."),
        "★★★★★ " + t._("5 stars: an excellent product that can compete internationally (recognised nationally, "
                       "by the Ministry of Agriculture)."),
        "",
        t._("<b>Who recognises them</b>"),
        t._("In 2021 Bac Giang province recognised 3- and 4-star products together (Decision 1387/QĐ-UBND of "
            "9 December 2021: 39 products)."),
        t._("Under Decision 148/QĐ-TTg of 24 February 2023, until the reform of July 2025, the districts recognised "
            "3-star products; the province's evaluation council scored 4-star products, which the province "
            "recognised, and proposed 5-star candidates."),
        t._("Since Decision 1489/QĐ-TTg of 6 July 2025, which amended the evaluation rules of Decision 148, products "
            "are evaluated at two levels only, provincial and central: districts were abolished on 1 July 2025 and "
            "no longer recognise 3-star products. Our sources do not say how certificates that districts issued "
            "before then are treated."),
        "",
        t._("A certificate is valid for 36 months from the signing of the recognition decision, and lapses unless "
            "the product is evaluated again. Product cards show the decision when a source names it, and "
            "“not confirmed” when none does."),
    ]
    buttons = [
        [Button("★★★★★", "b:s:5:0"), Button("★★★★", "b:s:4:0"), Button("★★★", "b:s:3:0")],
        [Button(t._("What is OCOP?"), "m:ocop")] + cards.menu_row(t),
    ]
    return [Reply("\n".join(lines), buttons)]


async def what_is_ocop(ctx: Context) -> list[Reply]:
    t = ctx.t
    lines = [
        t._("<b>What is OCOP?</b>"),
        t._("OCOP, “One Commune One Product” (Mỗi xã một sản phẩm), is Vietnam's national programme, started in "
            "2018, to develop and certify local specialities made by cooperatives, companies and households."),
        t._("Certified products carry 3, 4 or 5 stars. This bot covers the OCOP products of former Bac Giang "
            "province, which merged into Bac Ninh on 1 July 2025."),
    ]
    buttons = [
        [Button(t._("⭐ What the stars mean"), "m:stars"), Button(t._("🔢 How many products?"), "m:count")],
        [Button(t._("📚 Browse"), "b:menu")] + cards.menu_row(t),
    ]
    return [Reply("\n".join(lines), buttons)]


async def thanks(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(t._("You're welcome! Anything else? Type a product name or use the menu."), [cards.menu_row(t)])]


def unknown_command(ctx: Context, command: str) -> list[Reply]:
    t = ctx.t
    return [Reply(
        t._("I don't know the command {command}. Try /start, /help or /lang, or just type a product name.",
            command=cards.code(command[:40])),
        cards.main_menu(t),
    )]


async def on_start(ctx: Context, rest: str = "") -> list[Reply]:
    """`/start` (and `/menu`): the greeting and the menu; `/start <slug>` (a deep link) opens that product."""
    replies = welcome(ctx)
    if rest and cards.valid_slug(rest.lower()):
        replies += await product_replies(ctx, rest.lower(), quiet=True)
    return replies


async def on_help(ctx: Context, rest: str = "") -> list[Reply]:
    """`/help`."""
    return await help_text(ctx)


async def on_greeting(ctx: Context, *_: object) -> list[Reply]:
    """"xin chào", "hello": the greeting and the menu."""
    return welcome(ctx)
