"""Money: parsing, the one rounding, and spreads that add up to the cent."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain.money import (
    MoneyProblem,
    money_text,
    parse_money,
    parse_percent,
    percent_of,
    round_down,
    round_half_up,
    round_up,
    spread_cents,
    spread_over_lines,
)

D = Decimal


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("10", "10.00"),
        ("10.5", "10.50"),
        ("0.01", "0.01"),
        (" 7.25 ", "7.25"),
        (25, "25.00"),
        (D("3.1"), "3.10"),
        ("0", "0.00"),
    ],
)
def test_amounts_parse_to_whole_cents(given_, expected):
    assert money_text(parse_money(given_)) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "10.001",
        "-1",
        "1e3",
        "abc",
        "",
        "1,50",
        "NaN",
        "Infinity",
        1.5,
        True,
        None,
        [],
        "+5",
        "1000000000.01",
        "9" * 5000,
    ],
)
def test_bad_amounts_are_refused_not_rounded(bad):
    with pytest.raises(MoneyProblem):
        parse_money(bad)


@pytest.mark.parametrize("good", ["10", "0.5", "100", 12, "99.99"])
def test_percentages(good):
    assert D("0") < parse_percent(good) <= 100


@pytest.mark.parametrize("bad", ["120", "0", "-5", "10.005", 10.5, "ten"])
def test_bad_percentages(bad):
    with pytest.raises(MoneyProblem):
        parse_percent(bad)


def test_zero_percent_when_allowed():
    assert parse_percent("0", allow_zero=True) == 0


def test_rounding_is_half_up_once():
    assert round_half_up(D("0.005")) == D("0.01")
    assert round_half_up(D("0.0049")) == D("0.00")
    assert round_half_up(D("2.675")) == D("2.68")  # a float would give 2.67
    assert percent_of(D("19.99"), D("15")) == D("3.00")  # 2.9985
    assert round_down(D("3.339")) == D("3.33")
    assert round_up(D("3.331")) == D("3.34")


def test_spread_gives_leftover_cents_by_largest_remainder():
    # 10.00 over 3 equal lines: 3.33 each and one cent left, to the lowest sku
    parts = spread_over_lines(D("10.00"), [(D("5"), "B", 0), (D("5"), "A", 1), (D("5"), "C", 2)])
    assert parts == [D("3.33"), D("3.34"), D("3.33")]


def test_spread_ties_go_to_the_larger_amount_first():
    # remainders equal (both .5 cent): the larger line takes the cent
    parts = spread_over_lines(D("0.03"), [(D("1.00"), "A", 0), (D("2.00"), "B", 1)])
    assert sum(parts) == D("0.03")
    assert parts == [D("0.01"), D("0.02")]


lines = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**7), st.sampled_from("ABCDEF")),
    min_size=1,
    max_size=12,
)


@given(lines, st.data())
def test_spreads_add_up_never_exceed_their_line_and_ignore_order(rows, data):
    whole = sum(w for w, _ in rows)
    total = data.draw(st.integers(min_value=0, max_value=whole)) if whole else 0
    weights = [w for w, _ in rows]
    ties = [(-w, sku, i) for i, (w, sku) in enumerate(rows)]
    parts = spread_cents(total, weights, ties)
    assert sum(parts) == total
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))
    order = list(range(len(rows)))
    random.Random(data.draw(st.integers())).shuffle(order)
    shuffled = spread_cents(total, [weights[i] for i in order], [ties[i] for i in order])
    assert {order[k]: shuffled[k] for k in range(len(rows))} == dict(enumerate(parts))


def test_nothing_spreads_over_nothing():
    assert spread_cents(0, [0, 0], [0, 1]) == [0, 0]
    with pytest.raises(ValueError):
        spread_cents(5, [0, 0], [0, 1])
