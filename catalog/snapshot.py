"""The catalogue held in memory: one read-only snapshot per catalogue version, shared by every message.

The catalogue changes only when someone imports a file (which bumps `catalog_state.version`), while every
chat message reads it: a card needs the product, its producer, its stores and listings; a list needs a
page of products; browsing needs counts. Loading those from the database on every message cost more
than everything else a message does. So each process loads the whole catalogue once per version —
products with their producer, stores and listings, the stores, the online platforms, the contacts — and
builds the search index from the same load. Handlers ask the snapshot and make no catalogue queries.

The objects are ORM instances detached from the session that loaded them, with every relationship a
handler reads loaded up front and every other one set to raise, so a slip shows up as an error in the
tests instead of a silent query. Nothing may modify them: they are shared by all messages.

Memory: the demo catalogue is a few hundred kilobytes; 20,000 products take tens of megabytes.

The search index is the slow part to build (seconds at national size): it is kept on disk keyed by the
catalogue version (catalog/search/stored.py), so only the first process after an import builds it and the
others load it. A process that already serves a snapshot never makes a message wait for the next one:
`LiveCatalog` loads the new version in a background thread (its own event loop and database connection)
and swaps it in when it is complete; messages meanwhile are answered from the old snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import joinedload, raiseload, selectinload

from catalog.collation import collation_key
from catalog.db import bound_engine
from catalog.models import CatalogState, Contact, OnlineListing, Product, Store
from catalog.repository import catalog_version, load_search_docs, product_doc
from catalog.search import ProductDoc, SearchIndex, stored
from catalog.search.stored import IndexKey
from catalog.text import fold

log = logging.getLogger(__name__)


RENDERED_KEPT = 4_096  # texts a snapshot keeps (`Catalog.rendered`): ≈ a few MB of cards and list lines
SELECTIONS_KEPT = 64  # parts of the catalogue a snapshot keeps (`Catalog.selection`), each a tuple of its products


class Catalog:
    """One version of the catalogue, read-only. Lists come back in a stable order: the order a user sees."""

    def __init__(
        self,
        version: int,
        products: Iterable[Product],
        stores: Iterable[Store],
        listings: Iterable[OnlineListing],
        contacts: Iterable[Contact],
        index: SearchIndex | None = None,
    ) -> None:
        self.version = version
        self.products: tuple[Product, ...] = tuple(products)  # in id order, as imported
        self._by_slug = {p.slug: p for p in self.products}
        # How browsing lists products: best rated first (unrated last), then in alphabetical order of the
        # name the reader sees (Vietnamese order: catalog/collation.py); sorted once here, so a page of a
        # 20,000-product catalogue is a filter, not a sort.
        self.best_first: tuple[Product, ...] = tuple(
            sorted(self.products, key=lambda p: (-(p.stars or 0), collation_key(p.name_vi), p.id))
        )
        self.best_first_en: tuple[Product, ...] = tuple(
            sorted(self.products, key=lambda p: (-(p.stars or 0), collation_key(p.name_en or p.name_vi), p.id))
        )
        self.stores: tuple[Store, ...] = tuple(sorted(stores, key=lambda s: (collation_key(s.name), s.id)))
        self._listings = tuple(sorted(listings, key=lambda o: (collation_key(o.platform), o.id)))
        self.platforms: tuple[OnlineListing, ...] = tuple(o for o in self._listings if o.product_id is None)
        self._listings_of: dict[int, list[OnlineListing]] = defaultdict(list)
        for listing in self._listings:
            if listing.product_id is not None:
                self._listings_of[listing.product_id].append(listing)
        self._stores_of = {p.id: tuple(sorted(p.stores, key=lambda s: (collation_key(s.name), s.id)))
                           for p in self.products}
        self.contacts: tuple[Contact, ...] = tuple(sorted(contacts, key=lambda c: (not c.current, c.id)))
        self.index = index if index is not None else SearchIndex([product_doc(p) for p in self.products])
        self.districts: dict[str, int] = dict(Counter(p.district for p in self.products if p.district))
        self._rendered: dict[Hashable, str] = {}  # see `rendered`
        self._selections: dict[Hashable, tuple[Product, ...]] = {}  # see `selection`

    # --- products

    def rendered(self, product: Product, key: Hashable, make: Callable[[], str]) -> str:
        """Text about `product` written from this snapshot alone (its card, its list line) by `make()`, kept for the
        next message that shows it: `key` must name everything else the text depends on (the kind of text, the
        language, the day its certificate's state was worked out for). Safe because a snapshot never changes (a new
        catalogue is a new snapshot, with an empty memory); the last RENDERED_KEPT texts are kept, the oldest dropped
        first. A product that is not this snapshot's own (read before an import's new snapshot took over) is written
        afresh and not kept."""
        if self.product(product.slug) is not product:
            return make()
        full = (product.slug, key)
        text = self._rendered.get(full)
        if text is None:
            text = make()
            if RENDERED_KEPT > 0:
                while len(self._rendered) >= RENDERED_KEPT:
                    del self._rendered[next(iter(self._rendered))]  # the oldest
                self._rendered[full] = text
        return text

    def selection(self, key: Hashable, make: Callable[[], Iterable[Product]]) -> tuple[Product, ...]:
        """The products `make()` picks from this snapshot alone (a part of the catalogue to browse, in its order),
        kept for the next message that asks for the same part: `key` must name everything the pick depends on (the
        filter, the reader's language for the order). Safe because a snapshot never changes; the last
        SELECTIONS_KEPT picks are kept, the oldest dropped first (a pick of a 20,000-product catalogue walks all of
        them)."""
        found = self._selections.get(key)
        if found is None:
            found = tuple(make())
            if SELECTIONS_KEPT > 0:
                while len(self._selections) >= SELECTIONS_KEPT:
                    del self._selections[next(iter(self._selections))]  # the oldest
                self._selections[key] = found
        return found

    def best_first_in(self, language: str) -> tuple[Product, ...]:
        """Browsing order for a reader of `language` (English names sort in English mode)."""
        return self.best_first_en if language == "en" else self.best_first

    def product(self, slug: str) -> Product | None:
        return self._by_slug.get(slug)

    def products_by_slug(self, slugs: Iterable[str]) -> list[Product]:
        """Products in the order of `slugs`, skipping any that no longer exist."""
        return [p for s in slugs if (p := self._by_slug.get(s)) is not None]

    # --- where to buy, whom to contact

    def stores_selling(self, product: Product) -> tuple[Store, ...]:
        return self._stores_of.get(product.id, ())

    def general_stores(self, district: str | None = None) -> list[Store]:
        """OCOP stores and display points that sell OCOP products in general (the same district first)."""
        stores = [s for s in self.stores if s.kind != "fair"]
        if district:
            folded = fold(district)
            stores.sort(key=lambda s: fold(s.district) != folded)
        return stores

    def online_platforms(self, product: Product | None = None) -> list[OnlineListing]:
        """Listings of `product` first, then the platforms that sell OCOP products in general."""
        own = self._listings_of.get(product.id, ()) if product is not None else ()
        return [*own, *self.platforms]

    def current_contacts(self) -> list[Contact]:
        return [c for c in self.contacts if c.current]


async def index_key(session: AsyncSession) -> IndexKey | None:
    """Which catalogue the database holds now, to label (or find) a stored search index; None without a
    catalogue version (nothing is stored then)."""
    row = (
        await session.execute(
            select(
                CatalogState.version,
                CatalogState.updated_at,
                select(func.count(Product.id)).scalar_subquery(),
            ).where(CatalogState.id == 1)
        )
    ).first()
    engine = bound_engine(session)
    if row is None or engine is None:
        return None
    url = engine.url.render_as_string(hide_password=True)
    return IndexKey(url, int(row[0] or 0), str(row[1]), int(row[2]))


def search_index(docs: Sequence[ProductDoc], key: IndexKey | None) -> SearchIndex:
    """The stored index of this catalogue version if there is a good one; else built, then stored.

    A stored index is used only if it holds exactly these products' searchable fields: a product edited in
    the database by hand, without an import to bump the version, is not searched under its old name."""
    path = stored.index_path(key.database) if key is not None else None
    if key is not None and path is not None:
        index = stored.load(path, key)
        if index is not None and index.docs == list(docs):
            return index
    index = SearchIndex(docs)
    if key is not None and path is not None and key.products == len(docs):
        try:
            stored.save(index, path, key)
        except OSError as exc:  # a read-only or full disk: the index still works, it is only not kept
            log.warning("search index not stored at %s: %s", path, exc)
    return index


async def load_search_index(session: AsyncSession) -> SearchIndex:
    """The search index alone (`ocop-bot search`, after `ocop-bot catalog import`): loaded from disk when
    stored for the current catalogue version, else built from the products and stored."""
    key = await index_key(session)
    path = stored.index_path(key.database) if key is not None else None
    if key is not None and path is not None:
        index = await asyncio.to_thread(stored.load, path, key)
        if index is not None:
            return index
    docs = await load_search_docs(session)
    return await asyncio.to_thread(search_index, docs, key)


async def load_catalog(session: AsyncSession, *, off_loop: bool = False) -> Catalog:
    """Everything a message may read, in five queries; the version is read first, so a snapshot is never
    labelled newer than its contents. With `off_loop`, the building (sorting, the search index) runs on a
    worker thread."""
    key = await index_key(session)
    version = key.version if key is not None else await catalog_version(session)
    products = (await session.scalars(
        select(Product).order_by(Product.id).options(
            joinedload(Product.producer).raiseload("*"),
            selectinload(Product.stores).raiseload("*"),
            raiseload("*"),
        )
    )).unique().all()
    stores = (await session.scalars(select(Store).options(raiseload("*")))).all()
    listings = (await session.scalars(select(OnlineListing).options(raiseload("*")))).all()
    contacts = (await session.scalars(select(Contact))).all()

    def build() -> Catalog:
        index = search_index([product_doc(p) for p in products], key)
        return Catalog(version, products, stores, listings, contacts, index)

    return await asyncio.to_thread(build) if off_loop else build()


def _load_catalog_in_thread(url: str) -> Catalog:
    """Load a snapshot on this (background) thread, with its own event loop and database connection, so the
    bot's event loop only hands over the CPU now and then instead of waiting seconds."""
    from catalog.db import Database

    async def load() -> Catalog:
        db = Database(url)
        try:
            async with db.session() as session:
                return await load_catalog(session)
        finally:
            await db.dispose()

    return asyncio.run(load())


def _in_memory(engine: AsyncEngine) -> bool:
    return engine.url.get_backend_name() == "sqlite" and (engine.url.database or ":memory:") == ":memory:"


class LiveCatalog:
    """One per process; messages ask it for the current snapshot.

    The catalogue version is read at most once per `recheck_seconds`, so an import made by another
    process shows up within that time while a busy bot does not pay a query on every message.

    The first snapshot is loaded while the message that asked waits (there is nothing else to answer from).
    After that, a new version is loaded in the background (`background`, the default): messages are
    answered from the old snapshot until the new one is complete, then it replaces the old one at once.
    `settled()` waits for a load under way (tests, and a process that wants the newest before going on).
    """

    def __init__(self, recheck_seconds: float = 1.0, *, background: bool = True) -> None:
        self._catalog: Catalog | None = None
        self._checked_at = float("-inf")
        self._recheck = recheck_seconds
        self._lock = asyncio.Lock()
        self._background = background
        self._rebuild: asyncio.Task[None] | None = None

    def fresh(self) -> Catalog | None:
        """The snapshot when its version needs no check yet (checked less than `recheck_seconds` ago), else None."""
        current = self._catalog
        if current is not None and time.monotonic() - self._checked_at < self._recheck:
            return current
        return None

    async def get(self, session: AsyncSession) -> Catalog:
        now = time.monotonic()
        current = self._catalog
        if current is not None and now - self._checked_at < self._recheck:
            return current
        version = await catalog_version(session)
        self._checked_at = now
        if current is not None and version == current.version:
            return current
        engine = bound_engine(session)  # a router's turn's session is bound to its connection (catalog/db.py's `Turn`)
        if current is not None and self._background and isinstance(engine, AsyncEngine):
            if self._rebuild is None or self._rebuild.done():
                self._rebuild = asyncio.create_task(self._load_in_background(engine))
            return current
        async with self._lock:
            if self._catalog is None or version != self._catalog.version:
                self._catalog = await load_catalog(session)
        return self._catalog

    async def settled(self) -> Catalog | None:
        """The snapshot once any background load under way has finished."""
        if self._rebuild is not None:
            await asyncio.shield(self._rebuild)
        return self._catalog

    async def _load_in_background(self, engine: AsyncEngine) -> None:
        try:
            if _in_memory(engine):
                # One shared connection: only this loop can reach that database. The rows are read here,
                # everything else (sorting, the search index) off the event loop.
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    catalog = await load_catalog(session, off_loop=True)
            else:
                catalog = await asyncio.to_thread(
                    _load_catalog_in_thread, engine.url.render_as_string(hide_password=False)
                )
        except Exception:
            log.exception("loading the new catalogue snapshot failed; still answering from the old one")
            self._checked_at = float("-inf")  # try again on the next message
            return
        async with self._lock:
            self._catalog = catalog
        log.info("catalogue snapshot version %s in use (%s products)", catalog.version, len(catalog.products))

