"""The compiled codec and the standard library give the same canonical bytes, so every
chain hash and event digest stored before orjson was used still verifies and replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain import canonical
from loyaltyctl.domain.chain import GENESIS, LEDGER_FIELDS, ledger_hash

pytestmark = pytest.mark.skipif(canonical.orjson is None, reason="orjson is a dependency")

text = st.text()  # every code point, lone surrogates and control characters included
scalars = st.none() | st.booleans() | st.integers() | text
# what an event line decodes to: decimals as Decimal, so no float but NaN and Infinity
leaves = scalars | st.decimals(allow_nan=False, places=2)
documents = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
)


def outcome(encode, value):
    """The bytes, or the error (lone surrogates cannot be UTF-8 either way)."""
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:
        return type(exc)


@given(st.lists(scalars | st.floats() | st.lists(scalars, max_size=3), max_size=20))
def test_arrays_are_the_same_bytes_either_way(values):
    assert outcome(canonical.array_bytes, values) == outcome(canonical.array_reference, values)


@given(st.dictionaries(text, documents, max_size=6))
def test_documents_are_the_same_bytes_either_way(document):
    fast = outcome(canonical.sorted_bytes, document)
    assert fast == outcome(canonical.sorted_reference, document)
    with_nan = {**document, "x": [float("nan"), float("inf"), 1e16]}
    fast = outcome(lambda d: canonical.sorted_bytes(d, plain=False), with_nan)
    assert fast == outcome(canonical.sorted_reference, with_nan)


def test_each_kind_of_value_the_fast_path_refuses_goes_the_reference_way():
    for value in (2**70, 1e16, float("nan"), {"a": 1.5}):
        assert canonical.array_bytes([value]) == canonical.array_reference([value])
    with pytest.raises(UnicodeEncodeError):  # as before: a lone surrogate is not UTF-8
        canonical.array_bytes(["\ud800"])
    assert canonical.array_bytes([1e16]) == b"[1e+16]"  # Python's float text, not orjson's
    doc = {"b": Decimal("1.50"), "a": 2**70, "c": datetime(2026, 1, 2, tzinfo=UTC), 3: "x"}
    assert canonical.sorted_bytes({"n": float("nan")}, plain=False) == b'{"n":NaN}'
    with pytest.raises(TypeError):  # int and str keys do not sort: refused both ways
        canonical.sorted_reference(doc)
    with pytest.raises(TypeError):
        canonical.sorted_bytes(doc)


def test_a_ledger_hash_is_what_it_was_before_orjson():
    """Pinned: computed with the standard library's encoder before orjson was used."""
    row = dict.fromkeys(LEDGER_FIELDS)
    row.update(
        member_id=7,
        seq=3,
        at=datetime(2026, 11, 5, 9, 30, 15, 123456, tzinfo=UTC),
        kind="credit",
        amount=120,
        pending_amount=0,
        balance_after=420,
        reason="Café — bonus ✓",
        operator="tester",
        idem_key="k-1",
    )
    assert ledger_hash(GENESIS, row) == PINNED


PINNED = "7c96f802c835a0949f633ed11bacd8b2c5cef3472eede0409f5d10fcc5a1cae8"


@pytest.mark.parametrize("extra", ["", ', "note": NaN', ', "note": 12.5e3', ', "note": "Café ✓"'])
def test_an_event_digest_is_the_reference_digest(extra):
    import hashlib
    import json
    from zoneinfo import ZoneInfo

    from loyaltyctl.domain.events import parse_line

    line = (
        '{"id": "e-1", "type": "order.paid", "at": "2026-11-02T10:00:00Z", "member": "C-1", '
        '"order_id": "1001", "currency": "USD", "items": [{"sku": "P1", "price": "10.00", '
        f'"quantity": 1}}], "shipping": 4.5{extra}}}'
    )
    from loyaltyctl.domain.events import legacy_digest, read_content

    event = parse_line(line, 1, tz=ZoneInfo("UTC"), now=datetime(2026, 12, 1, tzinfo=UTC))
    content = read_content(event)
    assert content["shipping"] == "4.5" and "note" not in content  # what is read, as read
    assert event.digest == hashlib.sha256(canonical.sorted_reference(content)).hexdigest()
    # events ingested before schema 0010 were digested whole: that digest is unchanged too
    document = json.loads(line, parse_float=Decimal)
    assert legacy_digest(line) == hashlib.sha256(canonical.sorted_reference(document)).hexdigest()


def test_stored_details_escape_del_as_the_standard_library_does():
    """orjson writes DEL (0x7f) as it is; the standard library escapes it (found by the
    property test below)."""
    assert canonical.sorted_ascii_text({"\x7f": None, "a": "x\x7fy"}) == (
        '{"a":"x\\u007fy","\\u007f":null}'
    )


@given(st.dictionaries(text, st.recursive(scalars, lambda i: st.lists(i, max_size=3)), max_size=6))
def test_stored_details_read_back_the_same(document):
    import json

    assert outcome(canonical.sorted_ascii_text, document) == outcome(
        json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode, document
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30,
)


@given(st.dictionaries(text, json_values, max_size=6), st.booleans())
def test_an_event_line_orjson_reads_is_read_as_the_reference_reads_it(document, ascii):
    # parse_line takes orjson's reading only when it has no float (a decimal, an exponent,
    # NaN, a big integer: the reference reads those as Decimal, or refuses them)
    import json

    from loyaltyctl.domain import events

    line = json.dumps(document, ensure_ascii=ascii)
    fast = canonical.loads_plain(line)
    if type(fast) is dict and events._plain_shape(fast, floats=False):
        assert repr(fast) == repr(events._DECODER.decode(line))
    elif fast is not None and not any(isinstance(v, float) for v in _leaves(fast)):
        # refused for its shape only: nested too deep or (never from orjson) long digits
        assert not events._plain_shape(fast, floats=True)


def _leaves(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_orjson_refuses_what_the_reference_reads_its_own_way():
    for line in ('{"a": NaN}', '{"a": "\\ud800"}', '{"a": 1', '"\udc80"'):
        assert canonical.loads_plain(line) is None
    assert isinstance(canonical.loads_plain('{"a": 123456789012345678901234567890}')["a"], float)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, ZoneInfo("Europe/Amsterdam"), timezone(timedelta(hours=-3))]
        ),
    )
)
def test_a_timestamp_is_hashed_and_stored_as_its_utc_text(moment):
    # the chain's text and SQLite's of an aware timestamp: what astimezone(UTC) gives, the
    # offset left off, microseconds always (the short cut taken for UTC gives the same)
    from loyaltyctl.domain.chain import _plain
    from loyaltyctl.store.driver import _sqlite_stamp

    utc = moment.astimezone(UTC).replace(tzinfo=None)
    assert _plain(moment) == utc.isoformat(timespec="microseconds")
    assert _sqlite_stamp(moment) == utc.isoformat(" ", "microseconds")
