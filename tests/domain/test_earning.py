"""The arithmetic of earned points, periods and birthdays, and who earns by a rule (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

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


def test_a_rule_limited_to_tiers_is_earned_only_in_them():
    everyone = domain.EarningRule(slug="s", kind="social", points=5)
    gold_only = domain.EarningRule(slug="g", kind="social", points=5, tiers=("gold",))
    assert domain.eligible(everyone, None) and domain.eligible(everyone, "silver")
    assert domain.eligible(gold_only, "gold")
    assert not domain.eligible(gold_only, "silver") and not domain.eligible(gold_only, None)


def test_review_bonuses_add_up_before_the_multiplier():
    rule = domain.EarningRule(
        slug="r", kind="review", points=50, social_login_bonus=10, photo_bonus=20, video_bonus=30
    )
    assert domain.review_points(rule, None, social_login=True, photos=3, video=True) == 110
    assert domain.review_points(rule, GOLD, social_login=False, photos=0, video=False) == 75


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
