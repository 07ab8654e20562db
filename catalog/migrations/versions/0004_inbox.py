"""the durable inbox: updates and events stored before they are acknowledged; chat migrations; erased counts;
process leases

Revision ID: 0004_inbox
Revises: 0003_product_uses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.models

revision = "0004_inbox"
down_revision = "0003_product_uses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("replies", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", catalog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("channel", "key", name="uq_inbox_channel_key"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_status", ["status", "channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_created_at"), ["created_at"], unique=False)
    op.create_table(
        "chat_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("old_chat_id", sa.String(length=64), nullable=False),
        sa.Column("new_chat_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_migrations")),
        sa.UniqueConstraint("channel", "old_chat_id", name="uq_chat_migrations_channel_old"),
    )
    op.create_table(
        "erased_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erased_counts")),
        sa.UniqueConstraint("user_key", "day", name="uq_erased_counts_user_day"),
    )


    op.create_table(
        "process_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("expires_at", catalog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_process_leases")),
    )


def downgrade() -> None:
    op.drop_table("process_leases")
    op.drop_table("erased_counts")
    op.drop_table("chat_migrations")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_created_at"))
        batch_op.drop_index("ix_inbox_status")
    op.drop_table("inbox")
