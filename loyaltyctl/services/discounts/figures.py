"""`stats discounts`: per discount, its active grants, the members holding it, the
members who used it and its uses; uses over time (days in the program time zone, empty
periods as 0, grouped by day, week or month). The figures are the kept ones
(discount_summary, corrected by the grants fallen due since `maintain run`); with
`--since`, uses are counted from the uses in the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.stats import series_of
from loyaltyctl.store import discounts as store


@dataclass(frozen=True)
class DiscountFigures:
    slug: str
    name: str
    percent: object
    enabled: bool
    active_grants: int
    members_holding: int
    members_used: int
    uses: int


@dataclass(frozen=True)
class UsePeriod:
    period: str  # a day (YYYY-MM-DD), a week (its Monday) or a month (YYYY-MM)
    uses: int


@dataclass(frozen=True)
class DiscountStats:
    discounts: tuple[DiscountFigures, ...]
    series: tuple[UsePeriod, ...]


def discount_stats(
    *,
    session,
    tz,
    slug: str | None = None,
    since: datetime | None = None,
    by: str = "day",
    now: datetime | None = None,
) -> DiscountStats:
    now = now or utcnow()
    rows = (
        [store.require(session, slug)] if slug else store.discounts(session, include_disabled=True)
    )
    ids = [row.id for row in rows] if slug else None
    since_day = since.astimezone(tz).date().isoformat() if since else None
    kept = store.figures_now(session, now)
    # with --since, uses are counted from the uses in the window
    used = (
        store.use_figures(session, ids, since_day)
        if since_day is not None
        else {k: (v[2], v[3]) for k, v in kept.items()}
    )
    figures = [
        DiscountFigures(
            row.slug,
            row.name,
            row.percent,
            row.enabled,
            *kept.get(row.id, (0, 0))[:2],
            used.get(row.id, (0, 0))[1],
            used.get(row.id, (0, 0))[0],
        )
        for row in rows
    ]
    figures.sort(key=lambda f: (-f.uses, -f.active_grants, f.slug))
    series = series_of(store.use_days(session, ids, since_day), by)
    return DiscountStats(tuple(figures), tuple(UsePeriod(p, n) for p, n in series))
