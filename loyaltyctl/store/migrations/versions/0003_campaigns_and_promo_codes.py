"""campaigns and promo codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:02:33.792070
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_key")),
    )

    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("perks", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("per_member", sa.Integer(), nullable=True),
        sa.Column("per_member_daily", sa.Integer(), nullable=True),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("share", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("page", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("redemptions", sa.BigInteger(), nullable=False),
        sa.Column("points_granted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'archived')", name=op.f("ck_campaign_known_status")
        ),
        sa.CheckConstraint("points >= 0", name=op.f("ck_campaign_points_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("slug", name=op.f("uq_campaign_slug")),
    )
    op.create_table(
        "campaign_member",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "redemptions >= 0", name=op.f("ck_campaign_member_redemptions_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_member_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_campaign_member_member_id_member")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "member_id", "day", name=op.f("pk_campaign_member")),
    )
    op.create_table(
        "promo_batch",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("generated", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("uses_per_code", sa.Integer(), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_promo_batch_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_batch")),
    )
    with op.batch_alter_table("promo_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_batch_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "promo_code",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code_enc", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("uses_allowed", sa.BigInteger(), nullable=True),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_promo_code_uses_not_negative")),
        sa.CheckConstraint(
            "uses_allowed IS NULL OR uses <= uses_allowed",
            name=op.f("ck_promo_code_uses_within_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_promo_code_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_promo_code_code_hash")),
    )
    with op.batch_alter_table("promo_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_code_campaign_id_batch_id"),
            ["campaign_id", "batch_id"],
            unique=False,
        )

    op.create_table(
        "promo_redemption",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("prizes", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("idem_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_promo_redemption_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["promo_code.id"], name=op.f("fk_promo_redemption_code_id_promo_code")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_promo_redemption_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_redemption")),
        sa.UniqueConstraint("idem_key", name=op.f("uq_promo_redemption_idem_key")),
    )
    with op.batch_alter_table("promo_redemption", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_redemption_campaign_id_at"), ["campaign_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_promo_redemption_member_id_at"), ["member_id", "at"], unique=False
        )

    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("redemption_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    op.drop_table("idempotency_key")

    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_column("redemption_id")

    with op.batch_alter_table("promo_redemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promo_redemption_member_id_at"))
        batch_op.drop_index(batch_op.f("ix_promo_redemption_campaign_id_at"))

    op.drop_table("promo_redemption")
    with op.batch_alter_table("promo_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promo_code_campaign_id_batch_id"))

    op.drop_table("promo_code")
    with op.batch_alter_table("promo_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promo_batch_campaign_id"))

    op.drop_table("promo_batch")
    op.drop_table("campaign_member")
    op.drop_table("campaign")
