"""stores' own formats and the analyst's surface: held refunds (a refund whose order is
not known yet); jsonb for the ingested events' details on PostgreSQL; views for
analysts on both databases; COMMENT ON every table and column on PostgreSQL

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql as pg

# text on SQLite, jsonb on PostgreSQL (store.tables.JsonDocument)
JSON_TYPE = sa.String().with_variant(pg.JSONB(), "postgresql")

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


ISO_PG = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
ISO_SQLITE = "strftime('%Y-%m-%dT%H:%M:%SZ', {0})"
JSON_PG = "({0}->>'{1}')"
JSON_SQLITE = "json_extract({0}, '$.{1}')"
MONEY_PG = "CAST({0} AS numeric(14, 2))"
MONEY_SQLITE = "CAST({0} AS NUMERIC)"


def _views(postgresql: bool) -> dict[str, str]:
    """The analyst's views: member ids instead of row ids, ISO 8601 times in UTC, money as
    numbers; no ciphertext, no keyed hash, no chain hashes."""
    iso = (ISO_PG if postgresql else ISO_SQLITE).format
    money = (MONEY_PG if postgresql else MONEY_SQLITE).format

    def field(column: str, key: str) -> str:
        return (JSON_PG if postgresql else JSON_SQLITE).format(column, key)

    return {
        "v_ledger": f"""
            SELECT e.id AS entry_id, m.external_id AS member, {iso("e.at")} AS at, e.kind,
                   e.amount, e.pending_amount, e.balance_after, e.reason, e.operator, e.rule,
                   e.event_id, e.order_id, e.claim_id, {iso("e.expires_at")} AS expires_at,
                   {iso("e.pending_until")} AS pending_until
            FROM ledger_entry e JOIN member m ON m.id = e.member_id""",
        "v_balances": f"""
            SELECT m.external_id AS member, m.name, m.tier, m.tier_manual, m.plan,
                   m.balance, m.pending, m.balance + m.pending AS total, m.earned,
                   {iso("m.created_at")} AS created_at
            FROM member m""",
        "v_orders": f"""
            SELECT i.order_id, i.id AS event_id, m.external_id AS member, {iso("i.at")} AS at,
                   {field("i.details", "currency")} AS currency,
                   {money(field("i.details", "total"))} AS items_total,
                   {money(field("i.details", "discount"))} AS discount,
                   {money(field("i.details", "value"))} AS paid_for_items,
                   {money(field("i.details", "shipping"))} AS shipping,
                   {money(f"COALESCE({field('i.details', 'tax')}, '0')")} AS tax,
                   i.points, {iso("i.ingested_at")} AS ingested_at
            FROM ingested_event i LEFT JOIN member m ON m.id = i.member_id
            WHERE i.type = 'order.paid'""",
        "v_refunds": f"""
            SELECT i.order_id, i.id AS event_id, i.type, m.external_id AS member,
                   {iso("i.at")} AS at, {money(field("i.details", "amount"))} AS amount,
                   {money(field("i.details", "gross"))} AS gross, i.points
            FROM ingested_event i LEFT JOIN member m ON m.id = i.member_id
            WHERE i.type IN ('order.refunded', 'order.chargeback')""",
        "v_held_refunds": f"""
            SELECT h.id AS event_id, h.type, h.order_id, {iso("h.at")} AS at,
                   {iso("h.held_at")} AS held_at, h.operator
            FROM held_refund h""",
        "v_claims": f"""
            SELECT c.id AS claim_id, p.slug AS perk, m.external_id AS member,
                   {iso("c.at")} AS at, c.points, c.status, c.operator, c.certificate_id,
                   {iso("c.cancelled_at")} AS cancelled_at, c.cancel_reason
            FROM claim c JOIN perk p ON p.id = c.perk_id JOIN member m ON m.id = c.member_id""",
        "v_redemptions": f"""
            SELECT r.id AS redemption_id, g.slug AS campaign, m.external_id AS member,
                   {iso("r.at")} AS at, r.points, r.operator
            FROM promo_redemption r JOIN campaign g ON g.id = r.campaign_id
            JOIN member m ON m.id = r.member_id""",
        "v_coupons": f"""
            SELECT c.claim_id, p.slug AS perk, m.external_id AS member, c.kind,
                   c.code_tail AS code_last_symbols, {money("c.amount")} AS amount,
                   {money("c.percent")} AS percent, {money("c.min_purchase")} AS min_purchase,
                   c.status, c.order_id, {iso("c.issued_at")} AS issued_at,
                   {iso("c.expires_at")} AS expires_at, {iso("c.used_at")} AS used_at
            FROM coupon c JOIN perk p ON p.id = c.perk_id JOIN member m ON m.id = c.member_id""",
        "v_grants": f"""
            SELECT d.slug AS discount, m.external_id AS member, g.source, g.order_id,
                   g.subscription_id, g.event_id, {iso("g.since")} AS since,
                   {iso("g.until")} AS until, {iso("g.revoke_at")} AS revoke_at,
                   {iso("g.revoked_at")} AS revoked_at, g.revoke_reason,
                   {iso("g.ended_at")} AS ended_at, g.operator, g.note
            FROM discount_grant g JOIN discount d ON d.id = g.discount_id
            JOIN member m ON m.id = g.member_id""",
    }


VIEW_COMMENTS = {
    "v_ledger": "Every ledger entry with the member's external id and ISO 8601 times (UTC).",
    "v_balances": "Each member's balance, pending points and their total.",
    "v_orders": "Paid orders as ingested: money as numbers (items_total - discount ="
    " paid_for_items; shipping and tax never earn) and the points they earned.",
    "v_refunds": "Refunds and chargebacks as ingested, and the points they took back (negative).",
    "v_held_refunds": "Refunds waiting for their order (applied when it is ingested).",
    "v_claims": "Claims of perks by member, with their status.",
    "v_redemptions": "Promo code redemptions by campaign and member.",
    "v_coupons": "Coupons issued, masked to their last symbols (no code, no hash).",
    "v_grants": "Discount grants: discount, member, source, since/until and any revoke.",
}


def _create_views(postgresql: bool) -> None:
    for name, sql in _views(postgresql).items():
        op.execute(f"CREATE VIEW {name} AS {sql.strip()}")
        if postgresql:
            op.execute(f"COMMENT ON VIEW {name} IS {_quote(VIEW_COMMENTS[name])}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment_everything() -> None:
    """COMMENT ON every table and column there is at this revision (PostgreSQL), from
    store/comments.py (which also describes what later migrations add: those comment
    their own tables and columns)."""
    from loyaltyctl.store.comments import COLUMNS, TABLES

    inspector = sa.inspect(op.get_bind())
    for table in inspector.get_table_names():
        if table not in TABLES:
            continue
        op.execute(f"COMMENT ON TABLE {table} IS {_quote(TABLES[table])}")
        for column in inspector.get_columns(table):
            text = COLUMNS[table].get(column["name"])
            if text is not None:
                op.execute(f'COMMENT ON COLUMN {table}."{column["name"]}" IS {_quote(text)}')


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "held_refund",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event", JSON_TYPE, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_refund")),
    )
    with op.batch_alter_table("held_refund") as batch:
        batch.create_index(batch.f("ix_held_refund_order_id"), ["order_id"], unique=False)
    if postgresql:
        op.execute(
            "ALTER TABLE ingested_event ALTER COLUMN details TYPE jsonb USING details::jsonb"
        )
    _create_views(postgresql)
    if postgresql:
        _comment_everything()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in reversed(list(_views(postgresql))):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    if postgresql:
        op.execute(
            "ALTER TABLE ingested_event ALTER COLUMN details TYPE varchar USING details::text"
        )
    with op.batch_alter_table("held_refund") as batch:
        batch.drop_index(batch.f("ix_held_refund_order_id"))
    op.drop_table("held_refund")
