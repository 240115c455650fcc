"""Statistics. `stats promo` reads the counters the redeeming transactions keep
(campaign.redemptions, points_granted, promo_code.uses, promo_batch.generated) and one
GROUP BY day over the campaign's redemptions, so it does not scan the codes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain.promo import SharedCode
from loyaltyctl.services.coupons.listing import coupon_figures
from loyaltyctl.services.promo import to_domain
from loyaltyctl.store import promo as promo_store
from loyaltyctl.store import stats as store
from loyaltyctl.store.db import Session


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


def series_of(days: list[tuple[str, int]], by: str) -> list[tuple[str, int]]:
    """(period, count) of (day, count) pairs, oldest first: empty days as 0, grouped by
    day, week (its Monday) or month."""
    return [(p.period, p.redemptions) for p in _grouped(_every_day(days), by)]


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


# --- stats overview ------------------------------------------------------------------------

# ledger kinds by statistics bucket (spec §5); any other kind that adds points is "issued"
SPENT_KINDS = ("claim", "claim_refund")  # net of cancellations
WRITTEN_OFF_KINDS = ("write_off",)
REVERSED_KINDS = ("reverse",)  # order refunds taking earned points back (earning rules)
EXPIRED_KINDS = ("expire",)
NEUTRAL_KINDS = ("mature",)  # pending -> balance: no points come or go


@dataclass(frozen=True)
class Points:
    issued: int
    spent: int
    written_off: int
    reversed: int
    expired: int
    pending: int
    outstanding: int
    expiring_soon: int  # in the next `soon_days` days


@dataclass(frozen=True)
class TopPerk:
    slug: str
    name: str
    claims: int
    points_spent: int


@dataclass(frozen=True)
class Overview:
    members: int
    active_members: int  # with a points change in the last 30 days
    points: Points
    perks: dict
    top_perks: tuple[TopPerk, ...]
    campaigns: dict
    balances: int  # sum of balances: outstanding = balances + pending
    coupons: dict  # issued, active, used, expired, cancelled (status as of now)


def overview(
    *, session: Session, now: datetime | None = None, soon_days: int = 30, top: int = 5
) -> Overview:
    from loyaltyctl.domain.values import utcnow

    now = now or utcnow()
    by_kind = store.points_by_kind(session)

    def total(kinds) -> int:
        return -sum(by_kind.get(k, 0) for k in kinds)

    known = set(SPENT_KINDS + WRITTEN_OFF_KINDS + REVERSED_KINDS + EXPIRED_KINDS + NEUTRAL_KINDS)
    issued = sum(v for k, v in by_kind.items() if k not in known)
    spent, written_off = total(SPENT_KINDS), total(WRITTEN_OFF_KINDS)
    reversed_, expired = total(REVERSED_KINDS), total(EXPIRED_KINDS)
    members, active, balances, pending = store.member_figures(
        session, active_since=now - timedelta(days=30)
    )
    perks = store.perks(session)
    sold_out = sum(1 for p in perks if p.max_supply is not None and p.claimed >= p.max_supply)
    campaigns_active, redemptions = store.campaign_figures(session)
    return Overview(
        members=members,
        active_members=active,
        points=Points(
            issued=issued,
            spent=spent,
            written_off=written_off,
            reversed=reversed_,
            expired=expired,
            pending=pending,
            outstanding=issued - spent - written_off - reversed_ - expired,
            expiring_soon=store.expiring_between(session, now, now + timedelta(days=soon_days)),
        ),
        perks={"active": sum(1 for p in perks if p.active), "sold_out": sold_out},
        top_perks=tuple(TopPerk(p.slug, p.name, p.claimed, p.points_spent) for p in perks[:top]),
        campaigns={"active": campaigns_active, "redemptions": redemptions},
        balances=balances,
        coupons=asdict(coupon_figures(session=session, now=now)),
    )


# --- stats claims --------------------------------------------------------------------------


@dataclass(frozen=True)
class PerkStats:
    slug: str
    name: str
    claims: int
    unique_members: int
    points_spent: int
    supply_left: int | None
    last_claim_at: datetime | None


@dataclass(frozen=True)
class ClaimPeriod:
    period: str
    claims: int


@dataclass(frozen=True)
class ClaimStats:
    perks: tuple[PerkStats, ...]
    series: tuple[ClaimPeriod, ...]


def claim_stats(
    *,
    session: Session,
    tz,
    perk: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str = "day",
) -> ClaimStats:
    """Per perk: active claims, members, points spent (net of cancellations), supply left,
    last claim; and claims per period (program time zone), empty periods as 0. Without a
    window the figures are the counters kept by the claims; with one, they are counted
    from the claims in it."""
    rows = store.perks(session, perk)
    if perk is not None and not rows:
        from loyaltyctl.store import perk_rows

        perk_rows.require(session, perk)  # the "did you mean" refusal
    windowed = (
        store.perk_window_figures(session, since, until)
        if since is not None or until is not None
        else None
    )
    figures = []
    for p in rows:
        claims, members, spent, last = (
            windowed.get(p.id, (0, 0, 0, None))
            if windowed is not None
            else (p.claimed, p.members, p.points_spent, p.last_claim_at)
        )
        figures.append(
            PerkStats(
                slug=p.slug,
                name=p.name,
                claims=claims,
                unique_members=members,
                points_spent=spent,
                supply_left=None if p.max_supply is None else max(p.max_supply - p.claimed, 0),
                last_claim_at=last,
            )
        )
    figures.sort(key=lambda f: (-f.claims, f.slug))
    first = since.astimezone(tz).date().isoformat() if since else None
    last_day = until.astimezone(tz).date().isoformat() if until else None
    days = store.claim_days(session, [p.id for p in rows] if perk else None, first, last_day)
    series = _grouped(_every_day(days), by)
    return ClaimStats(
        perks=tuple(figures),
        series=tuple(ClaimPeriod(p.period, p.redemptions) for p in series),
    )


# --- stats members -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    member: str
    name: str
    value: int


@dataclass(frozen=True)
class MemberStats:
    biggest_balances: tuple[MemberRow, ...]
    most_active: tuple[MemberRow, ...]  # by ledger entries
    tiers: tuple[dict, ...]


def member_stats(*, session: Session, top: int = 10) -> MemberStats:
    """The tier distribution lists the tiers in force highest first (with 0 members when
    none has reached one yet), then labels set by hand that are no tier, then no tier."""
    from loyaltyctl.store import earning as earning_store

    counts = dict(store.tiers(session))
    defined = [t.slug for t in earning_store.tiers(session)]
    labels = sorted((t for t in counts if t is not None and t not in defined), key=str)
    order = defined + labels + ([None] if None in counts else [])
    return MemberStats(
        biggest_balances=tuple(MemberRow(*r) for r in store.top_balances(session, top)),
        most_active=tuple(MemberRow(*r) for r in store.most_active(session, top)),
        tiers=tuple({"tier": t, "members": counts.get(t, 0)} for t in order),
    )
