"""Refund shares and the points a refund takes back (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain import events, refunds
from loyaltyctl.domain.events import EventProblem

# the seed's worked order: $10 + $20 of items, $6 off, so $24 paid for items
TOTAL, VALUE = Fraction(30), Fraction(24)
ITEMS = {"P1": (1, "10.00"), "P2": (1, "20.00")}


def refund(*, items=None, amount=None) -> events.OrderRefunded:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    return events.OrderRefunded(
        1, "r", events.ORDER_REFUNDED, at, "d", None, order_id="1001", items=items, amount=amount
    )


def share(event, refunded=None, *, total=TOTAL, value=VALUE, items=ITEMS) -> Fraction:
    return refunds.refund_share(
        event, total=total, value=value, items=items, refunded=refunded or refunds.Refunded()
    )


@given(
    points=st.integers(min_value=0, max_value=10_000),
    shares=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=8),
)
def test_partial_refunds_never_take_more_than_earned_and_the_whole_takes_all(points, shares):
    total = sum(shares)
    taken, cumulative = 0, Fraction(0)
    for part in shares:
        cumulative += Fraction(part, total)
        due = refunds.reversal_due(points, cumulative)
        assert due >= taken  # never gives points back
        taken = due
    assert taken == points


def test_the_seed_example_reverses_a_third():
    assert refunds.reversal_due(24, Fraction(10, 30)) == 8


def test_an_item_refund_returns_the_items_share_of_the_value_discount_included():
    assert share(refund(items={"P1": 1})) == Fraction(1, 3)  # $10 of $30: 1/3 of the $24
    two = {"P": (2, "30.00")}  # two of one item, $30 for both
    assert share(refund(items={"P": 1}), items=two, total=Fraction(30)) == Fraction(1, 2)


def test_an_amount_refund_is_a_share_of_what_was_paid_for_items():
    assert share(refund(amount=Decimal("8.00"))) == Fraction(1, 3)


def test_a_full_refund_returns_what_is_left():
    earlier = refunds.Refunded(share=Fraction(1, 3), items={"P1": 1})
    assert share(refund(), earlier) == Fraction(2, 3)
    assert share(refund(), refunds.Refunded(share=Fraction(1))) == 0  # nothing left


def test_a_free_order_is_refunded_whole():
    free = refund(items={"P1": 1})
    assert share(free, total=Fraction(0), value=Fraction(0)) == 1
    assert share(refund(amount=Decimal("1.00")), total=Fraction(0), value=Fraction(0)) == 1


@pytest.mark.parametrize(
    ("event", "refunded", "message"),
    [
        (refund(items={"P9": 1}), refunds.Refunded(), "order 1001 has no item 'P9'"),
        (
            refund(items={"P1": 1}),
            refunds.Refunded(share=Fraction(1, 3), items={"P1": 1}),
            "order 1001 has 1 of P1 and 1 refunded already; this refund names 1",
        ),
        (
            refund(amount=Decimal("24.01")),
            refunds.Refunded(),
            "the refund is more than is left of order 1001 (24.00 of 24.00 paid for items)",
        ),
        (
            refund(amount=Decimal("20.00")),
            refunds.Refunded(share=Fraction(1, 3)),
            "the refund is more than is left of order 1001 (16.00 of 24.00 paid for items)",
        ),
    ],
)
def test_a_refund_beyond_the_order_is_a_problem(event, refunded, message):
    with pytest.raises(EventProblem) as raised:
        share(event, refunded)
    assert str(raised.value) == message


def test_reversals_take_the_cumulative_share_less_what_was_taken():
    awards = [["order-points", 24, 7], ["bonus", 3, None]]
    first = refunds.reversals(awards, Fraction(1, 3), refunds.Refunded())
    assert first == [("order-points", 8, 7), ("bonus", 1, None)]
    earlier = refunds.Refunded(share=Fraction(1, 3), due={"order-points": 8, "bonus": 1})
    rest = refunds.reversals(awards, Fraction(1), earlier)
    assert rest == [("order-points", 16, 7), ("bonus", 2, None)]
    done = refunds.Refunded(share=Fraction(1), due={"order-points": 24, "bonus": 3})
    assert refunds.reversals(awards, Fraction(1), done) == []


@given(
    lines=st.lists(
        st.tuples(st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=9999)),
        min_size=1,
        max_size=5,
    ),
    points=st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=3),
    data=st.data(),
)
def test_refunding_every_item_one_by_one_takes_back_exactly_the_awards(lines, points, data):
    items = {
        f"S{n}": (qty, str(Decimal(cents) / 100 * qty)) for n, (qty, cents) in enumerate(lines)
    }
    total = sum((Fraction(Decimal(value)) for _qty, value in items.values()), Fraction(0))
    awards = [[f"rule-{n}", p, None] for n, p in enumerate(points)]
    units = [sku for sku, (qty, _value) in items.items() for _ in range(qty)]
    done = refunds.Refunded()
    for sku in data.draw(st.permutations(units)):
        part = share(refund(items={sku: 1}), done, total=total, value=total, items=items)
        due_now = refunds.reversals(awards, done.share + part, done)
        assert all(due > 0 for _slug, due, _lot in due_now)
        done.share += part
        done.items[sku] = done.items.get(sku, 0) + 1
        for slug, due, _lot in due_now:
            done.due[slug] = done.due.get(slug, 0) + due
    assert done.share == 1
    assert all(done.due.get(slug, 0) == p for slug, p, _lot in awards)
