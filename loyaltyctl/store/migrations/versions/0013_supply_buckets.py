"""supply buckets: a perk's supply split into perk_bucket rows that concurrent claimers
take side by side (perk.supply_buckets), and claim_day counted per bucket

Every perk stays as it was (supply_buckets = 1: its own counter); `apply` lays out the
buckets of a perk whose file (or supply) asks for them.

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-04 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "perk_bucket",
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=True),
        sa.Column("claimed", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.Column("points_spent", sa.BigInteger(), nullable=False),
        sa.Column("last_claim_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("claimed >= 0", name=op.f("ck_perk_bucket_claimed_not_negative")),
        sa.CheckConstraint(
            "capacity IS NULL OR claimed <= capacity",
            name=op.f("ck_perk_bucket_claimed_within_capacity"),
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perk.id"], name=op.f("fk_perk_bucket_perk_id_perk")),
        sa.PrimaryKeyConstraint("perk_id", "bucket", name=op.f("pk_perk_bucket")),
    )
    with op.batch_alter_table("perk", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("supply_buckets", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("claim_day", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("bucket", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_constraint("pk_claim_day", type_="primary")
        batch_op.create_primary_key("pk_claim_day", ["perk_id", "day", "bucket"])
    _comment()


def _comment() -> None:
    """COMMENT ON what this revision adds (PostgreSQL), from store/comments.py, as 0010
    did for the tables before it."""
    if op.get_bind().dialect.name != "postgresql":
        return
    from loyaltyctl.store.comments import COLUMNS, TABLES

    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    op.execute(f"COMMENT ON TABLE perk_bucket IS {quote(TABLES['perk_bucket'])}")
    added = [("perk_bucket", c) for c in COLUMNS["perk_bucket"]]
    for table, column in [*added, ("perk", "supply_buckets"), ("claim_day", "bucket")]:
        op.execute(f'COMMENT ON COLUMN {table}."{column}" IS {quote(COLUMNS[table][column])}')


def downgrade() -> None:
    op.execute(
        "UPDATE perk SET claimed = perk.claimed + b.taken, members = perk.members + b.held, "
        "points_spent = perk.points_spent + b.spent FROM (SELECT perk_id, "
        "SUM(claimed) AS taken, SUM(members) AS held, SUM(points_spent) AS spent "
        "FROM perk_bucket GROUP BY perk_id) b WHERE b.perk_id = perk.id"
    )
    op.execute("DELETE FROM claim_day")  # counted again below, one row per day
    with op.batch_alter_table("claim_day", schema=None) as batch_op:
        batch_op.drop_constraint("pk_claim_day", type_="primary")
        batch_op.drop_column("bucket")
        batch_op.create_primary_key("pk_claim_day", ["perk_id", "day"])
    op.execute(
        "INSERT INTO claim_day (perk_id, day, claims) SELECT perk_id, day, COUNT(*) "
        "FROM claim WHERE status = 'active' AND day IS NOT NULL GROUP BY perk_id, day"
    )
    op.drop_table("perk_bucket")
    # not a batch: recreating `perk` on SQLite would drop a table other rows point at
    op.execute("ALTER TABLE perk DROP COLUMN supply_buckets")
