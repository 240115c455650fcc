"""The stores' mappers (domain/stores): pure, so tested directly and fuzzed. Whatever a
payload holds, a mapper gives events and notes or one PayloadProblem naming the field
at fault; it never fails any other way."""

from __future__ import annotations

import contextlib
import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyaltyctl.domain.stores import FORMATS, PayloadProblem, read_payloads
from loyaltyctl.domain.stores.base import spread_items
from loyaltyctl.domain.stores.currency import exponent, from_minor

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stores"


def samples(name: str) -> list[dict]:
    return [p.document for p in read_payloads((FIXTURES / name).open())]


SAMPLES = {
    "shopify": samples("shopify.jsonl"),
    "woocommerce": samples("woocommerce.json"),
    "stripe": samples("stripe.jsonl"),
}


@pytest.mark.parametrize(
    ("currency", "minor", "whole"),
    [
        ("USD", 2000, "20.00"),
        ("usd", 1, "0.01"),
        ("JPY", 2000, "2000"),
        ("KRW", 15, "15"),
        ("KWD", 2000, "2.000"),
        ("BHD", 1, "0.001"),
        ("CLF", 10000, "1.0000"),
        ("EUR", 0, "0.00"),
    ],
)
def test_minor_units_use_the_iso_4217_exponent(currency, minor, whole):
    assert str(from_minor(minor, currency)) == whole


def test_a_currency_must_be_three_letters():
    with pytest.raises(ValueError):
        exponent("dollars")
    assert exponent("xyz") == 2  # an unlisted code has two decimals


@given(st.integers(1, 50), st.integers(0, 10**9), st.integers(0, 3))
def test_a_line_total_spread_over_its_units_adds_up_exactly(quantity, smallest, places):
    total = Decimal(smallest).scaleb(-places)
    items = spread_items("S", quantity, total)
    assert sum(i["quantity"] for i in items) == quantity
    assert sum(Decimal(i["price"]) * i["quantity"] for i in items) == total


def test_shopify_order_maps_to_our_order_with_tax_apart():
    mapping = FORMATS["shopify"].map(SAMPLES["shopify"][1])
    order = mapping.events[0].document
    assert order["items"][1] == {"sku": "SHIRT-M", "price": "25.50", "quantity": 2}
    assert (order["discount"], order["shipping"], order["tax"]) == ("10.00", "5.00", "11.94")
    assert mapping.events[0].customer.id == "207119551"


def test_a_shopify_line_without_a_sku_is_known_by_its_id_in_order_and_refund():
    order = copy.deepcopy(SAMPLES["shopify"][1])
    refund = copy.deepcopy(SAMPLES["shopify"][3])
    order["line_items"][1]["sku"] = ""
    refund["refund_line_items"][0]["line_item"]["sku"] = None
    ordered = FORMATS["shopify"].map(order).events[0].document["items"][1]["sku"]
    refunded = FORMATS["shopify"].map(refund).events[0].document["items"][0]["sku"]
    assert ordered == refunded == "line-141249953214522974"


def test_stripe_refunds_take_the_newest_part_of_the_cumulative_amount():
    first, second = (FORMATS["stripe"].map(e).events[0].document for e in SAMPLES["stripe"][1:3])
    assert (first["gross"], second["gross"]) == ("13.50", "13.50")
    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    ("platform", "index", "change", "message"),
    [
        ("shopify", 1, lambda d: d["line_items"][1].update(price=-1), "line_items[1].price: "),
        ("shopify", 1, lambda d: d["line_items"][0].update(quantity="2"), "line_items[0].quantity"),
        ("shopify", 3, lambda d: d.update(order_id=None), "order_id is missing"),
        (
            "shopify",
            1,
            lambda d: d["shipping_lines"][0].update(price=[]),
            "shipping_lines[0].price",
        ),
        (
            "woocommerce",
            0,
            lambda d: d["line_items"][0].update(subtotal="x"),
            "line_items[0].subtotal",
        ),
        ("woocommerce", 3, lambda d: d.update(_links={}), "_links.up is missing"),
        ("stripe", 0, lambda d: d["data"]["object"].update(currency="$"), "data.object.currency"),
        (
            "stripe",
            0,
            lambda d: d["data"]["object"].update(amount_subtotal=1.5),
            "data.object.amount_subtotal",
        ),
        (
            "stripe",
            1,
            lambda d: d["data"]["object"].update(payment_intent=None),
            "data.object.payment_intent is missing",
        ),
    ],
)
def test_a_bad_field_is_named_by_its_path_in_the_payload(platform, index, change, message):
    payload = copy.deepcopy(SAMPLES[platform][index])
    change(payload)
    with pytest.raises(PayloadProblem) as caught:
        FORMATS[platform].map(payload)
    assert message in str(caught.value)


# --- fuzzing: a mapper raises PayloadProblem or maps, never anything else ----------------------

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.text(max_size=12)
    | st.sampled_from(["", "0", "10.00", "-3.5", "1e9", "paid", "refunded", "processing", "usd"])
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


# the fields the mappers read: changed more often than the others
READ_KEYS = {
    "id", "order_id", "parent_id", "financial_status", "status", "mode", "payment_status",
    "currency", "line_items", "refund_line_items", "line_item", "line_item_id", "quantity",
    "price", "sku", "subtotal", "total", "total_tax", "total_discounts", "discount_total",
    "shipping_total", "shipping_lines", "refunds", "transactions", "kind", "amount",
    "customer", "customer_id", "email", "phone", "billing", "processed_at", "created_at",
    "date_paid_gmt", "date_created_gmt", "_links", "up", "href", "type", "created", "data",
    "object", "previous_attributes", "amount_subtotal", "total_details", "amount_discount",
    "amount_refunded", "payment_intent", "items", "current_period_end", "cancel_at_period_end",
    "first_name", "last_name", "refund_shipping_lines", "order_adjustments", "lookup_key",
}  # fmt: skip


def _paths(document, prefix=()):
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            yield from _paths(value, (*prefix, index))


def _replace(document, path, value):
    if not path:
        return value
    changed = copy.deepcopy(document)
    node = changed
    try:
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    except (KeyError, IndexError, TypeError):  # an earlier change replaced the path
        return document
    return changed


@pytest.mark.parametrize("platform", sorted(FORMATS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_payloads_map_or_name_a_problem(platform, data):
    sample = data.draw(st.sampled_from(SAMPLES[platform]))
    every = list(_paths(sample))
    read = [p for p in every if p and p[-1] in READ_KEYS]
    paths = data.draw(st.sampled_from([read, every])) or every
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        sample = _replace(sample, path, data.draw(_VALUES))
    if not isinstance(sample, dict):
        return
    try:
        mapping = FORMATS[platform].map(sample)
    except PayloadProblem as problem:
        assert str(problem).strip()
        return
    for event in mapping.events:
        json.dumps(event.document)  # our own format: plain JSON


@pytest.mark.parametrize("platform", sorted(FORMATS))
@settings(max_examples=100, deadline=None)
@given(document=st.dictionaries(st.text(max_size=20), _VALUES, max_size=6))
def test_arbitrary_objects_map_or_name_a_problem(platform, document):
    with contextlib.suppress(PayloadProblem):
        FORMATS[platform].map(document)


@given(st.lists(st.text(alphabet='[]{}", :\n0a', max_size=12), max_size=6))
def test_any_file_reads_into_payloads_or_problems(lines):
    for payload in read_payloads(line + "\n" for line in lines):
        assert payload.line >= 1
        assert (payload.problem is None) != (payload.document is None) or payload.document is None
