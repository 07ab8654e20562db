"""catalogue versions (who, what, when, row counts and a compressed snapshot of the whole catalogue) and staff
uploads kept between their dry-run diff and Apply

Revision ID: 0008_catalog_versions
Revises: 0008_product_certificates
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import catalog.models

revision = "0008_catalog_versions"
down_revision = "0008_product_certificates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
    )
    op.create_table(
        "catalog_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", catalog.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"], ["catalog_versions.id"],
            name=op.f("fk_catalog_uploads_version_id_catalog_versions"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_uploads")),
    )


def downgrade() -> None:
    op.drop_table("catalog_uploads")
    op.drop_table("catalog_versions")
