"""perks and claims

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:09:53.804328
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "perk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("media", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("media_size", sa.BigInteger(), nullable=True),
        sa.Column("max_supply", sa.BigInteger(), nullable=True),
        sa.Column("claimed", sa.BigInteger(), nullable=False),
        sa.Column("max_per_member", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("redemption_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("instructions", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("iframe", sa.Boolean(), nullable=False),
        sa.Column("checkout_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("webhook_secret_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("claimed >= 0", name=op.f("ck_perk_claimed_not_negative")),
        sa.CheckConstraint(
            "max_per_member IS NULL OR max_per_member >= 1",
            name=op.f("ck_perk_max_per_member_positive"),
        ),
        sa.CheckConstraint(
            "max_supply IS NULL OR claimed <= max_supply",
            name=op.f("ck_perk_claimed_within_supply"),
        ),
        sa.CheckConstraint("price >= 0", name=op.f("ck_perk_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perk")),
        sa.UniqueConstraint("slug", name=op.f("uq_perk_slug")),
    )
    op.create_table(
        "claim",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("idem_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("redemption_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("certificate_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("certificate", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("refund_entry_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_claim_member_id_member")
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perk.id"], name=op.f("fk_claim_perk_id_perk")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim")),
        sa.UniqueConstraint("certificate_id", name=op.f("uq_claim_certificate_id")),
        sa.UniqueConstraint("idem_key", name=op.f("uq_claim_idem_key")),
        sa.UniqueConstraint("perk_id", "code_hash", name=op.f("uq_claim_perk_id_code_hash")),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_claim_member_id_at"), ["member_id", "at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_claim_perk_id_at"), ["perk_id", "at"], unique=False)

    op.create_table(
        "perk_member",
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.CheckConstraint("claims >= 0", name=op.f("ck_perk_member_claims_not_negative")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_perk_member_member_id_member")
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perk.id"], name=op.f("fk_perk_member_perk_id_perk")),
        sa.PrimaryKeyConstraint("perk_id", "member_id", name=op.f("pk_perk_member")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_webhook_delivery_claim_id_claim")
        ),
        sa.ForeignKeyConstraint(
            ["perk_id"], ["perk.id"], name=op.f("fk_webhook_delivery_perk_id_perk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_delivery_event_id")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "claim_lot",
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("lot_id", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_claim_lot_claim_id_claim")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["point_lot.id"], name=op.f("fk_claim_lot_lot_id_point_lot")
        ),
        sa.PrimaryKeyConstraint("claim_id", "lot_id", name=op.f("pk_claim_lot")),
    )


def downgrade() -> None:

    op.drop_table("claim_lot")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_status_next_attempt_at"))

    op.drop_table("webhook_delivery")
    op.drop_table("perk_member")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_perk_id_at"))
        batch_op.drop_index(batch_op.f("ix_claim_member_id_at"))
        batch_op.drop_index(batch_op.f("ix_claim_at"))

    op.drop_table("claim")
    op.drop_table("perk")
