"""Limit scopes: the counter a use of a rule counts in (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain import limits
from loyaltyctl.domain.earning import Limit

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("per", "day", "scope"),
    [
        ("day", date(2026, 11, 2), "day:2026-11-02"),
        ("week", date(2026, 11, 4), "week:2026-11-02"),  # the Monday
        ("month", date(2026, 11, 30), "month:2026-11"),
        ("year", date(2026, 1, 1), "year:2026"),
        ("lifetime", date(2026, 1, 1), "lifetime"),
    ],
)
def test_limit_scopes(per, day, scope):
    assert limits.limit_scope(per, day) == scope


@pytest.mark.parametrize(
    ("per", "at", "in_utc", "in_amsterdam"),
    [
        # 23:30 UTC is already the next day in Amsterdam (UTC+1 in winter)
        ("day", datetime(2026, 11, 1, 23, 30, tzinfo=UTC), "day:2026-11-01", "day:2026-11-02"),
        # a Sunday night in UTC is Monday morning there: the next week
        ("week", datetime(2026, 11, 8, 23, 30, tzinfo=UTC), "week:2026-11-02", "week:2026-11-09"),
        ("month", datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "month:2026-11", "month:2026-12"),
        ("year", datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "year:2026", "year:2027"),
        ("lifetime", datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "lifetime", "lifetime"),
    ],
)
def test_a_use_counts_in_the_program_time_zone(per, at, in_utc, in_amsterdam):
    limit = Limit(count=1, per=per)
    assert limits.limit_scope_at(limit, at, UTC) == in_utc
    assert limits.limit_scope_at(limit, at, AMSTERDAM) == in_amsterdam


def test_reviews_count_per_order_and_per_product_of_an_order():
    # stored in earning_counter.scope: the text must not change
    assert limits.order_scope("1001") == "order:1001"
    assert limits.product_scope("1001", "P1") == "review:1001:P1"
    assert limits.product_scope("1001", "P1") != limits.product_scope("1002", "P1")
