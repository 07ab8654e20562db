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
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, raiseload, selectinload

from catalog.collation import collation_key
from catalog.models import Contact, OnlineListing, Product, Store
from catalog.repository import catalog_version, product_doc
from catalog.search import SearchIndex
from catalog.text import fold


class Catalog:
    """One version of the catalogue, read-only. Lists come back in a stable order: the order a user sees."""

    def __init__(
        self,
        version: int,
        products: Iterable[Product],
        stores: Iterable[Store],
        listings: Iterable[OnlineListing],
        contacts: Iterable[Contact],
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
        self.index = SearchIndex([product_doc(p) for p in self.products])
        self.districts: dict[str, int] = dict(Counter(p.district for p in self.products if p.district))

    # --- products

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


async def load_catalog(session: AsyncSession) -> Catalog:
    """Everything a message may read, in five queries; the version is read first, so a snapshot is never
    labelled newer than its contents."""
    version = await catalog_version(session)
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
    return Catalog(version, products, stores, listings, contacts)


class LiveCatalog:
    """One per process; messages ask it for the current snapshot.

    The catalogue version is read at most once per `recheck_seconds`, so an import made by another
    process shows up within that time while a busy bot does not pay a query on every message.
    """

    def __init__(self, recheck_seconds: float = 1.0) -> None:
        self._catalog: Catalog | None = None
        self._checked_at = float("-inf")
        self._recheck = recheck_seconds
        self._lock = asyncio.Lock()

    async def get(self, session: AsyncSession) -> Catalog:
        now = time.monotonic()
        current = self._catalog
        if current is not None and now - self._checked_at < self._recheck:
            return current
        version = await catalog_version(session)
        self._checked_at = now
        if current is not None and version == current.version:
            return current
        async with self._lock:
            if self._catalog is None or version != self._catalog.version:
                self._catalog = await load_catalog(session)
        return self._catalog
