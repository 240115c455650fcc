"""`quote` rules 1–7 on carts: the seed's examples, and totals that add up to the cent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from loyaltyctl.domain import discounts as d
from loyaltyctl.domain.cart import parse_cart
from loyaltyctl.domain.coupons import CouponSpec
from loyaltyctl.domain.discounts import DiscountSpec, Grant, Schedule, Scope, Trigger
from loyaltyctl.domain.quote import FREE_PRODUCT_REPLACED, CouponInput, Held, price_cart

D = Decimal
AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
TZ = ZoneInfo("UTC")
EVERY = frozenset(d.STACK_TYPES)


def cart(items, **extra):
    lines = [{"sku": s, "price": p, "quantity": q, **(m[0] if m else {})} for s, p, q, *m in items]
    return parse_cart(json.dumps({"items": lines, **extra}))


def held(slug, percent, *, grants=None, **kw):
    kw.setdefault("scopes", (Scope("store"),))
    kw.setdefault("triggers", (Trigger("admin"),))
    kw.setdefault("stack_with", EVERY)
    spec = DiscountSpec(slug=slug, name=slug, percent=D(percent), **kw)
    return Held(spec, tuple(grants if grants is not None else [Grant(slug, since=AT)]))


def coupon(code, **terms):
    return CouponInput(code, CouponSpec(**terms).terms())


def test_only_the_last_free_product_coupon_applies_and_the_other_stays_usable():
    basket = cart([("EYELINER", "15.00", 1), ("LIPSTICK", "10.00", 1)])
    given_ = [
        coupon("****-EYE1", kind="free_product", product="EYELINER"),
        coupon("****-LIP1", kind="free_product", product="LIPSTICK"),
    ]
    quote = price_cart(basket, held=[], coupons=given_, at=AT, tz=TZ)
    eyeliner, lipstick = quote.coupons
    assert not eyeliner.applied and eyeliner.reason == FREE_PRODUCT_REPLACED
    assert lipstick.applied and lipstick.amount == D("10.00")
    assert [line.pay for line in quote.lines] == [D("15.00"), D("0.00")]
    assert quote.totals.total == D("15.00")


def test_coupons_apply_after_discounts_on_what_they_leave():
    basket = cart([("A", "30.00", 1), ("B", "10.00", 1)], shipping="4.90")
    quote = price_cart(
        basket,
        held=[held("ten", 10)],
        coupons=[
            coupon("****-FIX1", kind="fixed", amount=D("10.00")),
            coupon("****-SHIP", kind="free_shipping", max_shipping=D("15.00")),
        ],
        at=AT,
        tz=TZ,
    )
    assert quote.totals.discounts == D("4.00")
    assert quote.totals.coupons == D("10.00")  # spread 27:9 over the remainders
    assert [c for line in quote.lines for _, c in line.coupons] == [D("7.50"), D("2.50")]
    assert quote.totals.shipping_discount == D("4.90")
    assert quote.totals.total == D("26.00")
    assert quote.points_basis == D("26.00")


def test_a_held_discount_that_does_not_stack_with_coupons_yields_to_one():
    basket = cart([("A", "20.00", 1)])
    no_coupon = held("vip", 20, stack_with=frozenset({"discount"}))
    quote = price_cart(
        basket,
        held=[no_coupon],
        coupons=[coupon("****-P10", kind="percent", percent=D(10))],
        at=AT,
        tz=TZ,
    )
    assert quote.lines[0].discounts == ()
    assert quote.lines[0].not_applied[0].reason == "does_not_stack_with_coupon"
    assert quote.totals.coupons == D("2.00")


def test_a_refused_coupon_is_listed_with_its_reason_and_takes_nothing():
    basket = cart([("A", "20.00", 1)])
    quote = price_cart(
        basket,
        held=[],
        coupons=[
            coupon("****-MIN1", kind="fixed", amount=D("5"), min_purchase=D("25.00")),
            CouponInput("****-GONE", None, "unknown_coupon", "no such coupon"),
        ],
        at=AT,
        tz=TZ,
    )
    assert [(c.applied, c.reason) for c in quote.coupons] == [
        (False, "min_purchase"),
        (False, "unknown_coupon"),
    ]
    assert quote.totals.total == D("20.00")
    # no coupon applies: the line carries no coupon type, so a no-coupon discount applies
    assert price_cart(
        basket,
        held=[held("vip", 20, stack_with=frozenset())],
        coupons=quote_coupons(),
        at=AT,
        tz=TZ,
    ).totals.discounts == D("4.00")


def quote_coupons():
    return [coupon("****-MIN1", kind="fixed", amount=D("5"), min_purchase=D("25.00"))]


def test_why_held_discounts_are_not_candidates():
    later = AT + timedelta(days=1)
    quote = price_cart(
        cart([("A", "10.00", 1)]),
        held=[
            held("off", 10, enabled=False),
            held("sleepy", 10, scopes=()),
            held("ended", 10, grants=[Grant("ended", since=AT - timedelta(days=9), until=AT)]),
            held("future", 10, grants=[Grant("future", since=later)]),
            held("night", 10, schedule=Schedule(time_from=datetime(2026, 1, 1, 22).time())),
        ],
        coupons=[],
        at=AT,
        tz=TZ,
    )
    assert [(n.slug, n.reason) for n in quote.lines[0].not_applied] == [
        ("off", d.DISABLED),
        ("sleepy", d.DORMANT),
        ("ended", d.GRANT_ENDED),
        ("future", d.GRANT_ENDED),
        ("night", d.OUTSIDE_SCHEDULE),
    ]
    assert quote.totals.total == D("10.00")


money = st.integers(min_value=0, max_value=10**6).map(lambda c: str(D(c) / 100))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ABC"), money, st.integers(1, 5)), min_size=1, max_size=6),
    st.lists(st.decimals(min_value=0, max_value=100, places=2), max_size=4),
    st.lists(st.integers(min_value=1, max_value=10**5), max_size=3),
    money,
)
def test_every_quote_adds_up_and_nothing_goes_below_zero(items, percents, fixed, shipping):
    basket = cart(items, shipping=shipping)
    quote = price_cart(
        basket,
        held=[held(f"d{i}", p) for i, p in enumerate(percents)],
        coupons=[coupon(f"****-F{i}", kind="fixed", amount=D(c) / 100) for i, c in enumerate(fixed)]
        + [coupon("****-SHIP", kind="free_shipping", max_shipping=D("5.00"))],
        at=AT,
        tz=TZ,
    )
    assert all(line.pay >= 0 for line in quote.lines)
    assert sum(line.pay for line in quote.lines) == quote.points_basis >= 0
    totals = quote.totals
    assert totals.discounts == sum(a.amount for line in quote.lines for a in line.discounts)
    assert totals.coupons == sum(c for line in quote.lines for _, c in line.coupons)
    assert 0 <= totals.shipping_discount <= totals.shipping
    assert totals.total == quote.points_basis + totals.shipping - totals.shipping_discount >= 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("ABC"), money, st.integers(1, 5), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=100, places=2),
            st.integers(-2, 2),
            st.sampled_from([None, "g"]),
            st.booleans(),
        ),
        max_size=4,
    ),
    st.randoms(use_true_random=False),
)
def test_a_quote_does_not_depend_on_the_order_of_lines_or_grants(items, discounts, rnd):
    lines = [
        (s, p, q, {"sale": sale, "category": "coffee" if s == "A" else None})
        for s, p, q, sale in items
    ]
    holding = [
        held(
            f"d{i}",
            p,
            priority=prio,
            exclusive_group=group,
            stack_with=EVERY if stacks else frozenset({"coupon"}),
            scopes=(Scope("category", "coffee"),) if i % 2 else (Scope("store"),),
        )
        for i, (p, prio, group, stacks) in enumerate(discounts)
    ]

    def priced(lines, holding):
        quote = price_cart(cart(lines), held=holding, coupons=[], at=AT, tz=TZ)
        per_line = sorted(
            (
                line.sku,
                line.amount,
                line.pay,
                tuple(sorted((a.slug, a.amount) for a in line.discounts)),
            )
            for line in quote.lines
        )
        return per_line, quote.totals

    shuffled_lines, shuffled_held = list(lines), list(holding)
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_held)
    assert priced(lines, holding) == priced(shuffled_lines, shuffled_held)
