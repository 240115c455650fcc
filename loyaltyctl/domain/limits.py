"""Limit scopes: which counter a use of an earning rule counts in.

Pure: no I/O. A counter holds one rule's uses (and points) for one member in one scope.
A rule's limit counts in the day, week (from Monday), month or year of the use in the
program time zone, or in the member's lifetime; a join rule is earned once per
lifetime; a review rule counts per order and per product of an order.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from loyaltyctl.domain.earning import LIFETIME, Limit


def limit_scope(per: str, day: date) -> str:
    """The counter a use on this day (program time zone) counts in."""
    if per == "day":
        return f"day:{day.isoformat()}"
    if per == "week":  # weeks start on Monday
        return f"week:{(day - timedelta(days=day.weekday())).isoformat()}"
    if per == "month":
        return f"month:{day.year:04d}-{day.month:02d}"
    if per == "year":
        return f"year:{day.year:04d}"
    return LIFETIME


def limit_scope_at(limit: Limit, at: datetime, tz: tzinfo) -> str:
    """The counter of ``limit`` a use at the moment ``at`` counts in: its day is the
    program time zone's."""
    return limit_scope(limit.per, at.astimezone(tz).date())


def order_scope(order_id: str) -> str:
    """The counter of a rule's uses and points for one order."""
    return f"order:{order_id}"


def product_scope(order_id: str, product: str) -> str:
    """The counter of a rule's uses for one product of one order."""
    return f"review:{order_id}:{product}"
