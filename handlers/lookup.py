"""Finding the product a message means: by slug, by the message's one search, or in the list on screen.

Shared by the features that answer about a product (cards, where to buy, contacts, counts), so that none of
them has to import another feature to find one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.models import Product
from catalog.search import SearchAnswer
from catalog.text import fold
from handlers import cards, intent
from handlers.context import Context
from handlers.messages import Button, Reply
from handlers.state import SavedList

# A single result is taken as the answer when it beats the next one by this many points.
CARD_MARGIN = 5.0
LIST_LIMIT = 40  # results kept for paging through a long answer

# Words that point back at the product on screen ("where can I buy it", "ai làm sản phẩm này").
PRONOUNS = ("it", "this", "that", "them", "these", "this one", "that one", "nó", "này", "đó", "kia", "cái này",
            "cái đó", "sản phẩm này", "sản phẩm đó", "sp này", "món này", "loại này", "hàng này")


async def load_product(ctx: Context, slug: str) -> Product | None:
    """The product by slug, or None for unknown or forged slugs."""
    if not cards.valid_slug(slug):
        return None
    return (await ctx.catalog()).product(slug)


async def search(ctx: Context, text: str, limit: int = LIST_LIMIT, asked: str | None = None) -> SearchAnswer:
    """The catalogue search for `text`; asked twice in one message for the same words, it searches once."""
    return await ctx.search(text, limit, asked)


def confident(answer: SearchAnswer) -> bool:
    """One result clearly ahead of the others: it is the product meant."""
    results = answer.results
    return bool(results) and (len(results) == 1 or results[0].score - results[1].score >= CARD_MARGIN)


# Chat words that trail a product name in a question ("mật ong thì ai", "rice noodles around here").
TRAILING_CHAT = frozenset(fold(w) for p in (*intent.POLITE, *intent.NEAR_CUES, *intent.PLACE_PREPOSITIONS) for w in
                          p.split()) | frozenset(fold(w) for w in (
    "thì", "ai", "vậy", "thế", "nhỉ", "không", "ko", "khong", "hả", "hở", "chứ", "được", "đc", "dc", "nữa", "ạ",
    "here", "there", "thanks", "thank", "you", "please", "for", "me", "us", "then", "now", "today", "ok", "liên",
    "hệ", "contact", "who", "where", "đâu", "mua", "buy", "bán", "sell",
    # a price asked after the product ("vải thiều giá bao nhiêu", "Chu noodles how much")
    "giá", "bao", "nhiêu", "tiền", "mấy", "price", "prices", "cost", "costs", "how", "much", "is", "are", "một",
    "1", "kg", "cân", "ký", "lít", "chai", "hộp", "hũ", "lọ", "gói", "quả", "con", "per", "a", "bottle", "box", "jar",
))


def named_words(query: str, terms: str, filters: Mapping[str, Any] | None = None) -> str:
    """What the buyer named, as typed: the query from the first word the search took as a product word, less
    the chat words trailing after the last ('mật ong' of 'cho hỏi muốn mua mật ong thì ai'), so the question's
    leftovers are never repeated back; but not the words of a place the search read ('gà đồi Yên Thế': thế is
    a chat word too). When no typed word is one of them (a Telex spelling, a translation), the search's own
    words."""
    wanted = set(terms.split())
    places = {
        w for kind in ("district", "commune", "province") for w in fold(str((filters or {}).get(kind) or "")).split()
    }
    raw = [w.strip(".,;:!?…\"'“”()") for w in query.split()]
    raw = [w for w in raw if w]
    folded = [fold(w) for w in raw]
    hits = [i for i, w in enumerate(folded) if w in wanted]
    if not hits:
        return terms
    end = len(raw)
    while end > hits[-1] + 1 and folded[end - 1] in TRAILING_CHAT and folded[end - 1] not in places:
        end -= 1
    return " ".join(raw[hits[0]:end])


def refers_back(query: str) -> bool:
    """"it", "sản phẩm này": the product on screen."""
    ws = intent.words(query)
    return bool(ws) and intent.has_any(ws, PRONOUNS)


def list_item(ctx: Context, ordinal: int) -> str | None:
    """The slug at that place in the list on screen (1-based, or intent.LAST), or None."""
    last = ctx.memory.shown
    index = len(last) - 1 if ordinal == intent.LAST else ordinal - 1
    return last[index] if 0 <= index < len(last) else None


def remember_list(ctx: Context, slugs: list[str], title: str) -> None:
    """Keep a long answer to page through (`l:<page>`); the page on screen is what "số 2" refers to.

    `title` is reply HTML (user words in it already escaped); it is stored as is and shown again on each page.
    """
    ctx.memory.saved_list = SavedList(list(slugs[:LIST_LIMIT]), title)


def not_found(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(
        t._("That product is no longer in the catalogue. Type its name to search again."),
        [[Button(t._("📚 Browse"), "b:menu")] + cards.menu_row(t)],
    )]
