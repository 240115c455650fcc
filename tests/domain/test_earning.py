"""The arithmetic of earned points, refunds, periods, tiers and birthdays (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain import earning as domain

ORDER = domain.EarningRule(slug="o", kind="order", points_per_unit=Decimal(1))
GOLD = domain.Tier(slug="gold", name="Gold", threshold=1000, multiplier=Decimal("1.5"))


def test_order_points_round_down_or_to_nearest_and_take_the_tier():
    assert domain.order_points(ORDER, None, Decimal("24.99")) == 24
    nearest = domain.EarningRule(
        slug="o", kind="order", points_per_unit=Decimal(1), rounding="nearest"
    )
    assert domain.order_points(nearest, None, Decimal("24.50")) == 25
    assert domain.order_points(ORDER, GOLD, Decimal("25")) == 37  # 37.5 rounded down
    overriding = domain.Tier(slug="g", name="G", threshold=1, overrides={"o": 3})
    assert domain.order_points(ORDER, overriding, Decimal("10")) == 30  # no multiplier


def test_join_points_are_never_adjusted_per_tier():
    join = domain.EarningRule(slug="j", kind="join", points=100)
    both = domain.Tier(slug="g", name="G", threshold=1, multiplier=Decimal(2), overrides={"j": 5})
    assert domain.flat_points(join, both) == 100


def test_review_bonuses_add_up_before_the_multiplier():
    rule = domain.EarningRule(
        slug="r", kind="review", points=50, social_login_bonus=10, photo_bonus=20, video_bonus=30
    )
    assert domain.review_points(rule, None, social_login=True, photos=3, video=True) == 110
    assert domain.review_points(rule, GOLD, social_login=False, photos=0, video=False) == 75


@given(
    points=st.integers(min_value=0, max_value=10_000),
    shares=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=8),
)
def test_partial_refunds_never_take_more_than_earned_and_the_whole_takes_all(points, shares):
    total = sum(shares)
    taken, cumulative = 0, Fraction(0)
    for part in shares:
        cumulative += Fraction(part, total)
        due = domain.reversal_due(points, cumulative)
        assert due >= taken  # never gives points back
        taken = due
    assert taken == points


def test_the_seed_example_reverses_a_third():
    assert domain.reversal_due(24, Fraction(10, 30)) == 8


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
    assert domain.limit_scope(per, day) == scope


def test_periods_parse_and_shift_by_calendar_months():
    assert domain.period_text("12 Months") == "12 months"
    assert domain.period_text("1 years") == "1 year"
    with pytest.raises(ValueError):
        domain.parse_period("fortnight")
    end = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert domain.period_start("1 month", end) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert domain.period_after("12 months", datetime(2028, 2, 29, tzinfo=UTC)) == datetime(
        2029, 2, 28, tzinfo=UTC
    )
    assert domain.period_start("lifetime", end) is None


def test_the_highest_tier_reached_is_the_one_and_downgrades_only_when_allowed():
    silver = domain.Tier(slug="silver", name="S", threshold=100)
    never = domain.Tier(slug="never", name="N", threshold=500, downgrade="never")
    tiers = domain.ranked([silver, GOLD, never])
    assert [t.slug for t in tiers] == ["gold", "never", "silver"]
    assert domain.qualifying(tiers, lambda t: 600).slug == "never"
    assert domain.new_tier(tiers, silver, never, downgrade=False) is never  # up: always
    assert domain.new_tier(tiers, GOLD, silver, downgrade=False) is GOLD  # down: not on events
    assert domain.new_tier(tiers, GOLD, silver, downgrade=True) is silver
    assert domain.new_tier(tiers, never, silver, downgrade=True) is never  # never left


def test_reversals_count_with_the_points_they_take_back():
    t1, t2 = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
    credits = domain.credits_from(
        [("earn", t1, 100, "o", "A"), ("earn", t1, 30, "r", "A"), ("reverse", t2, -40, "o", "A")]
    )
    assert [(c[0], c[1]) for c in credits] == [(t1, 60), (t1, 30)]
    later = datetime(2027, 1, 20, tzinfo=UTC)
    start = domain.period_start("12 months", later)
    assert domain.earned_in(credits, start, later) == 0  # both left the period together


@pytest.mark.parametrize(
    ("birthday", "year", "celebrated"),
    [
        ("1996-02-29", 2027, date(2027, 3, 1)),
        ("02-29", 2028, date(2028, 2, 29)),
        ("12-02", 2026, date(2026, 12, 2)),
    ],
)
def test_birthdays_are_celebrated_on_their_day_or_march_1(birthday, year, celebrated):
    assert domain.celebrated_on(*domain.birthday_month_day(birthday), year) == celebrated


def test_the_12_month_safeguard_lets_a_leap_day_birthday_through():
    march_1 = domain.anchor(2, 29, date(2027, 3, 1))
    assert march_1 == date(2027, 2, 28)
    assert domain.birthday_allowed(march_1, domain.anchor(2, 29, date(2028, 2, 29)))
    assert not domain.birthday_allowed(date(2026, 12, 2), date(2027, 12, 1))
    assert domain.birthday_allowed(date(2026, 12, 2), date(2027, 12, 2))


def test_a_due_birthday_looks_back_the_grace_days_across_new_year():
    assert domain.due_birthday("12-30", date(2027, 1, 2), 7) == date(2026, 12, 30)
    assert domain.due_birthday("12-30", date(2027, 1, 2), 2) is None
    assert "02-29" in domain.month_days_between(date(2027, 2, 27), date(2027, 3, 1))
    assert "02-29" not in domain.month_days_between(date(2028, 3, 1), date(2028, 3, 1))
