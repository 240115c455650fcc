"""discounts members hold: discount, discount_grant, discount_subscription, discount_use,
discount_member and discount_summary (the figures of `stats discounts`)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from loyaltyctl.store.tables import BIG_ID, Money

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _text(length: int | None = None):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "discount",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("description", _text(2000), nullable=True),
        sa.Column("percent", Money(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("schedule", _text(), nullable=False),
        sa.Column("scopes", _text(), nullable=False),
        sa.Column("triggers", _text(), nullable=False),
        sa.Column("stack_with", _text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive_group", _text(64), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.CheckConstraint(
            "CAST(percent AS NUMERIC) BETWEEN 0 AND 100", name=op.f("ck_discount_percent_in_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount")),
        sa.UniqueConstraint("slug", name=op.f("uq_discount_slug")),
    )
    op.create_table(
        "discount_grant",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("discount_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("source", _text(12), nullable=False),
        sa.Column("order_id", _text(100), nullable=True),
        sa.Column("subscription_id", _text(100), nullable=True),
        sa.Column("event_id", _text(200), nullable=True),
        sa.Column("duration", _text(16), nullable=True),
        sa.Column("operator", _text(100), nullable=False),
        sa.Column("note", _text(2000), nullable=True),
        sa.Column("since", _ts(), nullable=False),
        sa.Column("until", _ts(), nullable=True),
        sa.Column("revoke_at", _ts(), nullable=True),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.Column("revoke_reason", _text(2000), nullable=True),
        sa.Column("ended_at", _ts(), nullable=True),
        sa.Column("idem_key", _text(200), nullable=True),
        sa.Column("request_hash", _text(64), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.CheckConstraint(
            "source IN ('order', 'subscription', 'admin')",
            name=op.f("ck_discount_grant_source_known"),
        ),
        sa.CheckConstraint(
            "(source = 'order') = (order_id IS NOT NULL)",
            name=op.f("ck_discount_grant_order_source"),
        ),
        sa.CheckConstraint(
            "(source = 'subscription') = (subscription_id IS NOT NULL)",
            name=op.f("ck_discount_grant_subscription_source"),
        ),
        sa.CheckConstraint(
            "until IS NULL OR until > since", name=op.f("ck_discount_grant_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["discount_id"], ["discount.id"], name=op.f("fk_discount_grant_discount_id_discount")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_discount_grant_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_grant")),
        sa.UniqueConstraint(
            "event_id", "discount_id", name=op.f("uq_discount_grant_event_id_discount_id")
        ),
        sa.UniqueConstraint("idem_key", name=op.f("uq_discount_grant_idem_key")),
    )
    for columns in (
        ["member_id", "discount_id"],
        ["discount_id", "revoked_at"],
        ["order_id"],
        ["subscription_id"],
        ["since"],
    ):
        op.create_index(op.f(f"ix_discount_grant_{'_'.join(columns)}"), "discount_grant", columns)
    op.create_index(
        "ix_discount_grant_open_until",
        "discount_grant",
        ["until"],
        sqlite_where=sa.text("ended_at IS NULL AND revoked_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL AND revoked_at IS NULL"),
    )
    op.create_index(
        "ix_discount_grant_open_revoke_at",
        "discount_grant",
        ["revoke_at"],
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "discount_subscription",
        sa.Column("subscription_id", _text(100), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("package", _text(200), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("renews_at", _ts(), nullable=True),
        sa.Column("cancelled_at", _ts(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_discount_subscription_member_id_member")
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_discount_subscription")),
    )
    op.create_index(
        op.f("ix_discount_subscription_member_id"), "discount_subscription", ["member_id"]
    )
    op.create_table(
        "discount_use",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("discount_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("order_id", _text(100), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("day", _text(10), nullable=False),
        sa.ForeignKeyConstraint(
            ["discount_id"], ["discount.id"], name=op.f("fk_discount_use_discount_id_discount")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_discount_use_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_use")),
        sa.UniqueConstraint(
            "discount_id", "order_id", name=op.f("uq_discount_use_discount_id_order_id")
        ),
    )
    op.create_index(op.f("ix_discount_use_discount_id_day"), "discount_use", ["discount_id", "day"])
    op.create_index(op.f("ix_discount_use_member_id"), "discount_use", ["member_id"])

    op.create_table(
        "discount_member",
        sa.Column("discount_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("grants", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "grants >= 0 AND uses >= 0", name=op.f("ck_discount_member_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["discount_id"], ["discount.id"], name=op.f("fk_discount_member_discount_id_discount")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_discount_member_member_id_member")
        ),
        sa.PrimaryKeyConstraint("discount_id", "member_id", name=op.f("pk_discount_member")),
    )
    op.create_table(
        "discount_summary",
        sa.Column("discount_id", sa.Integer(), nullable=False),
        sa.Column("grants", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "grants >= 0 AND members >= 0 AND uses >= 0 AND users >= 0",
            name=op.f("ck_discount_summary_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["discount_id"],
            ["discount.id"],
            name=op.f("fk_discount_summary_discount_id_discount"),
        ),
        sa.PrimaryKeyConstraint("discount_id", name=op.f("pk_discount_summary")),
    )


def downgrade() -> None:
    op.drop_table("discount_summary")
    op.drop_table("discount_member")
    op.drop_table("discount_use")
    op.drop_table("discount_subscription")
    op.drop_table("discount_grant")
    op.drop_table("discount")
