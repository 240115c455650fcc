"""statistics summaries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:50:28.550868
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ledger_summary",
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shard", "kind", name=op.f("pk_ledger_summary")),
    )
    op.create_table(
        "claim_day",
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["perk_id"], ["perk.id"], name=op.f("fk_claim_day_perk_id_perk")),
        sa.PrimaryKeyConstraint("perk_id", "day", name=op.f("pk_claim_day")),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
    with op.batch_alter_table("perk", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("members", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("points_spent", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("last_claim_at", sa.DateTime(timezone=True), nullable=True))

    # fill the summaries from the rows already there (program time zone unknown here:
    # claim days of existing claims are UTC days)
    op.execute(
        "INSERT INTO ledger_summary (shard, kind, points, entries) "
        "SELECT member_id % 16, kind, SUM(amount + pending_amount), COUNT(*) "
        "FROM ledger_entry GROUP BY member_id % 16, kind"
    )
    op.execute(
        "UPDATE perk SET "
        "members = (SELECT COUNT(*) FROM perk_member m WHERE m.perk_id = perk.id "
        "AND m.claims > 0), "
        "points_spent = (SELECT COALESCE(SUM(c.points), 0) FROM claim c "
        "WHERE c.perk_id = perk.id AND c.status = 'active'), "
        "last_claim_at = (SELECT MAX(c.at) FROM claim c "
        "WHERE c.perk_id = perk.id AND c.status = 'active')"
    )
    day = (
        "substr(at, 1, 10)"
        if op.get_bind().dialect.name == "sqlite"
        else "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    )
    op.execute(f"UPDATE claim SET day = {day}")
    op.execute(
        "INSERT INTO claim_day (perk_id, day, claims) SELECT perk_id, day, COUNT(*) "
        "FROM claim WHERE status = 'active' GROUP BY perk_id, day"
    )


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_column("day")

    with op.batch_alter_table("perk", schema=None) as batch_op:
        batch_op.drop_column("last_claim_at")
        batch_op.drop_column("points_spent")
        batch_op.drop_column("members")

    op.drop_table("claim_day")
    op.drop_table("ledger_summary")
