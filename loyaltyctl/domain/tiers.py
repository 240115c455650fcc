"""Tiers: what counts toward them, which one a member qualifies for, when to look again,
and how far a transaction's events may take a member.

Pure: no I/O. A member's ``credits`` are their earned points as [at, points, rule,
order id] lists (`credits_from`), each award net of the reversals of it. Tiers are
handled as `ranked` gives them: active ones, highest threshold first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from loyaltyctl.domain.earning import LIFETIME, EarningRule, Tier, period_after


def credits_from(entries) -> list[list]:
    """What counts toward tiers, from a member's `earn` and `reverse` ledger entries in
    chain order ((kind, at, points, rule, order id)): [at, points, rule, order id] per
    award, a reversal taken off the award it reverses (same rule and order), so points
    earned and refunded later leave the qualifying period together."""
    credits: list[list] = []
    awards: dict[tuple, list] = {}
    for kind, at, points, rule, order_id in entries:
        if kind == "reverse" and (rule, order_id) in awards:
            awards[(rule, order_id)][1] += points  # points < 0
            continue
        credit = [at, points, rule, order_id]
        credits.append(credit)
        if order_id is not None:
            awards[(rule, order_id)] = credit
    return credits


def take_off(credits: list[list], rule: str, order_id: str, points: int, at: datetime) -> None:
    """A reversal of ``points``, taken off the award of the same rule and order."""
    for credit in reversed(credits):
        if credit[2] == rule and credit[3] == order_id:
            credit[1] -= points
            return
    credits.append([at, -points, rule, order_id])


def earned_in(credits: list[list], start: datetime | None, end: datetime) -> int:
    """Points earned (net of reversals) after ``start`` (None: ever) and up to ``end``."""
    return sum(c[1] for c in credits if c[0] <= end and (start is None or c[0] > start))


def next_review(credits: list[list], tier: Tier | None, at: datetime) -> datetime | None:
    """When a member of ``tier`` may stop qualifying for it: the first moment a point in
    its period at ``at`` leaves the period. None when it cannot happen by time alone (no
    tier, a lifetime period, or a tier that is never left)."""
    if tier is None or tier.downgrade == "never":
        return None
    start = tier.window_start(at)
    if start is None:
        return None
    # the point earned first leaves first (a period's end moves with its start)
    first = min((c[0] for c in credits if c[1] > 0 and start < c[0] <= at), default=None)
    return None if first is None else period_after(tier.period, first)


def qualifying_at(tiers: list[Tier], credits: list[list], at: datetime) -> Tier | None:
    """`qualifying` with each distinct period's earned points summed once."""
    sums: dict[str, int] = {}

    def earned(tier: Tier) -> int:
        if tier.period not in sums:
            sums[tier.period] = earned_in(credits, tier.window_start(at), at)
        return sums[tier.period]

    return qualifying(tiers, earned)


def ranked(tiers) -> list[Tier]:
    """Active tiers, highest threshold first."""
    return sorted((t for t in tiers if t.active), key=lambda t: (-t.threshold, t.slug))


def qualifying(tiers: list[Tier], earned) -> Tier | None:
    """The highest tier (``tiers`` as `ranked` gives them) whose threshold the member's
    earned points in its period reach; ``earned(tier)`` gives those points."""
    for tier in tiers:
        if earned(tier) >= tier.threshold:
            return tier
    return None


def next_above(tiers: list[Tier], current: Tier | None) -> Tier | None:
    """The lowest tier above ``current`` (the first one when there is none)."""
    above = [t for t in tiers if current is None or t.threshold > current.threshold]
    return above[-1] if above else None


def new_tier(
    tiers: list[Tier], current: Tier | None, computed: Tier | None, *, downgrade: bool
) -> Tier | None:
    """The tier a member moves to: up whenever they qualify for a higher one; down only
    when ``downgrade`` (maintain run) and their tier's policy is "recalculate"."""
    if computed is current or (
        computed is not None and current is not None and computed.slug == current.slug
    ):
        return current
    if current is None:
        return computed
    if computed is not None and computed.threshold > current.threshold:
        return computed
    if downgrade and (current.downgrade == "recalculate" or not current.active):
        return computed
    return current


# --- bounds ------------------------------------------------------------------------------


def within_reach(tiers: list[Tier], current: Tier | None, earned: int) -> list[Tier]:
    """The tiers above ``current`` (all of them for none) whose threshold ``earned``
    points reach: the only ones a member who earned that many ever may qualify for."""
    return [
        t
        for t in tiers
        if (current is None or t.threshold > current.threshold) and t.threshold <= earned
    ]


def period_tier_within_reach(tiers: list[Tier], current: Tier | None, earned: int) -> bool:
    """Whether a tier of a period (not a lifetime) is `within_reach`: only then does
    reaching it depend on when the points were earned (the member's history)."""
    return any(t.period != LIFETIME for t in within_reach(tiers, current, earned))


def review_after_award(
    tier: Tier | None, review_at: datetime | None, at: datetime
) -> datetime | None:
    """When to look at a member's tier again, now that points earned at ``at`` kept them
    in ``tier``: when those points leave its period, if that comes before ``review_at``
    (an event older than the points the review was set by). None: ``review_at`` stays."""
    if tier is None or tier.downgrade == "never":
        return None
    leaves = period_after(tier.period, at)
    if leaves is not None and (review_at is None or leaves < review_at):
        return leaves
    return None


def most_earned(rules: list[EarningRule], tiers: list[Tier]) -> tuple[Decimal, int]:
    """(points per unit of an order's value, fixed points): at most what one event may
    earn by these rules (all of one kind) in any tier, rounded up. A bound, not the
    points: it decides whose history a transaction reads."""
    factor = max([Decimal(1)] + [t.multiplier for t in tiers])
    per_unit, flat = Decimal(0), 1
    for rule in rules:
        overrides = [t.overrides[rule.slug] for t in tiers if rule.slug in t.overrides]
        if rule.kind == "order":
            per_unit += max([rule.points_per_unit * factor, *map(Decimal, overrides)])
            # rounded to the nearest point before the multiplier: up to factor / 2 more
            flat += 1 + int(factor)
        else:
            bonus = rule.social_login_bonus + rule.photo_bonus + rule.video_bonus
            base = (rule.points or 0) + bonus
            flat += max(
                [
                    int(base * (1 if rule.kind == "join" else factor)) + 1,
                    *(o + bonus for o in overrides),
                ]
            )
    return per_unit, flat
