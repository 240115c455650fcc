"""Statistics. `stats promo` reads the counters the redeeming transactions keep
(campaign.redemptions, points_granted, promo_code.uses, promo_batch.generated) and one
GROUP BY day over the campaign's redemptions, so it does not scan the codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain.promo import SharedCode
from loyaltyctl.services.promo import to_domain
from loyaltyctl.store import promo as promo_store


@dataclass(frozen=True)
class Period:
    period: str  # a day, YYYY-MM-DD in the program time zone
    redemptions: int


@dataclass(frozen=True)
class PromoStats:
    campaign: str
    name: str
    status: str
    codes_issued: int
    redemptions: int
    redemption_rate: float | None  # redemptions / the uses the codes allow; None if unlimited
    points_granted: int
    codes: tuple[SharedCode, ...]  # shared codes: inventory against use
    series: tuple[Period, ...]


def promo_stats(
    *,
    session: Session,
    campaign: str | None = None,
    keys: KeyRing | None = None,
    since: datetime | None = None,
    by: str = "day",
) -> list[PromoStats]:
    """One campaign's figures, or every campaign's (by slug). ``since`` limits the
    series only; the totals are the campaign's."""
    rows = [promo_store.require(session, campaign)] if campaign else promo_store.listing(session)
    result = []
    for row in rows:
        found = to_domain(session, row, keys)
        allowed = promo_store.capacity(session, row.id)
        result.append(
            PromoStats(
                campaign=found.slug,
                name=found.name,
                status=found.status,
                codes_issued=found.codes_issued,
                redemptions=found.redemptions,
                redemption_rate=round(found.redemptions / allowed, 4) if allowed else None,
                points_granted=found.points_granted,
                codes=found.shared_codes,
                series=_grouped(
                    _every_day(promo_store.redemption_series(session, row.id, since=since)), by
                ),
            )
        )
    return result


def _every_day(counts: list[tuple[str, int]]) -> tuple[Period, ...]:
    """Days without redemptions count as 0, so a chart shows the gaps."""
    if not counts:
        return ()
    found = dict(counts)
    day, last = date.fromisoformat(counts[0][0]), date.fromisoformat(counts[-1][0])
    series = []
    while day <= last:
        series.append(Period(day.isoformat(), found.get(day.isoformat(), 0)))
        day += timedelta(days=1)
    return tuple(series)


PERIODS = ("day", "week", "month")


def period_of(day: date, by: str) -> str:
    """A day's period: the day, the ISO week's Monday (`2026-W27` is shown as its Monday's
    date) or the month (`2026-07`)."""
    if by == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if by == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def _grouped(days: tuple[Period, ...], by: str) -> tuple[Period, ...]:
    if by == "day":
        return days
    totals: dict[str, int] = {}
    for p in days:
        key = period_of(date.fromisoformat(p.period), by)
        totals[key] = totals.get(key, 0) + p.redemptions
    return tuple(Period(k, n) for k, n in totals.items())
