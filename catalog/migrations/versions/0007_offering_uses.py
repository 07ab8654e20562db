"""the `offering` use tag (đồ cúng, đồ lễ) for products of the packaged demo catalogue

A database seeded with an earlier demo gets the tag on the same products as a new one (same slug and Vietnamese
name), added to whatever tags they carry now; nothing else changes. Other catalogues are left as they are: the
department tags its own products on import.

Revision ID: 0007_offering_uses
Revises: 0005_inbox_order
"""

from __future__ import annotations

import json
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0007_offering_uses"
down_revision = "0005_inbox_order"
branch_labels = None
depends_on = None

TAG = "offering"


def _demo_offerings() -> dict[str, str]:
    demo = json.loads(resources.files("catalog.data").joinpath("demo_catalog.json").read_text(encoding="utf-8"))
    return {row["slug"]: row["name_vi"] for row in demo["products"] if TAG in row.get("uses", ())}


def upgrade() -> None:
    products = sa.table(
        "products", sa.column("id"), sa.column("slug"), sa.column("name_vi"), sa.column("uses", sa.JSON())
    )
    wanted = _demo_offerings()
    bind = op.get_bind()
    rows = bind.execute(sa.select(products.c.id, products.c.slug, products.c.name_vi, products.c.uses)).all()
    for row in rows:
        uses = list(row.uses or [])
        if wanted.get(row.slug) == row.name_vi and TAG not in uses:
            bind.execute(products.update().where(products.c.id == row.id).values(uses=[*uses, TAG]))


def downgrade() -> None:
    products = sa.table("products", sa.column("id"), sa.column("uses", sa.JSON()))
    bind = op.get_bind()
    for row in bind.execute(sa.select(products.c.id, products.c.uses)).all():
        if TAG in (row.uses or []):
            uses = [u for u in row.uses if u != TAG]
            bind.execute(products.update().where(products.c.id == row.id).values(uses=uses))
