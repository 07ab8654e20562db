"""SYNTHETIC traffic: a few thousand made-up chats replayed through the router, so the demand-insight reports
have something to show in tests and demos. Nothing here is a real buyer.

    python benchmarks/synthetic_traffic.py [--chats 3000] [--seed 16] [--database-url URL] [--html FILE]

Every chat comes on a channel named "synthetic-telegram" or "synthetic-zalo" (the reports print a SYNTHETIC
warning whenever such events are in them), and its enquiries name the buyer "SYNTHETIC TEST BUYER". By
default it writes to its own SQLite file (./synthetic-ocop.db), never to the bot's database; with
--database-url it writes where it is told, so do not point it at production.

A chat: sometimes /start, then one to three searches in Vietnamese or English — catalogue products (with and
without diacritics, in English), things the catalogue does not have, spelling variants of both, chatty
"where can I buy" questions — and after a search with results it may open the first product, then where to
buy (and an online platform's button there) or whom to contact, and now and then a wholesale enquiry,
confirmed or cancelled half-way. Then synthetic staff ("SYNTHETIC STAFF") take up the confirmed enquiries:
some left new, some claimed, contacted, won or lost. The choices come from a seeded random generator: the
same seed replays the same traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from catalog.db import Database  # noqa: E402
from catalog.leads import change_status  # noqa: E402
from catalog.models import Lead  # noqa: E402
from handlers import observe  # noqa: E402
from handlers.context import Services  # noqa: E402
from handlers.messages import Incoming, Reply  # noqa: E402
from handlers.router import Router  # noqa: E402
from locales import translator  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

CHANNELS = ("synthetic-telegram", "synthetic-zalo")
BUYER_NAME = "SYNTHETIC TEST BUYER"
STAFF_NAME = "SYNTHETIC STAFF"

# What buyers type, by language. Catalogue products, as people write them.
FOUND = {
    "vi": [
        "vải thiều",
        "vai thieu",
        "mỳ chũ",
        "my chu",
        "mì chũ",
        "gà đồi Yên Thế",
        "ga doi yen the",
        "mật ong",
        "mat ong rung",
        "rượu làng Vân",
        "na Lục Nam",
        "đông trùng hạ thảo",
        "bánh khảo",
        "giò lụa",
        "nem nướng",
        "sâm nam núi Dành",
        "xôi ngũ sắc",
        "nấm rơm",
        "bưởi",
        "chè xanh",
        "bánh chưng",
        "xúc xích gà",
        "ổi",
        "rượu men lá",
        "vải thiều hữu cơ",
    ],
    "en": [
        "lychee",
        "rice noodles",
        "honey",
        "hill chicken",
        "cordyceps",
        "leaf yeast wine",
        "custard apple",
        "black sesame oil",
        "chung cake",
        "guava",
        "pomelo",
        "sticky rice",
        "green tea",
    ],
}
# Things the catalogue does not have; each tuple is one demand written several ways.
MISSING = {
    "vi": [
        ("cam bố hạ", "cam bo ha", "camboha", "cam Bố Hạ"),
        ("bánh pía", "banh pia"),
        ("nước mắm",),
        ("cà phê", "ca phe"),
        ("chè shan tuyết", "che shan tuyet"),
        ("kẹo lạc", "keo lac"),
    ],
    "en": [("coffee",), ("fish sauce",), ("chocolate",), ("lychee wine",)],
}
# In the catalogue, but typed so that the search misses it: a synonym or spelling to add.
NEAR_MISSES = {"vi": [("banhchungg", "banh chungg")], "en": [("banhchungg",)]}
# Questions, and the product words the search is asked for (what the reports list them under).
WHERE_QUESTIONS = {
    "vi": {"mua vải thiều ở đâu": "vải thiều", "mua mỳ chũ ở đâu": "mỳ chũ", "mật ong bán ở đâu": "mật ong"},
    "en": {"where can I buy lychee": "lychee", "where can I buy honey": "honey"},
}
SORRY = {
    translator(lang)._("Sorry, something went wrong on our side. Please try again in a moment.")
    for lang in ("vi", "en")
}
FORM_ANSWERS = {
    "vi": {"quantity": "500 kg", "place": "Chợ Long Biên, Hà Nội"},
    "en": {"quantity": "2 tonnes", "place": "Hai Phong port"},
}


@dataclass
class Tally:
    """What the generator did, to compare with what the reports count."""

    chats: int = 0
    messages: int = 0
    typed: Counter[str] = field(default_factory=Counter)  # what was typed to search, by text
    searches: Counter[str] = field(
        default_factory=Counter
    )  # the words searched for (a question's product words)
    taps: Counter[str] = field(default_factory=Counter)  # "card", "where", "contact", "link" (a platform button)
    outcomes: Counter[str] = field(default_factory=Counter)  # what the synthetic staff did with the leads
    enquiries_started: int = 0
    enquiries_confirmed: int = 0
    enquiries_cancelled: int = 0
    sorry: int = 0


def _payloads(replies: Sequence[Reply], prefix: str) -> list[str]:
    return [b.payload for r in replies for row in r.buttons for b in row if b.payload.startswith(prefix)]


class SyntheticChat:
    def __init__(self, router: Router, channel: str, chat_id: str, language: str, tally: Tally) -> None:
        self.router, self.channel, self.chat_id, self.language, self.tally = (
            router,
            channel,
            chat_id,
            language,
            tally,
        )

    async def _go(self, **kw: object) -> list[Reply]:
        incoming = Incoming(
            channel=self.channel,
            chat_id=self.chat_id,
            user_id=self.chat_id,
            display_name=BUYER_NAME,
            language_hint=self.language,
            **kw,
        )  # type: ignore[arg-type]
        replies = await self.router.handle(incoming)
        self.tally.messages += 1
        if any(r.text in SORRY for r in replies):
            self.tally.sorry += 1
        return replies

    async def send(self, text: str) -> list[Reply]:
        return await self._go(text=text)

    async def click(self, payload: str) -> list[Reply]:
        return await self._go(payload=payload, message_id="1")


async def enquiry(chat: SyntheticChat, slug: str, rng: random.Random, number: int) -> None:
    """A wholesale enquiry from a product card: confirmed, or cancelled at a random question."""
    tally = chat.tally
    replies = await chat.click(f"enq:start:{slug}")
    if not _payloads(replies, "enq:"):
        return  # refused (e.g. the daily limit): nothing started
    tally.enquiries_started += 1
    answers = FORM_ANSWERS[chat.language]
    steps = [
        ("send", answers["quantity"]),
        ("send", answers["place"]),
        ("click", "enq:tf:within_month"),
        ("send", BUYER_NAME),
        ("click", "enq:skip"),
        ("send", f"0900 {number // 1000 % 1000:03d} {number % 1000:03d}"),
        ("click", "enq:skip"),
        ("send", "SYNTHETIC TEST DATA"),
        ("click", "enq:consent:yes"),
    ]
    cancel_at = rng.randrange(len(steps)) if rng.random() < 0.5 else None
    for i, (how, value) in enumerate(steps):
        if i == cancel_at:
            replies = await chat.click("enq:cancel")
            if "enq:cancel:yes" in _payloads(replies, "enq:cancel"):  # answers given: the form asks first
                await chat.click("enq:cancel:yes")
            tally.enquiries_cancelled += 1
            return
        await (chat.send(value) if how == "send" else chat.click(value))
    replies = await chat.click("enq:confirm")
    if "enq:confirm:again" in _payloads(replies, "enq:confirm"):
        replies = await chat.click("enq:confirm:again")
    tally.enquiries_confirmed += 1


def pick_query(rng: random.Random, language: str) -> str:
    roll = rng.random()
    if roll < 0.58:
        return rng.choice(FOUND[language])
    if roll < 0.83:
        return rng.choice(rng.choice(MISSING[language]))
    if roll < 0.90:
        return rng.choice(rng.choice(NEAR_MISSES[language]))
    return rng.choice(sorted(WHERE_QUESTIONS[language]))


async def replay(
    router: Router, *, chats: int, seed: int = 16, prefix: str = "synthetic", weeks: int = 0
) -> Tally:
    """Replay `chats` synthetic chats through `router`, one after another; returns what was done.

    With `weeks`, the chats' events are dated as if the chats had come evenly over the last `weeks` weeks (a
    simulated clock for the event times only, so the weekly trend has a shape); otherwise they are dated now."""
    rng = random.Random(seed)
    tally = Tally()
    real_clock = observe.utcnow
    start = real_clock() - dt.timedelta(weeks=weeks)
    try:
        for n in range(chats):
            if weeks:
                at = start + dt.timedelta(weeks=weeks) * (n / chats)
                observe.utcnow = lambda at=at: at  # type: ignore[misc]
            await _one_chat(router, rng, tally, n, seed, prefix)
    finally:
        observe.utcnow = real_clock  # type: ignore[misc]
    await staff_outcomes(router, rng, tally, f"{prefix}-{seed}-")
    return tally


# What the (synthetic) staff did with the enquiries: the funnel's claimed, won and lost. None: left new.
OUTCOMES = ((0.3, None), (0.25, ("claim",)), (0.15, ("claim", "contacted")), (0.2, ("claim", "won")),
            (0.1, ("claim", "lost")))


async def staff_outcomes(router: Router, rng: random.Random, tally: Tally, chat_prefix: str) -> None:
    """Take up this replay's new leads as staff would (catalog.leads.change_status), by the OUTCOMES odds."""
    async with router.services.db.session() as session:
        leads = (
            await session.scalars(
                select(Lead)
                .where(Lead.channel.in_(CHANNELS), Lead.chat_id.startswith(chat_prefix), Lead.status == "new")
                .order_by(Lead.id)
            )
        ).all()
        for lead in leads:
            roll, actions = rng.random(), None
            for odds, chosen in OUTCOMES:
                if roll < odds:
                    actions = chosen
                    break
                roll -= odds
            for action in actions or ():
                await change_status(session, lead, action, "synthetic-staff", STAFF_NAME)
                await session.refresh(lead)
            tally.outcomes[lead.status] += 1


async def _one_chat(router: Router, rng: random.Random, tally: Tally, n: int, seed: int, prefix: str) -> None:
    """One synthetic chat: perhaps /start, one to three searches, what it opens from them."""
    language = "vi" if rng.random() < 0.75 else "en"
    chat = SyntheticChat(router, rng.choice(CHANNELS), f"{prefix}-{seed}-{n}", language, tally)
    tally.chats += 1
    if rng.random() < 0.3:
        await chat.send("/start")
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        query = pick_query(rng, language)
        replies = await chat.send(query)
        tally.typed[query] += 1
        tally.searches[WHERE_QUESTIONS[language].get(query, query)] += 1
        products = _payloads(replies, "p:")
        if not products or rng.random() >= 0.55:
            continue
        slug = products[0].removeprefix("p:")
        await chat.click(products[0])
        tally.taps["card"] += 1
        if rng.random() < 0.35:
            where = await chat.click(f"where:{slug}")
            tally.taps["where"] += 1
            platforms = _payloads(where, "go:")  # online-platform buttons that report their taps
            if platforms and rng.random() < 0.3:
                await chat.click(rng.choice(platforms))
                tally.taps["link"] += 1
        if rng.random() < 0.2:
            await chat.click(f"contact:{slug}")
            tally.taps["contact"] += 1
        if rng.random() < 0.12:
            await enquiry(chat, slug, rng, n)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///synthetic-ocop.db",
        help="where the synthetic traffic goes (default ./synthetic-ocop.db)",
    )
    parser.add_argument(
        "--weeks", type=int, default=0, help="date the chats over the last N weeks (default: now)"
    )
    parser.add_argument("--html", metavar="FILE", help="then write the insights report (30 days) to FILE")
    args = parser.parse_args()
    settings = Settings(
        database_url=args.database_url, events_secret=SecretStr("synthetic-traffic"), _env_file=None
    )  # type: ignore[call-arg]
    db = Database(settings.database_url)
    await db.prepare()
    services = Services(db, settings)
    router = Router(services)
    tally = await replay(router, chats=args.chats, seed=args.seed, weeks=args.weeks)
    await services.events.stop()
    print(
        f"SYNTHETIC traffic: {tally.chats} chats, {tally.messages} messages, {sum(tally.searches.values())} "
        f"searches, taps {dict(tally.taps)}, enquiries {tally.enquiries_started} started, "
        f"{tally.enquiries_confirmed} confirmed, {tally.enquiries_cancelled} cancelled, "
        f"leads taken up {dict(tally.outcomes)}; "
        f"{services.events.written} events written to {args.database_url}"
    )
    if args.html:
        from bot.insights_cli import load_report
        from bot.insights_html import render_html

        report = await load_report(db, f"{max(30, 7 * args.weeks + 1)}d")
        page = render_html(report, translator(settings.staff_language))
        await asyncio.to_thread(Path(args.html).write_text, page, encoding="utf-8")
        print(f"report: {args.html}")
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
