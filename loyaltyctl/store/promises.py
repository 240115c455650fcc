"""The columns that change money or promises, read against what vouches for them (for
`audit verify`): the hashed ledger entry a lot or an event's points came from, the
audit event that recorded a value, the row a key or a certificate belongs to. Each
query returns only the rows that disagree: (name, found, expected)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlmodel import Session

# (message, SQL returning (name, found, expected) for each disagreement)
CROSS_CHECKS = (
    (
        "member {0}: point lot {1} does not match its ledger entry {2} (its expiry, amount "
        "or member was changed)",
        "SELECT m.external_id, l.id, e.id FROM point_lot l "
        "JOIN ledger_entry e ON e.id = l.entry_id JOIN member m ON m.id = l.member_id "
        "WHERE l.member_id <> e.member_id "
        "OR l.amount <> CASE WHEN e.amount <> 0 THEN e.amount ELSE e.pending_amount END "
        "OR l.expires_at <> e.expires_at OR (l.expires_at IS NULL) <> (e.expires_at IS NULL)",
    ),
    (
        "claim {0}: its certificate id is {1!r}, it must be {2!r} (as the signed certificate says)",
        "SELECT id, certificate_id, 'CT-' || id FROM claim "
        "WHERE certificate_id <> 'CT-' || id "
        "OR certificate NOT LIKE '%\"certificate_id\":\"CT-' || id || '\"%'",
    ),
    (
        "event {0}: {1} points are recorded, its ledger entries add up to {2}",
        "SELECT i.id, i.points, COALESCE(l.points, 0) FROM ingested_event i "
        "LEFT JOIN (SELECT event_id, SUM(amount + pending_amount) AS points FROM ledger_entry "
        "WHERE event_id IS NOT NULL GROUP BY event_id) l ON l.event_id = i.id "
        "WHERE i.points <> COALESCE(l.points, 0)",
    ),
    (
        "batch {0}: a code allows {1} uses, the batch was made with {2} per code",
        "SELECT b.id, c.uses_allowed, b.uses_per_code FROM promo_code c "
        "JOIN promo_batch b ON b.id = c.batch_id "
        "WHERE c.uses_allowed IS NULL OR c.uses_allowed <> b.uses_per_code",
    ),
    (
        "claim {0}: {1} (a claim is recorded by its ledger entry or by an audit event)",
        "SELECT c.id, 'neither its ledger entry nor its audit event is there', '' FROM claim c "
        "WHERE NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.claim_id = c.id) "
        "AND NOT EXISTS (SELECT 1 FROM audit_event a WHERE a.subject = 'claim:' || c.id)",
    ),
)

# (kind, SQL of the names of rows that have no audit chain of their own)
UNCHAINED = (
    (
        "member",
        "SELECT m.external_id FROM member m WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_event a WHERE a.subject = 'member:' || m.external_id)",
    ),
    (
        "perk",
        "SELECT p.slug FROM perk p WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_event a WHERE a.subject = 'perk:' || p.slug)",
    ),
    (
        "campaign",
        "SELECT k.slug FROM campaign k WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_event a WHERE a.subject = 'campaign:' || k.slug)",
    ),
    (
        "earning rule",
        "SELECT r.slug FROM earning_rule r WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_event a WHERE a.subject = 'earning_rule:' || r.slug)",
    ),
    (
        "tier",
        "SELECT t.slug FROM tier t WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_event a WHERE a.subject = 'tier:' || t.slug)",
    ),
)


def cross_mismatches(session: Session) -> Iterator[str]:
    for message, sql in CROSS_CHECKS:
        for row in session.execute(text(sql)):
            yield message.format(*row)


def unchained(session: Session) -> Iterator[tuple[str, str]]:
    """(kind, name) of every member, perk, campaign, rule and tier without audit events."""
    for kind, sql in UNCHAINED:
        for (name,) in session.execute(text(sql)):
            yield kind, name


def recorded_events(session: Session, prefix: str, actions: tuple[str, ...]) -> Iterator:
    """(subject, action, details) of the audit events of these actions on subjects
    starting with ``prefix``, each subject's in chain order."""
    placeholders = ", ".join(f":a{i}" for i in range(len(actions)))
    return iter(
        session.execute(
            text(
                "SELECT subject, action, details FROM audit_event "
                f"WHERE subject LIKE :prefix AND action IN ({placeholders}) "
                "ORDER BY subject, seq"
            ),
            {"prefix": prefix + "%", **{f"a{i}": a for i, a in enumerate(actions)}},
        )
    )


def rows_by(session: Session, table: str, key: str, columns: tuple[str, ...]) -> dict:
    """key -> (columns...) of every row of ``table`` (a module constant, never input)."""
    listed = ", ".join(columns)
    return {
        row[0]: tuple(row[1:])
        for row in session.execute(text(f"SELECT {key}, {listed} FROM {table}"))
    }


def idempotency_mismatches(session: Session, holders: dict[str, str]) -> Iterator[str]:
    """Keys a change holds that the key table lacks (or names another change for), and
    key rows naming a change that does not hold the key. Keys a points import derived
    (``csv:...``) stay that file's own and are not in the table."""
    for kind, table in holders.items():
        ref = "CAST(h.id AS VARCHAR(64))"
        sql = (
            f"SELECT h.idem_key FROM {table} h LEFT JOIN idempotency_key k "
            f"ON k.key = h.idem_key AND k.kind = :kind AND k.ref = {ref} "
            "WHERE h.idem_key IS NOT NULL AND h.idem_key NOT LIKE 'csv:%' AND k.key IS NULL"
        )
        for (key,) in session.execute(text(sql), {"kind": kind}):
            yield f"idempotency key {key!r}: its {kind} holds it, the key table does not"
        sql = (
            f"SELECT k.key FROM idempotency_key k LEFT JOIN {table} h ON {ref} = k.ref "
            "AND h.idem_key = k.key WHERE k.kind = :kind AND h.id IS NULL"
        )
        for (key,) in session.execute(text(sql), {"kind": kind}):
            yield f"idempotency key {key!r}: the key table names a {kind} that does not hold it"
