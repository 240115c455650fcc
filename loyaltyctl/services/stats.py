"""Statistics. `stats promo` reads the counters the redeeming transactions keep
(campaign.redemptions, points_granted, promo_code.uses, promo_batch.generated) and one
GROUP BY day over the campaign's redemptions, so it does not scan the codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
) -> list[PromoStats]:
    """One campaign's figures, or every campaign's (newest first)."""
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
                series=tuple(
                    Period(day, n)
                    for day, n in promo_store.redemption_series(session, row.id, since=since)
                ),
            )
        )
    return result
