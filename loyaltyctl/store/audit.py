"""Audit events: every change that is not a ledger entry, chained per subject.

A subject (``member:C-1001``) has its own chain and head row, so writers that
touch different subjects never wait for each other; the head row detects a
removed tail. Ledger entries are chained per member in the member row itself.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlmodel import Session

from loyaltyctl.domain.chain import GENESIS, record_hash
from loyaltyctl.store.db import ConcurrentChange
from loyaltyctl.store.tables import AuditChain, AuditEvent


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


def append_event(
    session: Session,
    *,
    subject: str,
    action: str,
    operator: str,
    at: datetime,
    reason: str | None = None,
    details: dict | None = None,
) -> None:
    stmt = select(AuditChain.seq, AuditChain.head).where(AuditChain.subject == subject)
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    head_row = session.execute(stmt).one_or_none()
    seq, prev = (head_row[0], head_row[1]) if head_row else (0, GENESIS)
    seq += 1
    detail_text = json.dumps(details or {}, sort_keys=True, separators=(",", ":"), default=str)
    content = event_content(
        subject=subject,
        seq=seq,
        at=at,
        operator=operator,
        action=action,
        reason=reason,
        details=detail_text,
    )
    digest = record_hash(prev, content)
    session.execute(insert(AuditEvent).values(**content, prev_hash=prev, hash=digest))
    if head_row is None:
        # a concurrent first event for the subject violates the primary key: retried
        session.execute(insert(AuditChain).values(subject=subject, seq=seq, head=digest))
    else:
        result = session.execute(
            update(AuditChain)
            .where(AuditChain.subject == subject, AuditChain.seq == seq - 1)
            .values(seq=seq, head=digest)
        )
        if result.rowcount != 1:
            raise ConcurrentChange(f"audit chain {subject} moved")
