"""Tiers: qualification, tier moves, reviews and the bounds of what events may earn (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from loyaltyctl.domain import tiers
from loyaltyctl.domain.earning import EarningRule, Tier, order_points, period_start, review_points

GOLD = Tier(slug="gold", name="Gold", threshold=1000, multiplier=Decimal("1.5"))
SILVER = Tier(slug="silver", name="S", threshold=500, period="12 months", multiplier=Decimal(1))
PLATINUM = Tier(slug="platinum", name="P", threshold=10_000, multiplier=Decimal(2))
GOLD_YEAR = Tier(
    slug="gold", name="G", threshold=2000, period="12 months", multiplier=Decimal("1.5")
)
RANKED = tiers.ranked([SILVER, GOLD_YEAR, PLATINUM])  # platinum is a lifetime tier
NOW = datetime(2026, 11, 2, 10, tzinfo=UTC)


def test_the_highest_tier_reached_is_the_one_and_downgrades_only_when_allowed():
    silver = Tier(slug="silver", name="S", threshold=100)
    never = Tier(slug="never", name="N", threshold=500, downgrade="never")
    ranked = tiers.ranked([silver, GOLD, never])
    assert [t.slug for t in ranked] == ["gold", "never", "silver"]
    assert tiers.qualifying(ranked, lambda t: 600).slug == "never"
    assert tiers.new_tier(ranked, silver, never, downgrade=False) is never  # up: always
    assert tiers.new_tier(ranked, GOLD, silver, downgrade=False) is GOLD  # down: not on events
    assert tiers.new_tier(ranked, GOLD, silver, downgrade=True) is silver
    assert tiers.new_tier(ranked, never, silver, downgrade=True) is never  # never left


def test_reversals_count_with_the_points_they_take_back():
    t1, t2 = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
    credits = tiers.credits_from(
        [("earn", t1, 100, "o", "A"), ("earn", t1, 30, "r", "A"), ("reverse", t2, -40, "o", "A")]
    )
    assert [(c[0], c[1]) for c in credits] == [(t1, 60), (t1, 30)]
    later = datetime(2027, 1, 20, tzinfo=UTC)
    start = period_start("12 months", later)
    assert tiers.earned_in(credits, start, later) == 0  # both left the period together


def test_the_tiers_within_reach_are_above_the_members_and_within_their_points():
    assert [t.slug for t in tiers.within_reach(RANKED, None, 600)] == ["silver"]
    assert [t.slug for t in tiers.within_reach(RANKED, SILVER, 2500)] == ["gold"]
    assert [t.slug for t in tiers.within_reach(RANKED, SILVER, 20_000)] == ["platinum", "gold"]
    assert tiers.within_reach(RANKED, PLATINUM, 50_000) == []
    assert tiers.within_reach(RANKED, None, 499) == []


def test_history_matters_only_when_a_tier_of_a_period_is_within_reach():
    assert tiers.period_tier_within_reach(RANKED, SILVER, 2500)  # gold: 12 months
    assert not tiers.period_tier_within_reach(RANKED, GOLD_YEAR, 20_000)  # platinum: lifetime
    assert not tiers.period_tier_within_reach(RANKED, None, 100)  # nothing reached


def test_points_that_keep_a_tier_bring_its_review_forward_when_they_leave_first():
    leaves = datetime(2027, 11, 2, 10, tzinfo=UTC)  # 12 months after NOW
    assert tiers.review_after_award(GOLD_YEAR, None, NOW) == leaves
    assert tiers.review_after_award(GOLD_YEAR, datetime(2028, 1, 1, tzinfo=UTC), NOW) == leaves
    assert tiers.review_after_award(GOLD_YEAR, datetime(2027, 1, 1, tzinfo=UTC), NOW) is None
    kept = Tier(slug="k", name="K", threshold=1, period="12 months", downgrade="never")
    assert tiers.review_after_award(kept, None, NOW) is None  # never left
    assert tiers.review_after_award(PLATINUM, None, NOW) is None  # a lifetime
    assert tiers.review_after_award(None, None, NOW) is None


def test_the_most_an_event_may_earn_takes_the_best_multiplier_or_override():
    order = EarningRule(slug="o", kind="order", points_per_unit=Decimal(1))
    overriding = Tier(slug="g", name="G", threshold=1, overrides={"o": 3})
    assert tiers.most_earned([order], [GOLD]) == (Decimal("1.5"), 3)
    assert tiers.most_earned([order], [GOLD, overriding]) == (Decimal(3), 3)
    join = EarningRule(slug="j", kind="join", points=100)
    assert tiers.most_earned([join], [PLATINUM]) == (Decimal(0), 102)  # never multiplied
    assert tiers.most_earned([], [PLATINUM]) == (Decimal(0), 1)


@given(
    cents=st.integers(min_value=0, max_value=10**8),
    per_unit=st.decimals(min_value=0, max_value=10, places=2),
    rounding=st.sampled_from(["down", "nearest"]),
    multiplier=st.decimals(min_value=1, max_value=5, places=2),
    override=st.none() | st.integers(min_value=0, max_value=20),
    review=st.tuples(*[st.integers(min_value=0, max_value=500)] * 4),
)
@example(  # rounded up to the nearest point, then multiplied by 4.82
    cents=12770,
    per_unit=Decimal("4.82"),
    rounding="nearest",
    multiplier=Decimal("4.82"),
    override=None,
    review=(0, 0, 0, 0),
)
def test_no_tier_earns_more_than_the_bound(cents, per_unit, rounding, multiplier, override, review):
    value = Decimal(cents) / 100
    tier = Tier(
        slug="t",
        name="T",
        threshold=1,
        multiplier=multiplier,
        overrides={} if override is None else {"o": override, "r": override},
    )
    order = EarningRule(slug="o", kind="order", points_per_unit=per_unit, rounding=rounding)
    per, flat = tiers.most_earned([order], [tier])
    for member_tier in (None, tier):
        assert order_points(order, member_tier, value) <= int(value * per) + flat
    points, login, photo, video = review
    rule = EarningRule(
        slug="r",
        kind="review",
        points=points,
        social_login_bonus=login,
        photo_bonus=photo,
        video_bonus=video,
    )
    _per, most = tiers.most_earned([rule], [tier])
    for member_tier in (None, tier):
        earned = review_points(rule, member_tier, social_login=True, photos=1, video=True)
        assert earned <= most
