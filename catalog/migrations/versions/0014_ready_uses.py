"""the `ready` use tag (eaten as it is, with no cooking: on a plate, a picnic, a hike or a journey) for products of
the packaged demo catalogue

A database seeded with an earlier demo gets the tag on the same products as a new one (see demo_tags).

Revision ID: 0014_ready_uses
Revises: 0013_inbox_look_indexes
"""

from __future__ import annotations

from alembic import op

from catalog.migrations.demo_tags import add_demo_tag, remove_tag

revision = "0014_ready_uses"
down_revision = "0013_inbox_look_indexes"
branch_labels = None
depends_on = None

TAG = "ready"


def upgrade() -> None:
    add_demo_tag(op.get_bind(), TAG)


def downgrade() -> None:
    remove_tag(op.get_bind(), TAG)
