"""Known traffic for the report tests: five chats whose every search, tap and enquiry is written out here,
so each count in the reports can be worked out by hand (see test_reports.py)."""

from __future__ import annotations

from pydantic import SecretStr

from bot.config import Settings
from catalog.db import Database
from handlers.context import Services
from handlers.router import Router
from tests.harness import ChatHarness
from tests.leads.helpers import REF

SECRET = "report-test-secret"


async def fill_from_card(chat: ChatHarness, slug: str, lang: str) -> None:
    """An enquiry started from a product card, answered to the summary."""
    await chat.click(f"enq:start:{slug}")
    await chat.send("500 kg" if lang == "vi" else "2 tonnes")
    await chat.send("Chợ Long Biên, Hà Nội" if lang == "vi" else "Hai Phong port")
    await chat.click("enq:tf:within_month")
    await chat.send("Nguyễn Văn An" if lang == "vi" else "Jane Smith")
    await chat.click("enq:skip")
    await chat.send("0912 345 678" if lang == "vi" else "+44 20 7946 0958")
    await chat.click("enq:skip")
    await chat.click("enq:skip")
    await chat.click("enq:consent:yes")


def first_product(replies: list) -> str:
    found = [p for p in ChatHarness.payloads(replies) if p.startswith("p:")]
    assert found, ChatHarness.text(replies)
    return found[0].removeprefix("p:")


async def replay_known_traffic(db: Database, settings: Settings) -> dict[str, str]:
    """Chats A–E (see test_reports.py); returns the first product each tapped search showed, and the lead's ref."""
    settings = settings.model_copy(update={"events_secret": SecretStr(SECRET)})
    router = Router(Services(db, settings))
    seen: dict[str, str] = {}

    def chat(channel: str, chat_id: str, lang: str | None = None) -> ChatHarness:
        harness = ChatHarness(
            db, settings, channel=channel, chat_id=chat_id, user_id=chat_id, language_hint=lang
        )
        harness.router = router
        return harness

    # finds nothing, then mỳ chũ → card → where to buy → Shopee tapped → a confirmed enquiry
    a = chat("telegram", "1001")
    await a.send("cam bố hạ")
    seen["a"] = first_product(await a.send("mỳ chũ"))
    await a.click(f"p:{seen['a']}")
    stores = await a.click(f"where:{seen['a']}")
    await a.click(next(b.payload for r in stores for row in r.buttons for b in row if "Shopee" in b.label))
    await fill_from_card(a, seen["a"], "vi")
    replies = await a.click("enq:confirm")
    seen["ref"] = REF.search(ChatHarness.text(replies)).group(0)  # type: ignore[union-attr]

    b = chat("telegram", "1002")  # two spellings of the missing orange, then vải thiều and nothing opened
    await b.send("cam bo ha")
    await b.send("camboha")
    seen["b"] = first_product(await b.send("vải thiều"))

    c = chat("zalo", "2003")  # the orange again, a mistyped bánh chưng, then vải thiều → card → contacts
    await c.send("camboha")
    await c.send("banhchungg")
    seen["c"] = first_product(await c.send("vải thiều"))
    await c.click(f"p:{seen['c']}")
    await c.click(f"contact:{seen['c']}")

    d = chat("telegram", "1004", "en")  # English: chocolate, then lychee → card → an enquiry cancelled
    await d.send("chocolate")
    seen["d"] = first_product(await d.send("lychee"))
    await d.click(f"p:{seen['d']}")
    await d.click(f"enq:start:{seen['d']}")
    await d.send("cancel")
    await d.send("cancel")  # the form asks first; a second cancel discards it

    e = chat("zalo", "2005", "en")  # the mistyped bánh chưng again, and a fourth spelling of the orange
    await e.send("banhchungg")
    await e.send("cam bo haa")

    staff = chat("telegram", "-1000")  # staff take up A's enquiry
    staff.user_id = "9001"
    await staff.click(f"lead:claim:{seen['ref']}")
    await router.services.events.flush()
    return seen
