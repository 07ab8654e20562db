"""Read access to the catalogue: products, where they are sold, whom to contact, counts."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.models import CatalogState, Contact, OnlineListing, Product, Store
from catalog.search import ProductDoc
from catalog.text import fold

EARTH_RADIUS_KM = 6371.0088


def product_doc(p: Product) -> ProductDoc:
    return ProductDoc(
        slug=p.slug,
        name_vi=p.name_vi,
        name_en=p.name_en or "",
        aliases=tuple(p.aliases or ()),
        category=p.category,
        stars=p.stars,
        producer=p.producer.name if p.producer else "",
        commune=p.commune or "",
        district=p.district or "",
        province=p.province or "",
    )


async def catalog_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(CatalogState.version).where(CatalogState.id == 1)) or 0)


async def load_search_docs(session: AsyncSession) -> list[ProductDoc]:
    products = (await session.scalars(select(Product).order_by(Product.id))).unique()
    return [product_doc(p) for p in products]


async def get_product(session: AsyncSession, slug: str) -> Product | None:
    return await session.scalar(
        select(Product)
        .where(Product.slug == slug)
        .options(selectinload(Product.stores))
    )


async def get_products(session: AsyncSession, slugs: list[str]) -> list[Product]:
    """Products in the order of `slugs`, skipping any that no longer exist."""
    if not slugs:
        return []
    found = {p.slug: p for p in (await session.scalars(select(Product).where(Product.slug.in_(slugs)))).unique()}
    return [found[s] for s in slugs if s in found]


async def stores_selling(session: AsyncSession, product: Product) -> list[Store]:
    rows = await session.scalars(
        select(Store).join(Store.products).where(Product.id == product.id).order_by(Store.name)
    )
    return list(rows)


async def general_stores(session: AsyncSession, district: str | None = None) -> list[Store]:
    """OCOP stores and display points that sell OCOP products in general (the same district first)."""
    stores = list(await session.scalars(select(Store).where(Store.kind != "fair").order_by(Store.name)))
    if district:
        folded = fold(district)
        stores.sort(key=lambda s: fold(s.district) != folded)
    return stores


async def online_platforms(session: AsyncSession, product: Product | None = None) -> list[OnlineListing]:
    """Listings of `product` first, then the platforms that sell OCOP products in general."""
    condition = OnlineListing.product_id.is_(None)
    if product is not None:
        condition = or_(condition, OnlineListing.product_id == product.id)
    rows = await session.scalars(select(OnlineListing).where(condition).order_by(OnlineListing.platform))
    listings = list(rows)
    listings.sort(key=lambda o: o.product_id is None)
    return listings


async def contacts(session: AsyncSession, *, current_only: bool = False) -> list[Contact]:
    query = select(Contact).order_by(Contact.current.desc(), Contact.id)
    if current_only:
        query = query.where(Contact.current.is_(True))
    return list(await session.scalars(query))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


async def catalog_stats(session: AsyncSession) -> dict[str, Any]:
    products = (await session.scalars(select(Product))).unique().all()
    return {
        "products": len(products),
        "by_category": dict(Counter(p.category for p in products).most_common()),
        "by_stars": dict(sorted(Counter(p.stars or 0 for p in products).items(), reverse=True)),
        "by_district": dict(Counter(p.district or "" for p in products).most_common()),
        "stores": int(await session.scalar(select(func.count(Store.id))) or 0),
        "online": int(await session.scalar(select(func.count(OnlineListing.id))) or 0),
        "contacts": int(await session.scalar(select(func.count(Contact.id))) or 0),
        "version": await catalog_version(session),
    }
