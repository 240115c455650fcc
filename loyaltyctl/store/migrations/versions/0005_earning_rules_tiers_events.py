"""earning rules, tiers and events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "earning_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tiers", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("settings", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earning_rule")),
        sa.UniqueConstraint("slug", name=op.f("uq_earning_rule_slug")),
    )
    op.create_table(
        "tier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("multiplier", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("overrides", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("downgrade", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_tier_threshold_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier")),
        sa.UniqueConstraint("slug", name=op.f("uq_tier_slug")),
    )
    op.create_table(
        "earning_counter",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_earning_counter_points_not_negative")),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_earning_counter_uses_not_negative")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_earning_counter_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["earning_rule.id"], name=op.f("fk_earning_counter_rule_id_earning_rule")
        ),
        sa.PrimaryKeyConstraint("rule_id", "member_id", "scope", name=op.f("pk_earning_counter")),
    )
    op.create_table(
        "ingested_event",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("details", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_ingested_event_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingested_event")),
    )
    with op.batch_alter_table("ingested_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ingested_event_refunded_order",
            ["order_id"],
            unique=False,
            sqlite_where=sa.text("type = 'order.refunded'"),
            postgresql_where=sa.text("type = 'order.refunded'"),
        )
        batch_op.create_index(
            "uq_ingested_event_paid_order",
            ["order_id"],
            unique=True,
            sqlite_where=sa.text("type = 'order.paid'"),
            postgresql_where=sa.text("type = 'order.paid'"),
        )

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("birthday_md", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True)
        )
        batch_op.add_column(
            sa.Column("birthday_anchor", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(sa.Column("tier_review_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("earned", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index(batch_op.f("ix_member_birthday_md"), ["birthday_md"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_tier_review_at"), ["tier_review_at"], unique=False
        )

    # the "MM-DD" of the birthdays already stored ("YYYY-MM-DD" or "MM-DD")
    op.execute(
        "UPDATE member SET birthday_md = substr(birthday, length(birthday) - 4) "
        "WHERE birthday IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_tier_review_at"))
        batch_op.drop_index(batch_op.f("ix_member_birthday_md"))
        batch_op.drop_column("earned")
        batch_op.drop_column("tier_review_at")
        batch_op.drop_column("birthday_anchor")
        batch_op.drop_column("birthday_md")

    with op.batch_alter_table("ingested_event", schema=None) as batch_op:
        batch_op.drop_index("uq_ingested_event_paid_order")
        batch_op.drop_index("ix_ingested_event_refunded_order")

    op.drop_table("ingested_event")
    op.drop_table("earning_counter")
    op.drop_table("tier")
    op.drop_table("earning_rule")
