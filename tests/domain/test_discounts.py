"""Held discounts: schedules over midnight, grants at a moment, stacking on a line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain import discounts as d
from loyaltyctl.domain.discounts import DiscountSpec, Grant, Schedule, Scope, Trigger, stack_on_line

AMS = ZoneInfo("Europe/Amsterdam")
D = Decimal
STORE = (Scope("store"),)
ADMIN = (Trigger("admin"),)
EVERY = frozenset(d.STACK_TYPES)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=AMS)


def spec(slug, percent, **kw) -> DiscountSpec:
    kw.setdefault("scopes", STORE)
    kw.setdefault("triggers", ADMIN)
    kw.setdefault("stack_with", EVERY)
    return DiscountSpec(slug=slug, name=slug, percent=D(percent), **kw)


def line(candidates, amount="100.00", present=(), sku="P1", category=None):
    return stack_on_line(candidates, sku=sku, category=category, present=present, amount=D(amount))


def test_a_friday_night_window_runs_into_saturday_and_belongs_to_friday():
    s = Schedule(weekdays=("fri",), time_from=time(22), time_until=time(2))
    assert s.open_at(local(2026, 12, 4, 22, 0), AMS)  # Friday 22:00
    assert s.open_at(local(2026, 12, 5, 1, 59), AMS)  # Saturday 01:59, still Friday's
    assert not s.open_at(local(2026, 12, 5, 2, 0), AMS)  # closes at 02:00 (exclusive)
    assert not s.open_at(local(2026, 12, 5, 22, 30), AMS)  # Saturday opens nothing
    assert not s.open_at(local(2026, 12, 4, 21, 59), AMS)


def test_the_date_range_is_of_the_opening_day():
    s = Schedule(end=date(2026, 12, 4), time_from=time(22), time_until=time(2))
    assert s.open_at(local(2026, 12, 5, 1, 0), AMS)  # opened on the 4th, the last day
    assert not s.open_at(local(2026, 12, 5, 23, 0), AMS)


def test_half_windows_and_whole_days():
    assert Schedule(time_from=time(18)).open_at(local(2026, 12, 4, 23, 59), AMS)
    assert not Schedule(time_from=time(18)).open_at(local(2026, 12, 5, 0, 30), AMS)
    assert Schedule(time_until=time(9)).open_at(local(2026, 12, 4, 0, 0), AMS)
    assert not Schedule(time_until=time(9)).open_at(local(2026, 12, 4, 9, 0), AMS)
    weekend = Schedule(weekdays=("sat", "sun"))
    assert weekend.open_at(local(2026, 12, 6, 12), AMS)
    assert not weekend.open_at(local(2026, 12, 7, 12), AMS)
    assert Schedule().open_at(datetime(2026, 12, 4, tzinfo=UTC), AMS)


def test_a_grant_is_active_between_its_start_and_its_end_revoke_or_revocation():
    t = datetime(2026, 12, 4, 12, tzinfo=UTC)
    later = datetime(2026, 12, 10, tzinfo=UTC)
    assert Grant("x", since=t).active_at(t)
    assert not Grant("x", since=later).active_at(t)
    assert not Grant("x", since=t, until=t).active_at(t)
    assert Grant("x", since=t, revoke_at=later).active_at(t)
    assert not Grant("x", since=t, revoke_at=later).active_at(later)
    assert not Grant("x", since=t, revoked_at=t).active_at(t)


def test_the_seeds_example_stacks_to_25_percent_without_a_group():
    found = line([spec("diamond", 10), spec("emerald", 15)])
    assert found.amount == D("25.00")
    assert [(a.slug, a.amount) for a in found.applied] == [
        ("emerald", D("15.00")),
        ("diamond", D("10.00")),
    ]


def test_the_seeds_example_in_one_exclusive_group_gives_15_percent():
    group = {"exclusive_group": "subscription_tier"}
    found = line([spec("diamond", 10, **group), spec("emerald", 15, **group)])
    assert found.amount == D("15.00")
    assert [(n.slug, n.reason) for n in found.not_applied] == [("diamond", d.EXCLUSIVE_GROUP)]
    assert "emerald" in found.not_applied[0].message


def test_a_discount_that_does_not_stack_with_discounts_stops_the_chain():
    solo = spec("solo", 20, priority=10, stack_with=frozenset({"coupon"}))
    found = line([solo, spec("other", 5)])
    assert [a.slug for a in found.applied] == ["solo"]
    assert found.not_applied[0].reason == d.DOES_NOT_STACK_WITH_DISCOUNTS
    assert "solo" in found.not_applied[0].message


def test_types_present_on_the_line_must_all_be_named():
    nosale = spec("nosale", 10, stack_with=frozenset({"discount", "coupon"}))
    found = line([nosale], present=("sale", "coupon"))
    assert found.applied == ()
    assert found.not_applied[0].reason == "does_not_stack_with_sale"


def test_scopes():
    coffee = spec("coffee", 10, scopes=(Scope("category", "coffee"),))
    package = spec("p1", 5, scopes=(Scope("package", "P1"),))
    assert [a.slug for a in line([coffee, package], category="coffee").applied] == ["coffee", "p1"]
    other = line([coffee, package], sku="P2", category="tea")
    assert {n.reason for n in other.not_applied} == {d.NOT_IN_SCOPE}


def test_percents_are_capped_at_100_and_zero_takes_its_place():
    found = line([spec("a", 70), spec("b", 60), spec("zero", 0)], amount="10.00")
    assert found.amount == D("10.00")
    assert [a.slug for a in found.applied] == ["a", "b", "zero"]
    assert found.applied[2].amount == D("0.00")


def test_a_dormant_discount():
    assert spec("x", 1, scopes=()).dormant and spec("x", 1, triggers=()).dormant
    assert not spec("x", 1).dormant


percents = st.decimals(min_value=0, max_value=100, places=2)


@given(st.lists(percents, min_size=1, max_size=6), st.integers(min_value=0, max_value=10**8))
def test_a_line_never_goes_below_zero_and_parts_add_up(values, amount_cents):
    amount = D(amount_cents) / 100
    found = line([spec(f"d{i}", p) for i, p in enumerate(values)], amount=str(amount))
    assert D(0) <= found.amount <= amount
    assert sum(a.amount for a in found.applied) == found.amount


def test_an_overnight_window_across_the_daylight_saving_changes():
    # spring: Sunday 2027-03-28 02:00 CET jumps to 03:00 CEST inside Saturday's window
    s = Schedule(weekdays=("sat",), time_from=time(22), time_until=time(2))
    assert s.open_at(datetime(2027, 3, 27, 21, 0, tzinfo=UTC), AMS)  # 22:00 CET opens
    assert s.open_at(datetime(2027, 3, 28, 0, 59, tzinfo=UTC), AMS)  # 01:59 CET
    assert not s.open_at(datetime(2027, 3, 28, 1, 0, tzinfo=UTC), AMS)  # 03:00 CEST
    # autumn: Sunday 2026-10-25 03:00 CEST falls back to 02:00 CET; 02:15 happens twice
    late = Schedule(weekdays=("sat",), time_from=time(22), time_until=time(2, 30))
    assert late.open_at(datetime(2026, 10, 25, 0, 15, tzinfo=UTC), AMS)  # 02:15 CEST
    assert late.open_at(datetime(2026, 10, 25, 1, 15, tzinfo=UTC), AMS)  # 02:15 CET
    assert not late.open_at(datetime(2026, 10, 25, 1, 45, tzinfo=UTC), AMS)  # 02:45 CET
    assert not late.open_at(datetime(2026, 10, 24, 19, 59, tzinfo=UTC), AMS)  # 21:59 CEST


def test_a_grant_survives_outside_the_schedule():
    grant = Grant("night", since=local(2026, 12, 1, 0, 0))
    closed = local(2026, 12, 4, 12, 0)
    assert grant.active_at(closed)
    assert not Schedule(weekdays=("fri",), time_from=time(22)).open_at(closed, AMS)
