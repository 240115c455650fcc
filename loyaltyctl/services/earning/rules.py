"""Earning rules and tiers: rows to domain, listing them, the rules in force, and a
member's tier status. Planning them from files is services/apply/earning.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from loyaltyctl.domain import earning as domain
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import EarningRule, Tier

# --- rows <-> domain ------------------------------------------------------------------------


def rule_of(row: EarningRule) -> domain.EarningRule:
    return domain.EarningRule.from_settings(
        slug=row.slug,
        kind=row.kind,
        name=row.name,
        description=row.description,
        active=row.active,
        tiers=tuple(json.loads(row.tiers)),
        settings=json.loads(row.settings),
    )


def tier_of(row: Tier) -> domain.Tier:
    return domain.Tier(
        slug=row.slug,
        name=row.name,
        threshold=row.threshold,
        period=row.period,
        multiplier=Decimal(row.multiplier),
        overrides=json.loads(row.overrides),
        downgrade=row.downgrade,
        active=row.active,
        description=row.description,
    )


# --- read -------------------------------------------------------------------------------------


def list_rules(*, session: Session, include_inactive: bool = False) -> list[domain.EarningRule]:
    return [rule_of(r) for r in store.rules(session, include_inactive=include_inactive)]


def list_tiers(*, session: Session, include_inactive: bool = False) -> list[domain.Tier]:
    return [tier_of(r) for r in store.tiers(session, include_inactive=include_inactive)]


# the kind of rule each type of event earns by
RULE_KIND_OF = {
    "member.joined": "join",
    "order.paid": "order",
    "review.submitted": "review",
    "social.action": "social",
}


@dataclass
class RulesInForce:
    """The earning rules and tiers in force, as one transaction read them."""

    rules: dict[str, list[domain.EarningRule]]  # kind -> active rules of that kind
    rule_ids: dict[str, int]  # slug -> row id (the counters' key)
    tiers: list[domain.Tier]  # active, highest threshold first
    tiers_by_slug: dict[str, domain.Tier] = field(default_factory=dict)
    _most: dict[str, tuple] = field(default_factory=dict, repr=False)

    @property
    def has_tiers(self) -> bool:
        return bool(self.tiers)

    def of_kind(self, kind: str) -> list[domain.EarningRule]:
        return self.rules.get(kind, [])

    def most_points(self, event) -> int:
        """At most how many points an event may earn under these rules, in any tier (a
        bound, not the points)."""
        kind = RULE_KIND_OF.get(event.type)
        if kind is None:
            return 0
        if kind not in self._most:
            self._most[kind] = self._most_of(kind)
        per_unit, flat = self._most[kind]
        return int(event.value * per_unit) + flat if per_unit else flat

    def _most_of(self, kind: str) -> tuple[Decimal, int]:
        """(points per unit of an order's value, fixed points) at most, over the rules."""
        factor = max([Decimal(1)] + [t.multiplier for t in self.tiers])
        per_unit, flat = Decimal(0), 1
        for rule in self.of_kind(kind):
            overrides = [t.overrides[rule.slug] for t in self.tiers if rule.slug in t.overrides]
            if kind == "order":
                per_unit += max([rule.points_per_unit * factor, *map(Decimal, overrides)])
                flat += 1
            else:
                bonus = rule.social_login_bonus + rule.photo_bonus + rule.video_bonus
                base = (rule.points or 0) + bonus
                flat += max(
                    [
                        int(base * (1 if kind == "join" else factor)) + 1,
                        *(o + bonus for o in overrides),
                    ]
                )
        return per_unit, flat

    def tier(self, label: str | None) -> domain.Tier | None:
        """The tier a member's label names (a tier set by hand counts when it is one)."""
        return self.tiers_by_slug.get(label) if label else None


def load_rules_in_force(session: Session) -> RulesInForce:
    by_kind: dict[str, list[domain.EarningRule]] = {}
    ids = {}
    for row in store.rules(session):
        by_kind.setdefault(row.kind, []).append(rule_of(row))
        ids[row.slug] = row.id
    tiers = domain.ranked(list_tiers(session=session))
    return RulesInForce(by_kind, ids, tiers, {t.slug: t for t in tiers})


# --- a member's tier ---------------------------------------------------------------------------


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
    tiers = domain.ranked(list_tiers(session=session))
    if not tiers:
        return None
    current = next((t for t in tiers if t.slug == member_row.tier), None)
    credits = domain.credits_from(store.earned_history(session, [member_row.id])[member_row.id])
    upcoming = None if member_row.tier_manual else domain.next_above(tiers, current)
    measured = upcoming or current
    earned = (
        domain.earned_in(credits, measured.window_start(now), now) if measured is not None else None
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
