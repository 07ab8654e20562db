"""the `vegetarian` use tag (plant food to cook a vegetarian meal with) for products of the packaged demo catalogue

A database seeded with an earlier demo gets the tag on the same products as a new one (see demo_tags).

Revision ID: 0009_vegetarian_uses
Revises: 0008_lead_staff_thread
"""

from __future__ import annotations

from alembic import op

from catalog.migrations.demo_tags import add_demo_tag, remove_tag

revision = "0009_vegetarian_uses"
down_revision = "0008_lead_staff_thread"
branch_labels = None
depends_on = None

TAG = "vegetarian"


def upgrade() -> None:
    add_demo_tag(op.get_bind(), TAG)


def downgrade() -> None:
    remove_tag(op.get_bind(), TAG)
