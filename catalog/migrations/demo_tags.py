"""Shared by the migrations that give a database seeded with an earlier demo a use tag the packaged demo
catalogue has since gained: the same products (same slug and Vietnamese name) get it, added to whatever tags
they carry; nothing else changes. Other catalogues are left as they are: the department tags its own products
on import."""

from __future__ import annotations

import json
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _demo_tagged(tag: str) -> dict[str, str]:
    demo = json.loads(resources.files("catalog.data").joinpath("demo_catalog.json").read_text(encoding="utf-8"))
    return {row["slug"]: row["name_vi"] for row in demo["products"] if tag in row.get("uses", ())}


def add_demo_tag(bind: Connection, tag: str) -> None:
    products = sa.table(
        "products", sa.column("id"), sa.column("slug"), sa.column("name_vi"), sa.column("uses", sa.JSON())
    )
    wanted = _demo_tagged(tag)
    rows = bind.execute(sa.select(products.c.id, products.c.slug, products.c.name_vi, products.c.uses)).all()
    for row in rows:
        uses = list(row.uses or [])
        if wanted.get(row.slug) == row.name_vi and tag not in uses:
            bind.execute(products.update().where(products.c.id == row.id).values(uses=[*uses, tag]))


def remove_tag(bind: Connection, tag: str) -> None:
    products = sa.table("products", sa.column("id"), sa.column("uses", sa.JSON()))
    for row in bind.execute(sa.select(products.c.id, products.c.uses)).all():
        if tag in (row.uses or []):
            uses = [u for u in row.uses if u != tag]
            bind.execute(products.update().where(products.c.id == row.id).values(uses=uses))
