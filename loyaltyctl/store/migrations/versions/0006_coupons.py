"""coupons: coupon perks' terms and tier prices on perk, the coupon table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from loyaltyctl.store.tables import Money

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("perk") as batch:
        batch.add_column(sa.Column("coupon", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(
            sa.Column("tier_prices", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.create_table(
        "coupon",
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code_tail", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("percent", Money(), nullable=True),
        sa.Column("min_purchase", Money(), nullable=True),
        sa.Column("max_shipping", Money(), nullable=True),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("variants", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("collections", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'used', 'cancelled')", name=op.f("ck_coupon_status_known")
        ),
        sa.CheckConstraint(
            "(status = 'used') = (order_id IS NOT NULL AND used_at IS NOT NULL)",
            name=op.f("ck_coupon_used_on_an_order"),
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_coupon_claim_id_claim")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_coupon_member_id_member")
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perk.id"], name=op.f("fk_coupon_perk_id_perk")),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_coupon")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_coupon_code_hash")),
    )
    op.create_index(
        op.f("ix_coupon_member_id_status"), "coupon", ["member_id", "status"], unique=False
    )
    op.create_index(op.f("ix_coupon_order_id"), "coupon", ["order_id"], unique=False)
    op.create_index(op.f("ix_coupon_perk_id_status"), "coupon", ["perk_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_coupon_perk_id_status"), table_name="coupon")
    op.drop_index(op.f("ix_coupon_order_id"), table_name="coupon")
    op.drop_index(op.f("ix_coupon_member_id_status"), table_name="coupon")
    op.drop_table("coupon")
    with op.batch_alter_table("perk") as batch:
        batch.drop_column("tier_prices")
        batch.drop_column("coupon")
