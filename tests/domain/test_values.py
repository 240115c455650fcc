from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain import values
from loyaltyctl.domain.chain import GENESIS, ledger_content, record_hash


@given(st.integers(min_value=1, max_value=values.MAX_AMOUNT))
def test_every_valid_amount_parses(n):
    assert values.parse_amount(str(n)) == n


@pytest.mark.parametrize("text", ["-5", "0", "1.5", "abc", "", "1e3", "+5", "1000000001", " "])
def test_bad_amounts_are_refused(text):
    with pytest.raises(values.ValueProblem):
        values.parse_amount(text)


@given(st.integers(min_value=-values.MAX_AMOUNT, max_value=values.MAX_AMOUNT).filter(bool))
def test_signed_amounts_round_trip(n):
    assert values.parse_signed_amount(str(n)) == n


def test_durations():
    assert values.parse_duration("90d") == timedelta(days=90)
    assert values.parse_duration("2w") == timedelta(weeks=2)
    assert values.parse_duration("12h") == timedelta(hours=12)
    for bad in ("0d", "90", "d", "3y", "-1d"):
        with pytest.raises(values.ValueProblem):
            values.parse_duration(bad)


def test_a_date_closing_a_window_is_the_end_of_that_day_in_the_program_zone():
    berlin = ZoneInfo("Europe/Berlin")
    end = values.parse_moment("2026-12-31", berlin, end_of_day=True)
    assert end == datetime(2026, 12, 31, 22, 59, 59, 999999, tzinfo=UTC)
    start = values.parse_moment("2026-12-31", berlin, end_of_day=False)
    assert start == datetime(2026, 12, 30, 23, 0, tzinfo=UTC)
    naive = values.parse_moment("2026-07-01T12:00", berlin, end_of_day=False)
    assert naive == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert values.parse_moment("2026-07-01T12:00Z", berlin, end_of_day=False).hour == 12


def test_birthdays_with_or_without_year():
    assert values.validate_birthday("1990-02-28") == "1990-02-28"
    assert values.validate_birthday("02-29") == "02-29"
    for bad in ("1990-02-30", "13-01", "1990/01/01", "tomorrow"):
        with pytest.raises(values.ValueProblem):
            values.validate_birthday(bad)


def test_phone_digits_ignore_formatting():
    assert values.phone_digits("+44 (20) 7946-0321") == "442079460321"
    with pytest.raises(values.ValueProblem):
        values.validate_phone("call me")


def test_the_hash_covers_every_field_and_the_previous_hash():
    row = {name: None for name in ("member_id", "seq", "kind", "amount", "reason")}
    row.update(
        member_id=1,
        seq=1,
        kind="credit",
        amount=5,
        reason="r",
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    base = record_hash(GENESIS, ledger_content(row))
    assert base == record_hash(GENESIS, ledger_content(dict(row)))
    assert base != record_hash("1" * 64, ledger_content(row))
    for field, other in (("amount", 6), ("reason", "s"), ("seq", 2), ("member_id", 2)):
        assert base != record_hash(GENESIS, ledger_content({**row, field: other}))


def test_the_fast_ledger_hash_equals_the_generic_one():
    from loyaltyctl.domain.chain import ledger_hash

    row = {
        "member_id": 7,
        "seq": 3,
        "at": datetime(2026, 1, 1, 12, 30, 1, 5, tzinfo=UTC),
        "kind": "credit",
        "amount": 10,
        "pending_amount": 0,
        "balance_after": 10,
        "reason": 'Ünïcode \\ " reason',
        "operator": "o",
        "idem_key": "k",
        "expires_at": None,
        "pending_until": datetime(2027, 1, 1, tzinfo=UTC),
        "rule": None,
        "event_id": None,
        "order_id": None,
        "claim_id": None,
        "id": 99,
        "hash": "x",
    }
    assert ledger_hash("a" * 64, row) == record_hash("a" * 64, ledger_content(row))
