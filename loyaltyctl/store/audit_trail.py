"""Reading the audit trail back: ledger entries and audit events newest first, the chain
heads and every event in chain order (`audit verify`), the record counts. Appending is
`store.audit`'s (through the driver alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from loyaltyctl.store.tables import AuditChain, AuditEvent, LedgerEntry, Member


def logged_entries(
    session: Session, *, since: datetime | None, operator: str | None, limit: int
) -> list[tuple[LedgerEntry, str]]:
    """(entry, member external id) of ledger entries, newest first."""
    stmt = select(LedgerEntry, Member.external_id).join(Member, Member.id == LedgerEntry.member_id)
    if since:
        stmt = stmt.where(LedgerEntry.at >= since)
    if operator:
        stmt = stmt.where(LedgerEntry.operator == operator)
    stmt = stmt.order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc()).limit(limit)
    return [(entry, external_id) for entry, external_id in session.execute(stmt)]


def logged_events(
    session: Session, *, since: datetime | None, operator: str | None, limit: int
) -> list[AuditEvent]:
    """Audit events, newest first."""
    stmt = select(AuditEvent)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if operator:
        stmt = stmt.where(AuditEvent.operator == operator)
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def chain_heads(session: Session) -> dict[str, tuple[int, str]]:
    """subject -> (seq, head) its `audit_chain` row holds."""
    return {
        subject: (seq, head)
        for subject, seq, head in session.execute(
            select(AuditChain.subject, AuditChain.seq, AuditChain.head)
        )
    }


def events_in_chain_order(session: Session) -> Iterator[AuditEvent]:
    """Every audit event, by subject and sequence, streamed."""
    return session.execute(
        select(AuditEvent)
        .order_by(AuditEvent.subject, AuditEvent.seq)
        .execution_options(yield_per=10_000)
    ).scalars()


def record_counts(session: Session) -> tuple[int, int, int]:
    """(members, ledger entries, audit events)."""
    row = session.execute(
        select(
            select(func.count()).select_from(Member).scalar_subquery(),
            select(func.count()).select_from(LedgerEntry).scalar_subquery(),
            select(func.count()).select_from(AuditEvent).scalar_subquery(),
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
