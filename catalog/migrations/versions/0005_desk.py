"""the department's desk: staff accounts, the lead lifecycle (assignee, tags, claimed / first reply / closed
times, product group and former district, the staff chat a card was routed to, who acted), the audit log,
canned replies, desk settings (business hours, holidays, deadlines), routing rules, deadline alerts

Revision ID: 0005_desk
Revises: 0006_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.models

revision = "0005_desk"
down_revision = "0006_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body_vi", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("updated_at", catalog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )
    op.create_table(
        "desk_settings",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", catalog.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_desk_settings")),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_group", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("staff_ids", sa.JSON(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
    )
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("session_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", catalog.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_staff_accounts_telegram_user_id")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_accounts_username")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_audit_log_staff_id_staff_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_action_subject", ["action", "subject", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)

    op.create_table(
        "deadline_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_deadline_alerts_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_alerts")),
        sa.UniqueConstraint("lead_id", "deadline", "stage", name="uq_deadline_alerts_lead_deadline_stage"),
    )
    # Columns are added in place, never by batch-recreating `leads`: on SQLite (foreign keys on) dropping the
    # old table would cascade to the lead events and the outbox.
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, fk_name in (
        ("lead_events", "staff_id", "fk_lead_events_staff_id_staff_accounts"),
        ("leads", "assignee_id", "fk_leads_assignee_id_staff_accounts"),
    ):
        if sqlite:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                f"CONSTRAINT {fk_name} REFERENCES staff_accounts (id) ON DELETE SET NULL"
            )
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(fk_name, table, "staff_accounts", [column], ["id"], ondelete="SET NULL")
    op.add_column("leads", sa.Column("tags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    op.add_column(
        "leads", sa.Column("product_group", sa.String(length=20), server_default="", nullable=False)
    )
    op.add_column("leads", sa.Column("district", sa.String(length=100), server_default="", nullable=False))
    op.add_column(
        "leads", sa.Column("staff_chat_id", sa.String(length=64), server_default="", nullable=False)
    )
    op.add_column("leads", sa.Column("claimed_at", catalog.models.UTCDateTime(), nullable=True))
    op.add_column("leads", sa.Column("first_reply_at", catalog.models.UTCDateTime(), nullable=True))
    op.add_column("leads", sa.Column("closed_at", catalog.models.UTCDateTime(), nullable=True))
    op.create_index(op.f("ix_leads_assignee_id"), "leads", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_leads_district"), "leads", ["district"], unique=False)
    op.create_index(op.f("ix_leads_product_group"), "leads", ["product_group"], unique=False)
    _backfill()


def _backfill() -> None:
    """Leads from before the desk: their times from their events, product group and district from the catalogue."""
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE leads SET claimed_at = (SELECT MIN(e.created_at) FROM lead_events e WHERE e.lead_id = leads.id "
            "AND e.action IN ('claim', 'contacted'))"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE leads SET first_reply_at = (SELECT MIN(e.created_at) FROM lead_events e "
            "WHERE e.lead_id = leads.id AND e.action = 'reply')"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE leads SET closed_at = (SELECT MAX(e.created_at) FROM lead_events e WHERE e.lead_id = leads.id "
            "AND e.to_status IN ('won', 'lost', 'spam'))"
        )
    )
    products = {
        slug: (category or "", district or "")
        for slug, category, district in bind.execute(sa.text("SELECT slug, category, district FROM products"))
    }
    leads = sa.table(
        "leads",
        sa.column("id", sa.Integer),
        sa.column("products", sa.JSON),
        sa.column("product_group", sa.String),
        sa.column("district", sa.String),
    )
    for lead_id, items in bind.execute(sa.select(leads.c.id, leads.c.products)).all():
        found = [
            products[i["slug"]] for i in items or [] if isinstance(i, dict) and i.get("slug") in products
        ]
        if found:
            bind.execute(
                sa.update(leads)
                .where(leads.c.id == lead_id)
                .values(product_group=found[0][0][:20], district=found[0][1][:100])
            )


def downgrade() -> None:
    op.drop_table("deadline_alerts")
    if op.get_bind().dialect.name == "sqlite":
        _downgrade_sqlite_leads()
    else:
        _drop_lead_columns()
        with op.batch_alter_table("lead_events", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("fk_lead_events_staff_id_staff_accounts"), type_="foreignkey")
            batch_op.drop_column("staff_id")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))
        batch_op.drop_index("ix_audit_log_action_subject")

    op.drop_table("audit_log")
    op.drop_table("staff_accounts")
    op.drop_table("routing_rules")
    op.drop_table("desk_settings")
    op.drop_table("canned_replies")


def _drop_lead_columns(*, named_fk: bool = True) -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        if named_fk:  # SQLite's reflection does not name the key added in place: it goes with its column
            batch_op.drop_constraint(batch_op.f("fk_leads_assignee_id_staff_accounts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_leads_product_group"))
        batch_op.drop_index(batch_op.f("ix_leads_district"))
        batch_op.drop_index(batch_op.f("ix_leads_assignee_id"))
        for column in (
            "closed_at",
            "first_reply_at",
            "claimed_at",
            "staff_chat_id",
            "district",
            "product_group",
            "tags",
            "assignee_id",
        ):
            batch_op.drop_column(column)


def _downgrade_sqlite_leads() -> None:
    """SQLite drops these columns by recreating the tables; dropping the old `leads` (foreign keys on) would
    cascade to its lead events and outbox entries, so they are kept aside and put back."""
    bind = op.get_bind()
    # lead_events is a child: recreating it cascades nothing. The key added in place has no name SQLite's
    # reflection sees: it goes with its column.
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.drop_column("staff_id")
    for table in ("lead_events", "outbox"):
        bind.exec_driver_sql(f"CREATE TEMP TABLE keep_{table} AS SELECT * FROM {table}")
    _drop_lead_columns(named_fk=False)
    for table in ("lead_events", "outbox"):
        bind.exec_driver_sql(f"DELETE FROM {table}")
        bind.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM keep_{table}")
        bind.exec_driver_sql(f"DROP TABLE keep_{table}")
