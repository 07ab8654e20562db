"""demand insight: anonymous events (searches, views, form steps) and the weekly digest's claims

Revision ID: 0006_events
Revises: 0007_offering_uses

Independent of anything but 0004's tables (it touches none of them), so another 0005 can be chained in
between at merge time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.models

revision = "0006_events"
down_revision = "0007_offering_uses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", catalog.models.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("chat_key", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("results", sa.Integer(), nullable=True),
        sa.Column("product", sa.String(length=120), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_chat_key"), ["chat_key"], unique=False)
    op.create_table(
        "digest_runs",
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_digest_runs")),
    )


def downgrade() -> None:
    op.drop_table("digest_runs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_chat_key"))
        batch_op.drop_index(batch_op.f("ix_events_at"))
    op.drop_table("events")
