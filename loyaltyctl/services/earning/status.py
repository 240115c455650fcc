"""A member's tier status: their tier, its multiplier, and the way to the next one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyaltyctl.domain import tiers
from loyaltyctl.services.earning.rules import list_tiers
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session


@dataclass(frozen=True)
class TierStatus:
    """Where a member stands: their tier, its multiplier, and the way to the next one."""

    tier: str | None
    name: str | None  # the tier's name, when the label is a defined tier
    multiplier: Decimal | None
    manual: bool
    earned: int | None  # points earned in `period` (net of reversals)
    period: str | None
    next_tier: str | None = None
    next_name: str | None = None
    next_threshold: int | None = None
    next_period: str | None = None
    needed: int | None = None  # more points earned in next_period to reach it


def tier_status(session: Session, member_row, *, now: datetime) -> TierStatus | None:
    """None when the program defines no tiers."""
    ranked = tiers.ranked(list_tiers(session=session))
    if not ranked:
        return None
    current = next((t for t in ranked if t.slug == member_row.tier), None)
    credits = tiers.credits_from(store.earned_history(session, [member_row.id])[member_row.id])
    upcoming = None if member_row.tier_manual else tiers.next_above(ranked, current)
    measured = upcoming or current
    earned = (
        tiers.earned_in(credits, measured.window_start(now), now) if measured is not None else None
    )
    return TierStatus(
        tier=member_row.tier,
        name=current.name if current else None,
        multiplier=current.multiplier if current else None,
        manual=member_row.tier_manual,
        earned=earned,
        period=measured.period if measured else None,
        next_tier=upcoming.slug if upcoming else None,
        next_name=upcoming.name if upcoming else None,
        next_threshold=upcoming.threshold if upcoming else None,
        next_period=upcoming.period if upcoming else None,
        needed=max(upcoming.threshold - earned, 0) if upcoming else None,
    )
