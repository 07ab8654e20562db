"""the `keeps` use tag (keeps well, for travel) for products of the packaged demo catalogue

A database seeded with an earlier demo gets the tag on the same products as a new one (see demo_tags).

Revision ID: 0008_keeps_uses
Revises: 0005_desk
"""

from __future__ import annotations

from alembic import op

from catalog.migrations.demo_tags import add_demo_tag, remove_tag

revision = "0008_keeps_uses"
down_revision = "0005_desk"
branch_labels = None
depends_on = None

TAG = "keeps"


def upgrade() -> None:
    add_demo_tag(op.get_bind(), TAG)


def downgrade() -> None:
    remove_tag(op.get_bind(), TAG)
