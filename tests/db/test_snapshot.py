"""The in-memory catalogue snapshot agrees with the database, follows imports, and cannot lazy-load."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import InvalidRequestError

import catalog.snapshot as snapshot
from catalog.collation import collation_key, sort_names
from catalog.db import Database
from catalog.importer import import_file
from catalog.rows import columns_of, read_tables
from catalog.snapshot import LiveCatalog, load_catalog
from handlers.messages import Incoming
from tests.db.test_import_export import PRODUCT, write_csv


async def test_snapshot_matches_the_database(db: Database) -> None:
    async with db.session() as session:
        catalog = await load_catalog(session)
        tables = await read_tables(session)

    assert [p.slug for p in catalog.products] and {p.slug for p in catalog.products} == set(tables["products"])
    assert {s.slug for s in catalog.stores} == set(tables["stores"])
    assert {c.slug for c in catalog.contacts} == set(tables["contacts"])
    for product in catalog.products:
        row = tables["products"][product.slug]
        assert (product.name_vi, product.stars, product.district) == (row["name_vi"], row["stars"], row["district"])
        assert (product.producer.name if product.producer else "") == row["producer"]
        carrying = [s.slug for s in catalog.stores_selling(product)]
        assert set(carrying) == {slug for slug, s in tables["stores"].items() if product.slug in s["products"]}
        assert [s.name for s in catalog.stores_selling(product)] == sort_names(s.name for s in catalog.stores_selling(product))
        listings = catalog.online_platforms(product)
        own = [o.slug for o in listings if o.product_id is not None]
        assert own == [o.slug for o in listings[: len(own)]]  # the product's own listings come first
        assert set(own) == {slug for slug, o in tables["online"].items() if o["product"] == product.slug}
        assert catalog.product(product.slug) is product

    assert [o.slug for o in catalog.platforms] == [o.slug for o in catalog.online_platforms()]
    assert all(o.product_id is None for o in catalog.platforms)
    assert [c.current for c in catalog.contacts] == sorted((c.current for c in catalog.contacts), reverse=True)
    assert all(c.current for c in catalog.current_contacts())
    assert sum(catalog.districts.values()) == sum(1 for p in tables["products"].values() if p["district"])
    assert all(s.kind != "fair" for s in catalog.general_stores())
    # Browsing order: best rated first, unrated last, then by name in Vietnamese order (English names in English).
    assert sorted(catalog.best_first, key=lambda p: p.id) == sorted(catalog.products, key=lambda p: p.id)
    ranks = [(-(p.stars or 0), collation_key(p.name_vi)) for p in catalog.best_first]
    assert ranks == sorted(ranks) and catalog.best_first[-1].stars is None
    ranks_en = [(-(p.stars or 0), collation_key(p.name_en or p.name_vi)) for p in catalog.best_first_in("en")]
    assert ranks_en == sorted(ranks_en) and catalog.best_first_in("vi") is catalog.best_first
    # A search over the snapshot finds the snapshot's products.
    hit = catalog.index.search("mỳ chũ", limit=3).results[0]
    assert catalog.product(hit.doc.slug) is not None


async def test_lookups_skip_unknown_slugs_and_keep_the_order_asked(db: Database) -> None:
    async with db.session() as session:
        catalog = await load_catalog(session)
    first, second = catalog.products[0].slug, catalog.products[1].slug
    assert [p.slug for p in catalog.products_by_slug([second, "no-such-product", first])] == [second, first]
    assert catalog.product("no-such-product") is None


async def test_a_relationship_nobody_loaded_raises_instead_of_querying(db: Database) -> None:
    """The snapshot is shared by every message: a lazy load would run outside any session."""
    async with db.session() as session:
        catalog = await load_catalog(session)
    with pytest.raises(InvalidRequestError):
        _ = catalog.stores[0].products
    with pytest.raises(InvalidRequestError):
        _ = catalog.products[0].listings


async def test_live_catalog_follows_an_import(db: Database, tmp_path: Path) -> None:
    live, lazy = LiveCatalog(recheck_seconds=0), LiveCatalog(recheck_seconds=3600)
    async with db.session() as session:
        before = await live.get(session)
        cached = await lazy.get(session)
        assert await live.get(session) is before  # same version: the same snapshot, not a reload
    count_before = len(before.products)

    await import_file(db, write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products")))

    async with db.session() as session:
        assert await live.get(session) is before  # the new version loads in the background meanwhile
        assert await lazy.get(session) is cached  # within its recheck time a process keeps its snapshot
    after = await live.settled()
    assert after is not None and after.version > before.version
    async with db.session() as session:
        assert await live.get(session) is after
    assert [p.slug for p in after.products] == ["mat-ong-thu"]
    assert after.index.search("mật ong thử", limit=1).results[0].doc.slug == "mat-ong-thu"
    # The old snapshot is untouched: a message that started before the import finishes on it.
    assert len(before.products) == count_before and before.product("mat-ong-thu") is None


async def test_the_bot_answers_from_the_new_catalogue_after_an_import(db: Database, tmp_path: Path, settings) -> None:
    from handlers.context import Services
    from handlers.router import Router

    router = Router(Services(db, settings, catalog=LiveCatalog(recheck_seconds=0)))
    ask = Incoming(channel="telegram", chat_id="77", user_id="77", text="mật ong thử")
    assert "Mật ong thử" not in (await router.handle(ask))[0].text

    await import_file(db, write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products")))

    await router.handle(ask)  # notices the import: the new snapshot loads in the background
    await router.services.catalog.settled()
    card = (await router.handle(ask))[0].text
    assert "Mật ong thử" in card and "HTX Thử" in card


async def test_a_message_during_a_rebuild_is_answered_from_the_old_snapshot(
    db: Database, tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the new version loads (held here until the messages are answered), messages get the old one;
    once it is complete it replaces the old one at once. Both loads run through the real code."""
    from handlers.context import Services
    from handlers.router import Router

    started, release = threading.Event(), threading.Event()
    real_load = snapshot._load_catalog_in_thread

    def held_load(url: str):
        started.set()
        assert release.wait(60), "the test never released the load"
        return real_load(url)

    monkeypatch.setattr(snapshot, "_load_catalog_in_thread", held_load)
    live = LiveCatalog(recheck_seconds=0)
    router = Router(Services(db, settings, catalog=live))
    ask = Incoming(channel="telegram", chat_id="78", user_id="78", text="mật ong thử")
    old_answer = (await router.handle(ask))[0].text  # the first snapshot: loaded while the message waits
    async with db.session() as session:
        old = await live.get(session)
    assert "Mật ong thử" not in old_answer

    await import_file(db, write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products")))

    try:
        during = [(await router.handle(ask))[0].text]  # notices the new version, starts loading it
        assert await asyncio.to_thread(started.wait, 30)
        during += [(await router.handle(ask))[0].text for _ in range(3)]  # the load is still held
        browse = (await router.handle(Incoming(channel="telegram", chat_id="78", user_id="78", text="/products")))
        assert browse and all(r.text for r in browse)
        async with db.session() as session:
            assert await live.get(session) is old
    finally:
        release.set()
    assert all(text == old_answer for text in during)
    new = await live.settled()
    assert new is not None and new is not old and new.version > old.version
    card = (await router.handle(ask))[0].text
    assert "Mật ong thử" in card and "HTX Thử" in card
    assert old.product("mat-ong-thu") is None  # the old snapshot untouched


async def test_a_failed_rebuild_keeps_the_old_snapshot_and_is_tried_again(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_load = snapshot._load_catalog_in_thread
    failures = []

    def failing_once(url: str):
        if not failures:
            failures.append(url)
            raise OSError("disk went away")
        return real_load(url)

    monkeypatch.setattr(snapshot, "_load_catalog_in_thread", failing_once)
    live = LiveCatalog(recheck_seconds=0)
    async with db.session() as session:
        old = await live.get(session)
    await import_file(db, write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products")))

    async with db.session() as session:
        assert await live.get(session) is old
    assert await live.settled() is old and failures
    assert "still answering from the old one" in caplog.text
    async with db.session() as session:
        assert await live.get(session) is old  # tried again, in the background
    new = await live.settled()
    assert new is not None and new.product("mat-ong-thu") is not None


async def test_an_in_memory_database_also_loads_the_new_version_in_the_background(tmp_path: Path) -> None:
    """Only the bot's own loop can reach an in-memory database: the rows are read there, the rest off it."""
    db = Database("sqlite+aiosqlite://")
    await db.prepare()
    try:
        live = LiveCatalog(recheck_seconds=0)
        async with db.session() as session:
            old = await live.get(session)
        await import_file(db, write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products")))
        async with db.session() as session:
            assert await live.get(session) is old
        new = await live.settled()
        assert new is not None and new.version > old.version and new.product("mat-ong-thu") is not None
        assert new.index.search("mật ong thử", limit=1).results[0].doc.slug == "mat-ong-thu"
    finally:
        await db.dispose()


async def test_cards_and_list_lines_kept_per_product_language_and_day(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A product's card and list line are written once per snapshot, language and day, then reused: the same text
    as written afresh; the day of the certificate's state is part of what they are kept by."""
    import datetime as dt

    from handlers import cards
    from locales import translator

    async with db.session() as session:
        catalog = await load_catalog(session)
    melon = catalog.product("dua-kim-hoang-hau")
    assert melon is not None
    for language in ("vi", "en"):
        t = translator(language)
        card = cards.product_card(t, melon, catalog.stores_selling(melon), catalog.online_platforms(melon))
        assert cards.kept_card(t, catalog, melon) == card
        assert cards.kept_card(t, catalog, melon) is cards.kept_card(t, catalog, melon)  # kept, not written again
        shown = catalog.best_first[:3]
        assert cards.kept_lines(t, catalog, shown) == [cards.product_line(t, p, n) for n, p in enumerate(shown, 1)]
    en = translator("en")
    assert "expired Dec 2024" in cards.kept_card(en, catalog, melon)
    # the day before the decision expired: the card is written again for that day
    monkeypatch.setattr(cards, "today_in_vietnam", lambda: dt.date(2024, 11, 1))
    assert "expires on" in cards.kept_card(en, catalog, melon)
    assert "certificate expiring" in cards.kept_lines(en, catalog, [melon])[0]
    # a product read from another snapshot (an import swapped them mid-message) is written, never kept
    async with db.session() as session:
        newer = await load_catalog(session)
    assert cards.kept_card(en, newer, melon) == cards.kept_card(en, catalog, melon) and not newer._rendered
    assert cards.kept_lines(en, newer, [melon]) and not newer._rendered
    monkeypatch.setattr(snapshot, "RENDERED_KEPT", 2)
    for product in catalog.products[:5]:
        cards.kept_card(en, catalog, product)
    assert len(catalog._rendered) == 2  # bounded: the oldest dropped first


async def test_a_part_of_the_catalogue_kept_per_filter_and_language_pages_as_picked_afresh(
    db: Database, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Browsing pages (groups, stars, districts, searched filters) from the snapshot's kept picks: the same replies,
    in both languages taking turns (English names order the pages otherwise), as with every pick made afresh."""
    from tests.harness import ChatHarness

    taps = ["b:c:food:0", "b:c:food:1", "b:s:4:0", "b:s:0:0", "b:d:luc-ngan:0", "b:c:drink:0", "b:s:3:1"]
    texts = ["OCOP 4 sao Lục Ngạn", "đồ uống", "4 star products"]

    async def browse(first: ChatHarness) -> list[str]:
        seen = []
        for n, language in enumerate(("vi", "en", "vi", "en")):  # one router, so one snapshot, for every chat
            chat = first.as_user(f"{first.chat_id}{n}", language_hint=language)
            for payload in taps:
                replies = await chat.click(payload)
                seen.append(ChatHarness.text(replies) + repr(ChatHarness.payloads(replies)))
            for text in texts:
                replies = await chat.send(text)
                seen.append(ChatHarness.text(replies) + repr(ChatHarness.payloads(replies)))
        return seen

    monkeypatch.setattr(snapshot, "SELECTIONS_KEPT", 0)
    afresh = await browse(ChatHarness(db, settings, chat_id="7"))
    monkeypatch.setattr(snapshot, "SELECTIONS_KEPT", 64)
    keeping = ChatHarness(db, settings, chat_id="8")
    kept = await browse(keeping)
    assert kept == afresh
    assert afresh[0] != afresh[len(taps) + len(texts)]  # Vietnamese and English pages differ
    async with db.session() as session:
        catalog = await keeping.router.services.catalog.get(session)
    assert {key[2] for key in catalog._selections} == {"vi", "en"}  # the pages were the snapshot's kept picks
    monkeypatch.setattr(snapshot, "SELECTIONS_KEPT", 2)
    for stars in (1, 2, 3, 4):
        catalog.selection(("stars", stars), lambda stars=stars: [p for p in catalog.products if p.stars == stars])
    assert len(catalog._selections) == 2  # bounded: the oldest dropped first
