"""Catalogue queries outside the chat path (which reads the in-memory snapshot, catalog/snapshot.py):
the version counter, the search documents, the statistics; and the distance helper."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from sqlalchemy import Text, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import CatalogState, Contact, OnlineListing, Producer, Product, Store
from catalog.search import ProductDoc
from catalog.search.memory import gc_paused

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
        uses=tuple(p.uses or ()),
    )


async def catalog_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(CatalogState.version).where(CatalogState.id == 1)) or 0)


async def load_search_docs(session: AsyncSession) -> list[ProductDoc]:
    """The products' searchable fields, as `product_doc` makes them, in catalogue order: only the columns the
    index reads, as plain rows (no ORM objects: a quarter of the time at national size, issue 14). The JSON
    lists (aliases, uses) come as their text and each distinct text is decoded once: most products share
    theirs ("[]"), and decoding every row's was 40 % of the loading."""
    decoded: dict[str, tuple[str, ...]] = {}

    def strings(raw: object) -> tuple[str, ...]:
        if not raw:
            return ()
        if not isinstance(raw, str):  # (a driver that decodes JSON itself)
            return tuple(raw)  # type: ignore[call-overload]
        found = decoded.get(raw)
        if found is None:
            found = decoded[raw] = tuple(json.loads(raw) or ())
        return found

    # Producers and places repeat: each distinct text is kept as one object, which the index's build hashes once
    # and finds by identity in its memos (issue 14, 100,000 products: the build ≈1 s faster, and it grows the
    # process 26 MB less).
    shared: dict[str, str] = {}
    one = shared.setdefault

    # (100,000 rows read and made into products: each garbage collection meanwhile would walk them all again.)
    with gc_paused():
        # (On the session's connection, as plain rows: the ORM's handling of each row was a sixth of the time.)
        connection = await session.connection()
        rows = await connection.execute(
            select(
                Product.slug,
                Product.name_vi,
                Product.name_en,
                type_coerce(Product.aliases, Text),
                Product.category,
                Product.stars,
                Producer.name,
                Product.commune,
                Product.district,
                Product.province,
                type_coerce(Product.uses, Text),
            )
            .outerjoin(Producer, Product.producer_id == Producer.id)
            .order_by(Product.id)
        )
        return [
            ProductDoc(
                slug,
                name_vi,
                name_en or "",
                strings(aliases),
                one(category, category),
                stars,
                one(producer, producer) if producer else "",
                one(commune, commune) if commune else "",
                one(district, district) if district else "",
                one(province, province) if province else "",
                strings(uses),
            )
            for slug, name_vi, name_en, aliases, category, stars, producer, commune, district, province, uses in rows
        ]


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
