"""Reading the ledger as table rows (SQLAlchemy): a member's recent entries, the lots
`maintain run` matures and expires, what `audit verify` reads. Moving points is
`store.ledger` (the driver alone: a claim runs it without SQLAlchemy).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from sqlalchemy import Row, or_, select
from sqlmodel import Session

from loyaltyctl.store.ledger import STATE_COLUMNS
from loyaltyctl.store.tables import LedgerEntry, Member, PointLot

# --- reading a member's points --------------------------------------------------------------


def recent_entries(session: Session, member_id: int, *, limit: int | None) -> list[LedgerEntry]:
    """The member's entries, newest first (all of them when ``limit`` is None)."""
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.member_id == member_id)
        .order_by(LedgerEntry.seq.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


# --- lots that mature or expire (`maintain run`) ---------------------------------------------


def lots_to_mature(session: Session, now: datetime) -> list[Row]:
    """(id, member_id, remaining, expires_at) of pending lots due by ``now`` (one that a
    refund emptied has nothing to mature), by member and maturity."""
    rows = session.execute(
        select(PointLot.id, PointLot.member_id, PointLot.remaining, PointLot.expires_at)
        .where(PointLot.matured.is_(False), PointLot.matures_at <= now, PointLot.remaining > 0)
        .order_by(PointLot.member_id, PointLot.matures_at, PointLot.id)
    )
    return list(rows)


def lots_to_expire(session: Session, now: datetime) -> list[Row]:
    """(id, member_id, remaining, expires_at) of lots with points left that expire by
    ``now``, counting pending ones that mature by then, by member and expiry."""
    rows = session.execute(
        select(PointLot.id, PointLot.member_id, PointLot.remaining, PointLot.expires_at)
        .where(
            PointLot.expires_at <= now,
            PointLot.remaining > 0,
            or_(PointLot.matured.is_(True), PointLot.matures_at <= now),
        )
        .order_by(PointLot.member_id, PointLot.expires_at, PointLot.id)
    )
    return list(rows)


# --- what `audit verify` reads ---------------------------------------------------------------


def chain_states(session: Session) -> dict[int, Row]:
    """member id -> the figures and chain head the member row keeps (`STATE_COLUMNS`, by
    name: ``row.balance``), for every member."""
    columns = [Member.__table__.c[name] for name in STATE_COLUMNS]
    return {row.id: row for row in session.execute(select(*columns))}


def entries_in_chain_order(session: Session) -> Iterator[Mapping]:
    """Every ledger entry as a mapping of its columns, by member and sequence, streamed."""
    return iter(
        session.execute(
            select(LedgerEntry.__table__)
            .order_by(LedgerEntry.member_id, LedgerEntry.seq)
            .execution_options(yield_per=10_000)
        ).mappings()
    )
