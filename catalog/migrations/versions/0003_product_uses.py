"""product use and occasion tags (gift, tet, health…), a JSON list like aliases

Existing products get [], except those of the packaged demo catalogue (same slug and Vietnamese name), which
get the demo's tags: a database seeded with an earlier demo answers "quà biếu" like a new one.

Revision ID: 0003_product_uses
Revises: 0002
"""

from __future__ import annotations

import json
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0003_product_uses"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uses", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    demo = json.loads(resources.files("catalog.data").joinpath("demo_catalog.json").read_text(encoding="utf-8"))
    products = sa.table("products", sa.column("slug"), sa.column("name_vi"), sa.column("uses", sa.JSON()))
    for row in demo["products"]:
        if row.get("uses"):
            op.execute(
                products.update()
                .where(products.c.slug == row["slug"], products.c.name_vi == row["name_vi"])
                .values(uses=list(row["uses"]))
            )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("uses")
