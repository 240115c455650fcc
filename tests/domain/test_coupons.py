"""Coupons against carts: the seed's numbers exactly, and money that adds up."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain import coupons
from loyaltyctl.domain.cart import BadCart, parse_cart
from loyaltyctl.domain.coupons import CouponSpec, CouponState, cart_refusal, effect

D = Decimal
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def cart(*items, shipping="0.00", **extra):
    lines = [
        {"sku": sku, "price": price, "quantity": quantity, **more}
        for sku, price, quantity, *rest in items
        for more in [rest[0] if rest else {}]
    ]
    return parse_cart(json.dumps({"items": lines, "shipping": shipping, **extra}))


CONVERT = CouponSpec(kind="convert", points=100, amount=D("10.00"), min_purchase=D("25.00"))


def test_convert_100_points_is_10_off_with_a_25_minimum():
    terms = CONVERT.terms(100)
    assert (terms.amount, terms.min_purchase) == (D("10.00"), D("25.00"))


def test_convert_200_points_is_20_off_with_a_50_minimum():
    terms = CONVERT.terms(200)
    assert (terms.amount, terms.min_purchase) == (D("20.00"), D("50.00"))
    refused = cart_refusal(terms, cart(("A", "49.99", 1)))
    assert refused.code == coupons.MIN_PURCHASE and "50.00" in refused.message
    assert cart_refusal(terms, cart(("A", "25.00", 2))) is None


def test_convert_rounds_the_value_down_and_the_minimum_up():
    spec = CouponSpec(kind="convert", points=3, amount=D("1.00"), min_purchase=D("1.00"))
    terms = spec.terms(1)
    assert (terms.amount, terms.min_purchase) == (D("0.33"), D("0.34"))


def test_convert_points_bounds():
    spec = CouponSpec(kind="convert", points=100, amount=D("10"), min_points=100, max_points=500)
    assert spec.points_refusal(99) and spec.points_refusal(501)
    assert spec.points_refusal(100) is None and spec.points_refusal(500) is None


def test_lipstick_and_eyeliner_only_the_product_named_is_free():
    basket = cart(("EYELINER", "15.00", 1), ("LIPSTICK", "10.00", 1))
    lipstick = CouponSpec(kind="free_product", product="LIPSTICK").terms()
    taken = effect(lipstick, basket)
    assert taken.amount == D("10.00") and taken.lines == {1: D("10.00")}


def test_free_product_takes_the_cheapest_listed_variant_one_unit():
    spec = CouponSpec(kind="free_product", product="LIP", variants=("LIP-RED", "LIP-PINK"))
    basket = cart(("LIP-RED", "12.00", 3), ("LIP-PINK", "9.50", 2), ("OTHER", "1.00", 1))
    taken = effect(spec.terms(), basket)
    assert taken.amount == D("9.50") and taken.lines == {1: D("9.50")}


def test_free_product_missing_from_the_cart():
    refused = cart_refusal(
        CouponSpec(kind="free_product", product="LIP").terms(), cart(("X", "1", 1))
    )
    assert refused.code == coupons.PRODUCT_NOT_IN_CART


def test_fixed_coupon_spreads_over_its_collections_and_never_below_zero():
    terms = CouponSpec(kind="fixed", amount=D("10.00"), collections=("summer",)).terms()
    basket = cart(
        ("A", "3.00", 1, {"collections": ["summer"]}),
        ("B", "4.00", 1, {"collections": ["summer", "x"]}),
        ("C", "100.00", 1),
    )
    taken = effect(terms, basket)
    assert taken.amount == D("7.00")  # only 7.00 of the collection's items is there to take
    assert taken.lines == {0: D("3.00"), 1: D("4.00")}


def test_collections_the_cart_does_not_have():
    terms = CouponSpec(kind="fixed", amount=D("5"), collections=("summer",)).terms()
    assert cart_refusal(terms, cart(("A", "30", 1))).code == coupons.NO_ELIGIBLE_ITEMS


def test_percent_coupon_rounds_once_and_spreads_to_the_cent():
    terms = CouponSpec(kind="percent", percent=D("15")).terms()
    basket = cart(("A", "3.33", 1), ("B", "3.33", 1), ("C", "3.34", 1))
    taken = effect(terms, basket)
    assert taken.amount == D("1.50")
    assert sum(taken.lines.values()) == D("1.50")


def test_free_shipping_up_to_its_maximum():
    terms = CouponSpec(kind="free_shipping", max_shipping=D("15.00")).terms()
    assert effect(terms, cart(("A", "1", 1), shipping="20.00")).shipping_discount == D("15.00")
    assert effect(terms, cart(("A", "1", 1), shipping="4.90")).shipping_discount == D("4.90")


def test_expiry_is_the_end_of_the_nth_day_after_the_claim_in_the_program_time_zone():
    tz = ZoneInfo("Europe/Amsterdam")
    spec = CouponSpec(kind="fixed", amount=D("1"), expires_after_days=30)
    claimed = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # already December 5 in Amsterdam
    assert spec.expires_at(claimed, tz) == datetime(2027, 1, 4, 23, 0, tzinfo=UTC)


def test_state_refusals_in_their_order():
    active = CouponState(status="active", member="C-1", expires_at=NOW)
    assert coupons.state_refusal(active, at=NOW, member=None) == coupons.EXPIRED
    fresh = CouponState(status="active", member="C-1", expires_at=None)
    assert coupons.state_refusal(fresh, at=NOW, member="C-2") == coupons.WRONG_MEMBER
    used = CouponState(status="used", member="C-1", expires_at=None, order_id="O-1")
    assert coupons.state_refusal(used, at=NOW, member="C-1", order_id="O-2") == coupons.USED
    assert coupons.state_refusal(used, at=NOW, member="C-1", order_id="O-1") is None
    gone = CouponState(status="cancelled", member="C-1", expires_at=None)
    assert coupons.state_refusal(gone, at=NOW, member="C-1") == coupons.CANCELLED


def test_a_bad_cart_lists_every_field_with_its_position():
    text = (
        '{"items": [\n {"sku": "A", "price": 1.005, "quantity": 0},\n {"price": "2"}\n],\n'
        ' "shipping": -1}'
    )
    with pytest.raises(BadCart) as caught:
        parse_cart(text)
    found = {(p.field, p.line) for p in caught.value.problems}
    assert found == {
        ("items[0].price", 2),
        ("items[0].quantity", 2),
        ("items[1].sku", 3),
        ("items[1].quantity", 3),
        ("shipping", 5),
    }


@pytest.mark.parametrize(
    "text", ["", "[", "{", '{"items": [}', "1" * 5000, "[" * 100000, '{"items": NaN}', "null"]
)
def test_no_input_breaks_the_cart_reader(text):
    with pytest.raises(BadCart):
        parse_cart(text)


def test_a_cart_with_defaults_and_unknown_keys():
    parsed = parse_cart('{"items": [{"sku": "A", "price": "2.50", "quantity": 2, "x": 1}], "y": 2}')
    assert parsed.subtotal == D("5.00") and parsed.shipping == D("0.00")
    assert parsed.lines[0].collections == () and not parsed.lines[0].sale
