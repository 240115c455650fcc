"""What `maintain run` does for earning: birthday points on the day, and computed tiers
looked at again (members move down when they no longer qualify). Both in the run's
one transaction, through the earning engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from loyaltyctl.domain import earning as domain
from loyaltyctl.services.earning.engine import Earner
from loyaltyctl.services.earning.in_force import load_rules_in_force
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import ConcurrentChange, Session

# a birthday missed by cron (the machine was off) is still given this many days late
BIRTHDAY_GRACE_DAYS = 7
# members whose tier one run looks at, at most (the rest wait for the next run)
TIER_REVIEWS_PER_RUN = 50_000


@dataclass(frozen=True)
class EarningWork:
    birthdays: int = 0  # members given birthday points
    birthday_points: int = 0
    tier_reviews: int = 0
    tier_changes: int = 0


def run_earning_jobs(
    *, session: Session, now: datetime, tz: ZoneInfo, operator: str
) -> EarningWork:
    rules = load_rules_in_force(session)
    earner = Earner(session, rules, operator=operator, now=now)
    birthdays = _birthdays(session, earner, now=now, tz=tz)
    reviews = _tier_reviews(session, earner, now=now)
    earner.flush()
    return EarningWork(
        birthdays=birthdays,
        birthday_points=earner.totals.awarded,
        tier_reviews=reviews,
        tier_changes=len(earner.totals.tier_changes),
    )


def _birthdays(session: Session, earner: Earner, *, now: datetime, tz: ZoneInfo) -> int:
    """Birthday points for members whose birthday is today (program time zone), or was in
    the grace days before, unless they had them in the last 12 months."""
    rules = earner.rules.of_kind("birthday")
    if not rules:
        return 0
    today = now.astimezone(tz).date()
    days = domain.month_days_between(
        date.fromordinal(today.toordinal() - BIRTHDAY_GRACE_DAYS), today
    )
    due = []
    for member_id, _external, birthday, last in store.birthday_candidates(session, days):
        day = domain.due_birthday(birthday, today, BIRTHDAY_GRACE_DAYS)
        if day is None:
            continue
        anchor = domain.anchor(*domain.birthday_month_day(birthday), day)
        if domain.birthday_allowed(date.fromisoformat(last) if last else None, anchor):
            due.append((member_id, day, anchor, last))
    if not due:
        return 0
    members = earner.lock([d[0] for d in due])
    given = 0
    for member_id, day, anchor, last in due:
        m = members[member_id]
        tier = earner.rules.tier(m.tier)
        awards = [
            (rule, domain.flat_points(rule, tier))
            for rule in rules
            if domain.eligible(rule, m.tier)
        ]
        awards = [(rule, points) for rule, points in awards if points > 0]
        if not awards:
            continue
        # the safeguard's conditional write: the anchor moves only from what was read
        if not store.set_birthday_anchor(session, member_id, last, anchor.isoformat()):
            raise ConcurrentChange(f"member {m.state.external_id}'s birthday award moved")
        for rule, points in awards:
            earner.award(
                m,
                rule,
                points,
                at=now,
                event_id=f"birthday:{day.isoformat()}",
                reason=f"birthday {day.isoformat()}",
            )
        earner.recalculate(m, now, reason=f"birthday {day.isoformat()}")
        given += 1
    return given


def _tier_reviews(session: Session, earner: Earner, *, now: datetime) -> int:
    """Computed tiers due for a look: points left their qualifying period, a refund, a
    new member, or the tiers changed. Members move up or down as they qualify now."""
    due = store.due_for_tier_review(session, now, TIER_REVIEWS_PER_RUN)
    if not due:
        return 0
    if not earner.rules.has_tiers:
        store.clear_tier_reviews(session, due)
        return len(due)
    earner.lock(due)  # those given birthday points are locked already
    for member_id in due:
        earner.recalculate(earner.members[member_id], now, reason="maintain run", downgrade=True)
    return len(due)
