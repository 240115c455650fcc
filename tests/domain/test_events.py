"""Reading one line of an events file (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain.events import EventProblem, OrderPaid, parse_line

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TZ = ZoneInfo("Europe/Amsterdam")
ORDER = {
    "id": "e2",
    "type": "order.paid",
    "at": "2026-11-02T10:00:00Z",
    "member": "C-1001",
    "order_id": 1001,
    "items": [
        {"sku": "P1", "price": "10.00", "quantity": 1},
        {"sku": "P2", "price": 20, "quantity": 1},
        {"sku": "P1", "price": "5.00", "quantity": 2},
    ],
    "discount": "6.00",
    "shipping": "4.00",
    "unknown": {"kept": "out"},
}


def parse(document, tz=TZ):
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_line(text, 1, tz=tz, now=NOW)


def test_an_order_is_read_exactly_with_its_items_merged_by_sku():
    event = parse(ORDER)
    assert isinstance(event, OrderPaid)
    assert (event.order_id, event.total, event.discount, event.value) == (
        "1001",
        Decimal("40.00"),
        Decimal("6.00"),
        Decimal("34.00"),
    )
    assert event.items == {"P1": (3, Decimal("20.00")), "P2": (1, Decimal("20"))}


def test_json_numbers_are_read_exactly_too():
    event = parse(json.dumps(ORDER).replace('"10.00"', "10.1"))
    assert event.items["P1"] == (3, Decimal("20.1"))


def test_the_digest_ignores_spacing_and_key_order():
    a = parse(ORDER)
    b = parse(json.dumps(dict(reversed(list(ORDER.items()))), indent=2).replace("\n", " "))
    assert a.digest == b.digest
    assert parse(dict(ORDER, discount="5.00")).digest != a.digest


def test_a_timestamp_without_an_offset_is_in_the_program_time_zone():
    event = parse(dict(ORDER, at="2026-11-02T10:00:00"))
    assert event.at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "id is missing"),
        ({"type": "order.shipped"}, "unknown event type 'order.shipped'"),
        ({"at": "yesterday"}, "at: 'yesterday' is not an ISO 8601 timestamp"),
        ({"member": "bad id!"}, "member: 'bad id!' is not a member id"),
        ({"items": []}, "items must be a non-empty array"),
        ({"items": [{"sku": "P", "price": "1.0.0"}]}, "items[0].price: '1.0.0' is not an amount"),
        ({"items": [{"sku": "P", "price": "1", "quantity": 0}]}, "items[0].quantity must be"),
        ({"items": [{"price": "1"}]}, "items[0].sku is missing"),
        ({"items": ["P1"]}, "items[0] must be an object"),
        ({"discount": "41.00"}, "discount: 41.00 is more than the items' 40.00"),
        ({"discount": -1}, "discount: '-1' is not an amount of money"),
    ],
)
def test_each_bad_field_is_one_sentence(change, message):
    with pytest.raises(EventProblem) as info:
        parse({**ORDER, **change})
    assert str(info.value).startswith(message)


def test_not_an_object_and_not_json_are_problems():
    with pytest.raises(EventProblem, match="one JSON object"):
        parse("[1]")
    with pytest.raises(EventProblem, match="not valid JSON"):
        parse('{"id": ')


def test_a_refund_names_items_or_an_amount_not_both():
    refund = {"id": "r", "type": "order.refunded", "at": "2026-11-05T10:00:00Z", "order_id": "1"}
    assert parse(refund).items is None and parse(refund).amount is None
    assert parse(dict(refund, items=[{"sku": "P1"}])).items == {"P1": 1}
    assert parse(dict(refund, amount="8.00")).amount == Decimal("8.00")
    with pytest.raises(EventProblem, match="not several"):
        parse(dict(refund, items=[{"sku": "P1"}], amount="8.00"))
    with pytest.raises(EventProblem, match="more than 0"):
        parse(dict(refund, amount="0"))


def test_the_spec_examples_parse():
    lines = [
        {
            "id": "e1",
            "type": "member.joined",
            "at": "2026-11-01T10:00:00Z",
            "member": "C-1001",
            "name": "Ada Lovelace",
        },
        {
            "id": "e4",
            "type": "review.submitted",
            "at": "2026-11-06T10:00:00Z",
            "member": "C-1001",
            "order_id": "1001",
            "product": "P2",
            "social_login": True,
            "photos": 1,
            "video": False,
        },
        {
            "id": "e5",
            "type": "social.action",
            "at": "2026-11-06T11:00:00Z",
            "member": "C-1001",
            "platform": "instagram",
            "action": "follow",
        },
        {
            "id": "e6",
            "type": "member.birthday_changed",
            "at": "2026-11-07T10:00:00Z",
            "member": "C-1001",
            "birthday": "1990-02-29",
        },
    ]
    assert [parse(line).type for line in lines] == [
        "member.joined",
        "review.submitted",
        "social.action",
        "member.birthday_changed",
    ]
