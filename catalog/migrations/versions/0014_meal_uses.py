"""the `ready` (eaten as it is, with no cooking: on a plate, a picnic, a hike or a journey), `breakfast` (what a
Vietnamese breakfast is made of) and `brew` (made into a drink with hot water) use tags for products of the
packaged demo catalogue

A database seeded with an earlier demo gets the tags on the same products as a new one (see demo_tags).

Revision ID: 0014_meal_uses
Revises: 0013_inbox_look_indexes
"""

from __future__ import annotations

from alembic import op

from catalog.migrations.demo_tags import add_demo_tag, remove_tag

revision = "0014_meal_uses"
down_revision = "0013_inbox_look_indexes"
branch_labels = None
depends_on = None

TAGS = ("ready", "breakfast", "brew")


def upgrade() -> None:
    for tag in TAGS:
        add_demo_tag(op.get_bind(), tag)


def downgrade() -> None:
    for tag in TAGS:
        remove_tag(op.get_bind(), tag)
