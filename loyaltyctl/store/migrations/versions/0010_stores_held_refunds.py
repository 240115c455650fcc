"""stores' own formats: held refunds (a refund whose order is not known yet)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0008"  # 0009 (discounts) goes between them at the merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_refund",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_refund")),
    )
    with op.batch_alter_table("held_refund") as batch:
        batch.create_index(batch.f("ix_held_refund_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("held_refund") as batch:
        batch.drop_index(batch.f("ix_held_refund_order_id"))
    op.drop_table("held_refund")
