"""dialer: the trunk a campaign dials through, and each trunk's shared pacing row

Revision ID: 0003_dialer
Revises: 0002_campaigns
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voicekit_core.store.tables import UTCDateTime

revision = "0003_dialer"
down_revision = "0002_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trunk_id", sa.String(length=200), nullable=True))
    op.create_table(
        "dial_trunks",
        sa.Column("trunk_id", sa.String(length=200), nullable=False),
        sa.Column("tat", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("trunk_id", name=op.f("pk_dial_trunks")),
    )


def downgrade() -> None:
    op.drop_table("dial_trunks")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("trunk_id")
