"""coupon summary: coupons by status kept in 16 shards, expired ones by an index range

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupon_summary",
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("active", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "active >= 0 AND used >= 0 AND cancelled >= 0",
            name=op.f("ck_coupon_summary_not_negative"),
        ),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_coupon_summary")),
    )
    op.create_index(
        op.f("ix_coupon_status_expires_at"), "coupon", ["status", "expires_at"], unique=False
    )
    # the coupons there are now, all in shard 0 (the shards only spread the writers)
    op.execute(
        "INSERT INTO coupon_summary (shard, active, used, cancelled) "
        "SELECT 0, "
        "COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN status = 'used' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) FROM coupon"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_coupon_status_expires_at"), table_name="coupon")
    op.drop_table("coupon_summary")
