"""PostgreSQL: a NOTIFY on channel `ocop_outbox` whenever an outbox entry becomes pending (queued, or handed
back), so every process's delivery worker, LISTENing, looks at once instead of polling every second
(bot/delivery.py). Nothing on SQLite: one process delivers what it queued itself.

Revision ID: 0012_outbox_notify
Revises: 0011_awake_uses
"""

from __future__ import annotations

from alembic import op

revision = "0012_outbox_notify"
down_revision = "0011_awake_uses"
branch_labels = None
depends_on = None

CHANNEL = "ocop_outbox"  # bot/delivery.py LISTENs on it


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One notification per transaction (PostgreSQL folds identical ones), sent as it commits.
    op.execute(f"""
        CREATE OR REPLACE FUNCTION ocop_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF status ON outbox
        FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION ocop_outbox_notify()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS ocop_outbox_notify()")
