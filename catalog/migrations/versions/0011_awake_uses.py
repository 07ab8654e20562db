"""the `awake` use tag (tea from the tea plant, drunk to stay alert instead of coffee) for products of the
packaged demo catalogue

A database seeded with an earlier demo gets the tag on the same products as a new one (see demo_tags).

Revision ID: 0011_awake_uses
Revises: 0010_cooking_uses
"""

from __future__ import annotations

from alembic import op

from catalog.migrations.demo_tags import add_demo_tag, remove_tag

revision = "0011_awake_uses"
down_revision = "0010_cooking_uses"
branch_labels = None
depends_on = None

TAG = "awake"


def upgrade() -> None:
    add_demo_tag(op.get_bind(), TAG)


def downgrade() -> None:
    remove_tag(op.get_bind(), TAG)
