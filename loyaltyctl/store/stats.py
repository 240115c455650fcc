"""The queries behind the statistics: summary rows kept by the writes, and indexed
look-ups; none scans the ledger or the claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from loyaltyctl.store.tables import (
    Campaign,
    ClaimDay,
    LedgerSummary,
    Member,
    Perk,
    PointLot,
)


def points_by_kind(session: Session) -> dict[str, int]:
    """Sum of (amount + pending_amount) of every ledger entry, by kind."""
    rows = session.execute(
        select(LedgerSummary.kind, func.sum(LedgerSummary.points)).group_by(LedgerSummary.kind)
    )
    return {kind: int(points) for kind, points in rows}


def member_figures(session: Session, *, active_since: datetime) -> tuple[int, int, int, int]:
    """(members, members with a points change since ``active_since``, balances, pending)."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Member.updated_at >= active_since),
            func.coalesce(func.sum(Member.balance), 0),
            func.coalesce(func.sum(Member.pending), 0),
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def expiring_between(session: Session, start: datetime, end: datetime) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                PointLot.expires_at > start,
                PointLot.expires_at <= end,
                PointLot.remaining > 0,
            )
        ).scalar_one()
    )


@dataclass(frozen=True)
class PerkFigures:
    """A perk's counters as one set of figures, whether kept on its row or in buckets."""

    id: int
    slug: str
    name: str
    active: bool
    max_supply: int | None
    claimed: int
    members: int
    points_spent: int
    last_claim_at: datetime | None


def perks(session: Session, slug: str | None = None) -> list[PerkFigures]:
    """Most claimed first (a bucketed perk's figures are its buckets' sums)."""
    from loyaltyctl.store.perks import totals

    stmt = select(Perk)
    if slug is not None:
        stmt = stmt.where(Perk.slug == slug)
    rows = list(session.execute(stmt).scalars())
    kept = totals(session) if any(r.supply_buckets > 1 for r in rows) else {}
    figures = []
    for r in rows:
        own = kept.get(r.id)
        counters = (
            (own.claimed, own.members, own.points_spent, own.last_claim_at)
            if own is not None
            else (r.claimed, r.members, r.points_spent, r.last_claim_at)
        )
        figures.append(PerkFigures(r.id, r.slug, r.name, r.active, r.max_supply, *counters))
    figures.sort(key=lambda f: (-f.claimed, f.slug))
    return figures


def claim_days(
    session: Session, perk_ids: list[int] | None, first: str | None, last: str | None
) -> list[tuple[str, int]]:
    """(day, claims) summed over the perks, days in the program time zone, oldest first."""
    stmt = select(ClaimDay.day, func.sum(ClaimDay.claims)).group_by(ClaimDay.day)
    if perk_ids is not None:
        stmt = stmt.where(ClaimDay.perk_id.in_(perk_ids))
    if first is not None:
        stmt = stmt.where(ClaimDay.day >= first)
    if last is not None:
        stmt = stmt.where(ClaimDay.day <= last)
    return [(day, int(n)) for day, n in session.execute(stmt.order_by(ClaimDay.day)) if n]


def campaign_figures(session: Session) -> tuple[int, int]:
    """(active campaigns, redemptions in all campaigns)."""
    row = session.execute(
        select(
            func.count().filter(Campaign.status == "active"),
            func.coalesce(func.sum(Campaign.redemptions), 0),
        )
    ).one()
    return int(row[0]), int(row[1])


def top_balances(session: Session, top: int) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(Member.external_id, Member.name, Member.balance)
        .order_by(Member.balance.desc(), Member.external_id)
        .limit(top)
    )
    return [tuple(r) for r in rows]


def most_active(session: Session, top: int) -> list[tuple[str, str, int]]:
    """Members by their number of ledger entries (the chain's length, kept in the row)."""
    rows = session.execute(
        select(Member.external_id, Member.name, Member.ledger_seq)
        .order_by(Member.ledger_seq.desc(), Member.external_id)
        .limit(top)
    )
    return [tuple(r) for r in rows]


def tiers(session: Session) -> list[tuple[str | None, int]]:
    rows = session.execute(
        select(Member.tier, func.count()).group_by(Member.tier).order_by(func.count().desc())
    )
    return [(tier, int(n)) for tier, n in rows]


def perk_window_figures(
    session: Session, start: datetime | None, end: datetime | None
) -> dict[int, tuple[int, int, int, datetime | None]]:
    """perk id -> (active claims, members, points, last claim) of claims in a window
    (an index range on claim.at)."""
    from loyaltyctl.store.tables import Claim

    stmt = (
        select(
            Claim.perk_id,
            func.count(),
            func.count(func.distinct(Claim.member_id)),
            func.coalesce(func.sum(Claim.points), 0),
            func.max(Claim.at),
        )
        .where(Claim.status == "active")
        .group_by(Claim.perk_id)
    )
    if start is not None:
        stmt = stmt.where(Claim.at >= start)
    if end is not None:
        stmt = stmt.where(Claim.at <= end)
    return {
        row[0]: (int(row[1]), int(row[2]), int(row[3]), row[4]) for row in session.execute(stmt)
    }
