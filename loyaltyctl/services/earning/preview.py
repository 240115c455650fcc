"""What an order would earn, without earning it (`quote` rule 8): the order rules the
member's tier earns by, their limits as the member's counters stand, the tier's
multiplier or override, and how long the points would be pending. The same loop as
`handlers.base.RuleHandler.earn`, read-only, and read through the driver (a checkout's
path: three small statements, no ORM statement building)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loyaltyctl.domain.earning import eligible, order_points
from loyaltyctl.domain.limits import limit_scope_at
from loyaltyctl.services.earning.rows import rule_of, tier_of
from loyaltyctl.store import quoting as store

if TYPE_CHECKING:
    from loyaltyctl.store.db import Session


@dataclass(frozen=True, slots=True)
class PointsPreview:
    earn: int
    pending_until: datetime | None  # when the last of them matures; None: at once


def order_preview(
    session: Session,
    *,
    member_id: int,
    tier_label: str | None,
    value: Decimal,
    at: datetime,
    tz: ZoneInfo,
    now: datetime,
) -> PointsPreview:
    """``at``: the order's time; ``now``: when it would be ingested (points whose wait is
    over by then are not pending, as the engine credits them)."""
    rows = store.order_rules(session)
    if not rows:
        return PointsPreview(0, None)
    stored_tier = store.active_tier(session, tier_label) if tier_label else None
    tier = tier_of(stored_tier) if stored_tier is not None else None
    total, pending = 0, None
    for row in rows:
        rule = rule_of(row)
        if not eligible(rule, tier_label):
            continue
        limit = rule.limit
        if limit is not None:
            scope = limit_scope_at(limit, at, tz)
            if store.counter_uses(session, row.id, member_id, scope) >= limit.count:
                continue
        points = order_points(rule, tier, value)
        if points <= 0:
            continue
        total += points
        until = at + timedelta(days=rule.wait_days) if rule.wait_days else None
        if until is not None and until > now:
            pending = until if pending is None else max(pending, until)
    return PointsPreview(total, pending)
