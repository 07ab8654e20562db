"""the `cool` use tag (a ready-made drink served cold, to refresh: giải khát) for products of the packaged demo
catalogue

A database seeded with an earlier demo gets the tag on the same products as a new one (see demo_tags).

Revision ID: 0015_cool_uses
Revises: 0014_meal_uses
"""

from __future__ import annotations

from alembic import op

from catalog.migrations.demo_tags import add_demo_tag, remove_tag

revision = "0015_cool_uses"
down_revision = "0014_meal_uses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_demo_tag(op.get_bind(), "cool")


def downgrade() -> None:
    remove_tag(op.get_bind(), "cool")
