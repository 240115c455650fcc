"""Reading one line of an events file (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the usual order's fast reading is the careful reading ----------------------------------

USUAL = {
    "id": "e-1",
    "type": "order.paid",
    "at": "2026-11-02T10:00:00Z",
    "member": "C-1001",
    "order_id": "1001",
    "currency": "USD",
    "items": [{"sku": "P1", "price": "10.00", "quantity": 2}, {"sku": "P2", "price": "3.5"}],
    "discount": "1.00",
    "shipping": "4.90",
}
_GONE = object()
_TEXTS = [_GONE, None, "", "  ", " x ", "a\x01b", "x" * 101, "é", 12, True, 1.5, ["x"]]
_MONEYS = [
    _GONE,
    None,
    "0",
    "0.00",
    " 5.00",
    "5.1234567",
    "-1",
    "9999999999999",
    "1e3",
    5,
    True,
    2.5,
    "25.00",
    "40",
]
_CHANGES = {
    "id": _TEXTS + ["x" * 201],
    "type": [_GONE, " order.paid", "order.refunded", "member.joined"],
    "at": [_GONE, "2026-11-02T10:00:00", " 2026-11-02 10:00+01:00", "2030-01-01", "yesterday", 5],
    "member": _TEXTS + ["-x", "C" * 65, " C-1 ", 1001],
    "order_id": _TEXTS,
    "currency": _TEXTS + ["TOOLONGCUR", "usd"],
    "items": [
        _GONE,
        None,
        "P1",
        [],
        {"sku": "P1"},
        [{"sku": "P1"}],
        [{"sku": "P1", "price": 2.5}],
        [{"sku": " P1", "price": "1"}],
        [{"sku": "P1", "price": "1", "quantity": 0}],
        [{"sku": "P1", "price": "1", "quantity": True}],
        [{"sku": "P1", "price": "1", "note": [1]}],
        [{"sku": "P1", "price": "1", "n": 1.5}],
        [{"sku": "P1", "price": "1", "n": "x"}],
        [{"sku": "P1", "price": "1", "n": json.loads("[" * 40 + "]" * 40)}],
        ["P1"],
    ],
    "discount": _MONEYS,
    "shipping": _MONEYS,
    "tax": _MONEYS,
    "coupons": [None, "CODE", ["CODE"], [], 1],
    "discounts": [None, "d", ["d"], []],
    "extra": [None, 1.5, {"deep": [1]}, "text", [], 10**30],
}
_changes = st.lists(
    st.sampled_from([(key, value) for key, values in _CHANGES.items() for value in values]),
    max_size=2,
)


def _outcome(read):
    try:
        event = read()
    except EventProblem as exc:
        return ("problem", type(exc).__name__, str(exc), exc.data)
    event.source = None
    return ("event", repr(event))


@given(_changes)
@settings(max_examples=600, deadline=None)
def test_an_order_line_is_read_as_the_careful_reading_reads_it(changes):
    from loyaltyctl.domain import events

    document = dict(USUAL)
    for key, value in changes:
        if value is _GONE:
            document.pop(key, None)
        else:
            document[key] = value
    line = json.dumps(document)
    assert _outcome(lambda: parse(line)) == _outcome(
        lambda: events.parse_document(events._DECODER.decode(line), 1, tz=TZ, now=NOW)
    )


def test_the_usual_order_is_read_the_fast_way_and_its_content_is_the_generic_one():
    from loyaltyctl.domain import events

    usual = dict(ORDER, order_id="1001", items=[{"sku": "P1", "price": "10.00", "quantity": 2}])
    del usual["unknown"]
    event = events._usual_order(json.loads(json.dumps(usual)), 1, tz=TZ, now=NOW)
    assert event is not None
    event.source = parse(usual).source
    assert event == parse(usual)
    for changed in (event, OrderPaid(**{**_fields(event), "discounts": ("d",), "tax": Decimal(1)})):
        assert events.order_content(changed) == events.generic_content(changed)
    assert events._usual_order(ORDER, 1, tz=TZ, now=NOW) is None  # a number for an id


def _fields(event):
    from dataclasses import fields

    return {f.name: getattr(event, f.name) for f in fields(event)}


@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [Decimal("NaN"), Decimal("-0"), Decimal("0.00"), Decimal("2E+1"), Decimal("1E-7")]
    )
)
def test_an_amount_is_written_as_normalized(value):
    from loyaltyctl.domain.events import _decimal_text

    assert _decimal_text(value) == format(value.normalize(), "f")
