"""a lead's staff card may sit in a forum topic (a routing rule's message_thread_id): the lead remembers it,
so reminders and notices about the lead go to the same topic

Revision ID: 0008_lead_staff_thread
Revises: 0008_catalog_versions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_lead_staff_thread"
down_revision = "0008_catalog_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("staff_thread_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite ≥ 3.35 drops a plain column in place; recreating `leads` would cascade to its events and outbox.
        op.execute("ALTER TABLE leads DROP COLUMN staff_thread_id")
    else:
        op.drop_column("leads", "staff_thread_id")
