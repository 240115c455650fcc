"""member forget: member.forgotten_at, and audit_event's append-only trigger that lets
exactly one update through: the redaction of a member's personal data by `member forget`

An audit event may be updated only in its `details`, only for a member's `member.add` or
`member.update` event, and only to the redacted details that a later `member.forget`
event of the same chain (already written, in the same transaction) records for it by
id and original hash. Every other UPDATE, and every DELETE, is refused as before.

Also: the idempotency keys of changes made before 0003 (which created `idempotency_key`
without filling it) are entered in the key table, as `register` would have, so `audit
verify`'s check of keys against the changes holding them passes on such databases.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

REDACTABLE = "('member.add', 'member.update')"

# the same on both databases, but for how a forget record's entries are read
SQLITE_ALLOWED = f"""
    NEW.id = OLD.id AND NEW.subject = OLD.subject AND NEW.seq = OLD.seq
    AND NEW.at = OLD.at AND NEW.operator = OLD.operator AND NEW.action = OLD.action
    AND NEW.reason IS OLD.reason AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
    AND OLD.action IN {REDACTABLE}
    AND EXISTS (
        SELECT 1 FROM audit_event f, json_each(f.details, '$.redacted') r
        WHERE f.subject = OLD.subject AND f.action = 'member.forget' AND f.seq > OLD.seq
          AND json_extract(r.value, '$.id') = OLD.id
          AND json_extract(r.value, '$.hash') = OLD.hash
          AND json_extract(r.value, '$.details') = NEW.details)
"""
POSTGRES_ALLOWED = f"""
    NEW.id = OLD.id AND NEW.subject = OLD.subject AND NEW.seq = OLD.seq
    AND NEW.at = OLD.at AND NEW.operator = OLD.operator AND NEW.action = OLD.action
    AND NEW.reason IS NOT DISTINCT FROM OLD.reason AND NEW.prev_hash = OLD.prev_hash
    AND NEW.hash = OLD.hash AND OLD.action IN {REDACTABLE}
    AND EXISTS (
        SELECT 1 FROM audit_event f,
             jsonb_array_elements(CAST(f.details AS jsonb) -> 'redacted') r
        WHERE f.subject = OLD.subject AND f.action = 'member.forget' AND f.seq > OLD.seq
          AND r ->> 'id' = CAST(OLD.id AS text)
          AND r ->> 'hash' = OLD.hash
          AND r ->> 'details' = NEW.details)
"""


# kind -> table of the changes that hold keys (store.idempotency.HOLDERS at 0014)
KEY_HOLDERS = (
    ("entry", "ledger_entry"),
    ("claim", "claim"),
    ("redemption", "promo_redemption"),
    ("grant", "discount_grant"),
)


def backfill_idempotency_keys() -> None:
    """Each key a change holds and the key table lacks, entered (a key two kinds hold,
    possible before 0003, stays the first's: `audit verify` names the other). Keys a
    points import derived (``csv:...``) are that file's own, never in the table."""
    for kind, table in KEY_HOLDERS:
        op.execute(
            "INSERT INTO idempotency_key (key, kind, ref) "
            f"SELECT h.idem_key, '{kind}', CAST(h.id AS VARCHAR(64)) FROM {table} h "
            "WHERE h.idem_key IS NOT NULL AND h.idem_key NOT LIKE 'csv:%' "
            "AND NOT EXISTS (SELECT 1 FROM idempotency_key k WHERE k.key = h.idem_key) "
            "ORDER BY h.id"
        )


def upgrade() -> None:
    backfill_idempotency_keys()
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True))
    create_redaction_trigger()
    if op.get_bind().dialect.name == "postgresql":
        from loyaltyctl.store.comments import COLUMNS

        for table, column in (("member", "forgotten_at"), ("audit_event", "details")):
            text = COLUMNS[table][column].replace("'", "''")
            op.execute(f"COMMENT ON COLUMN {table}.\"{column}\" IS '{text}'")


def create_redaction_trigger() -> None:
    """audit_event's UPDATE trigger of 0001, replaced by one that lets a redaction
    through. NOTE for later migrations: a batch ALTER of audit_event on SQLite drops it;
    call this again after it."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            f"WHEN NOT ({SQLITE_ALLOWED}) "
            "BEGIN SELECT RAISE(ABORT, 'audit_event rows are append-only'); END"
        )
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION loyaltyctl_audit_event_guard() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'UPDATE' AND ({POSTGRES_ALLOWED}) THEN RETURN NEW; END IF; "
        "RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME "
        "USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION loyaltyctl_audit_event_guard()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event rows are append-only'); END"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION loyaltyctl_append_only()"
        )
        op.execute("DROP FUNCTION IF EXISTS loyaltyctl_audit_event_guard()")
    # not a batch: recreating `member` on SQLite would drop a table other rows point at
    op.execute("ALTER TABLE member DROP COLUMN forgotten_at")
