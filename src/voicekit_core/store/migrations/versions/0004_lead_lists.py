"""lead lists: uploaded lead CSVs kept whole, one of them selected

Revision ID: 0004_lead_lists
Revises: 0003_dialer
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voicekit_core.store.tables import UTCDateTime

revision = "0004_lead_lists"
down_revision = "0003_dialer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_lists",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_lead_lists_name")),
    )


def downgrade() -> None:
    op.drop_table("lead_lists")
