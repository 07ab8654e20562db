"""the inbox's order within a chat: `seq` (Telegram's update id, Zalo's event time) and the indexes that read
a chat's next update and the recent updates of a chat

Revision ID: 0005_inbox_order
Revises: 0004_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_inbox_order"
down_revision = "0004_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.create_index("ix_inbox_chat_order", ["channel", "chat_key", "seq"], unique=False)
        batch_op.create_index("ix_inbox_seq", ["channel", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_seq")
        batch_op.drop_index("ix_inbox_chat_order")
        batch_op.drop_column("seq")
