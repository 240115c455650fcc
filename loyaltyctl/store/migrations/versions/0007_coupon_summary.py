"""coupon summary: coupons by status kept in 16 shards, expired ones by an index range

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:10:00
"""

from __future__ import annotations

import zlib

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
    # the coupons there are now, each counted in its shard: zlib.crc32(claim id) % 16, as
    # store.coupons.shard_of (written out here: a migration does not change with the code)
    counts: dict[int, list[int]] = {}
    column = {"active": 0, "used": 1, "cancelled": 2}
    for claim_id, status in op.get_bind().execute(sa.text("SELECT claim_id, status FROM coupon")):
        counts.setdefault(zlib.crc32(claim_id.encode()) % 16, [0, 0, 0])[column[status]] += 1
    if counts:
        op.bulk_insert(
            sa.table(
                "coupon_summary",
                sa.column("shard", sa.Integer),
                sa.column("active", sa.BigInteger),
                sa.column("used", sa.BigInteger),
                sa.column("cancelled", sa.BigInteger),
            ),
            [
                {"shard": shard, "active": a, "used": u, "cancelled": c}
                for shard, (a, u, c) in sorted(counts.items())
            ],
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_coupon_status_expires_at"), table_name="coupon")
    op.drop_table("coupon_summary")
