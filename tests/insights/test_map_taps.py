"""Map links count their taps when the console has a public address: the answer links to /go/map/<store>, which
records the tap (no chat key) and redirects to the store's map; link previews and HEAD requests are not counted."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import Settings
from bot.web.server import console_app
from catalog.db import Database
from catalog.models import Event, Store
from handlers import cards
from tests.harness import ChatHarness

PUBLIC = "https://desk.example.org"


async def map_taps(db: Database) -> list[tuple[str, str, str, str | None]]:
    async with db.session() as session:
        rows = (await session.scalars(select(Event).where(Event.kind == "link_tap").order_by(Event.id))).all()
    return [(e.step, e.product, e.channel, e.chat_key) for e in rows]


async def test_where_to_buy_links_the_maps_through_the_console_when_it_has_a_public_address(
    db: Database, settings: Settings
) -> None:
    direct = ChatHarness(db, settings, channel="telegram", chat_id="4101", user_id="4101")
    text = ChatHarness.text(await direct.click("where:vai-thieu-hong-xuan"))
    assert "google.com/maps" in text and PUBLIC not in text  # no public address: the map itself

    counted = ChatHarness(
        db, settings.model_copy(update={"web_public_url": PUBLIC}), channel="telegram", chat_id="4102", user_id="4102"
    )
    replies = await counted.click("where:vai-thieu-hong-xuan")
    links = [u for r in replies for u in re.findall(r'href="([^"]+)"', r.text)]
    maps = [u for u in links if u.startswith(f"{PUBLIC}/go/map/")]
    assert maps and not [u for u in links if "google.com/maps" in u]
    query = parse_qs(urlsplit(maps[0].replace("&amp;", "&")).query)
    assert query == {"c": ["telegram"], "p": ["vai-thieu-hong-xuan"]}


async def test_a_map_tap_is_counted_then_sent_to_the_map(db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"web_secret": SecretStr("s" * 32), "web_public_url": PUBLIC})
    async with db.session() as session:
        store = (await session.scalars(select(Store).where(Store.address != "").order_by(Store.id))).first()
    assert store is not None
    app = console_app(db, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as client:
        tap = await client.get(f"/go/map/{store.slug}", params={"c": "zalo", "p": "mat-ong-yen-my"})
        assert tap.status_code == 302 and tap.headers["location"] == cards.store_map_url(store)
        assert await map_taps(db) == [("map", "mat-ong-yen-my", "zalo", None)]

        # Not a tap: a chat app drawing a link preview, a HEAD request.
        preview = await client.get(f"/go/map/{store.slug}", headers={"user-agent": "TelegramBot (like TwitterBot)"})
        head = await client.head(f"/go/map/{store.slug}")
        assert preview.status_code == head.status_code == 302
        # Whatever else is sent in the link is not stored: an unknown channel, a product that is no slug.
        await client.get(f"/go/map/{store.slug}", params={"c": "evil", "p": "<script>"})
        assert (await map_taps(db))[1:] == [("map", "", "", None)]

        for slug in ("no-such-store", "A%20B", "x" * 200):
            gone = await client.get(f"/go/map/{slug}")
            assert gone.status_code == 404
            assert "không còn trong danh mục" in gone.text and "not in the catalogue any more" in gone.text
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 2
