"""Audit events: every change that is not a ledger entry, chained per subject.

A subject (``member:C-1001``) has its own chain and head row, so writers that
touch different subjects never wait for each other; the head row detects a
removed tail. Ledger entries are chained per member in the member row itself.

Appending is the driver's alone (no SQLAlchemy): a claim and a coupon's use append on a
`driver.RawSession`. Reading the trail back is `store.audit_trail`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from loyaltyctl.domain.chain import GENESIS, record_hash
from loyaltyctl.store.db import ConcurrentChange
from loyaltyctl.store.driver import bulk_insert, select_in, update_many

if TYPE_CHECKING:
    from sqlmodel import Session


def event_content(
    *, subject: str, seq: int, at: datetime, operator: str, action: str, reason, details: str
) -> dict:
    return {
        "subject": subject,
        "seq": seq,
        "at": at,
        "operator": operator,
        "action": action,
        "reason": reason,
        "details": details,
    }


def stored_content(event, details: str | None = None) -> dict:
    """What a stored event's hash covers (``details``: other details in its place, as a
    redaction would leave them)."""
    return event_content(
        subject=event.subject,
        seq=event.seq,
        at=event.at,
        operator=event.operator,
        action=event.action,
        reason=event.reason,
        details=event.details if details is None else details,
    )


EVENT_COLUMNS = (
    "subject",
    "seq",
    "at",
    "operator",
    "action",
    "reason",
    "details",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class NewEvent:
    subject: str
    action: str
    operator: str
    at: datetime
    reason: str | None = None
    details: dict | None = None


def append_event(session: Session, **event) -> None:
    append_events(session, [NewEvent(**event)])


MOVE_CHAIN_SQL = (
    "UPDATE audit_chain SET seq = {v.new_seq}, head = {v.new_head} {values} "
    "WHERE subject = {v.of_subject} AND seq = {v.old_seq}"
)
MOVE_CHAIN_VALUES = (
    ("new_seq", "integer"),
    ("new_head", "text"),
    ("of_subject", "text"),
    ("old_seq", "integer"),
)


def append_events(session: Session, events: list[NewEvent]) -> None:
    """Append events to their subjects' chains: heads locked, rows written in bulk."""
    if not events:
        return
    subjects = sorted({e.subject for e in events})
    # through the driver: one event (a coupon's use, a claim) is a hot path
    heads: dict[str, tuple[int, str]] = {
        subject: (seq, head)
        for subject, seq, head in select_in(
            session,
            "SELECT subject, seq, head FROM audit_chain WHERE subject {in_list} ORDER BY subject",
            subjects,
            lock=True,
        )
    }
    known = dict(heads)
    rows = []
    for e in events:
        seq, prev = heads.get(e.subject, (0, GENESIS))
        details = json.dumps(e.details or {}, sort_keys=True, separators=(",", ":"), default=str)
        content = event_content(
            subject=e.subject,
            seq=seq + 1,
            at=e.at,
            operator=e.operator,
            action=e.action,
            reason=e.reason,
            details=details,
        )
        digest = record_hash(prev, content)
        rows.append({**content, "prev_hash": prev, "hash": digest})
        heads[e.subject] = (seq + 1, digest)
    # through the driver's bulk paths: a chunk of events may write thousands (tier changes)
    bulk_insert(session, "audit_event", EVENT_COLUMNS, rows)
    fresh = [{"subject": s, "seq": q, "head": h} for s, (q, h) in heads.items() if s not in known]
    if fresh:
        # a concurrent first event for a subject violates the primary key: retried
        bulk_insert(session, "audit_chain", ("subject", "seq", "head"), fresh)
    moved = [
        (heads[subject][0], heads[subject][1], subject, old_seq)
        for subject, (old_seq, _) in known.items()
    ]
    # one statement for them all on PostgreSQL (a chunk's tier changes: thousands of them)
    if update_many(session, MOVE_CHAIN_SQL, MOVE_CHAIN_VALUES, moved) != len(moved):
        raise ConcurrentChange("an audit chain moved during the transaction")
