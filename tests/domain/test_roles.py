"""The staff roles' rules (domain/roles.py): the order, the cap, who a refusal names, and
the parsers of names, roles and caps (fuzzed: any text is a value or a ValueProblem)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain.roles import (
    ADMINISTRATOR,
    EVERYONE,
    MANAGER,
    MANAGERS,
    OWNER,
    OWNERS,
    least_of,
    needs,
    parse_cap,
    validate_login,
    validate_role,
    within_cap,
)
from loyaltyctl.domain.values import MAX_AMOUNT, ValueProblem


def test_who_a_refusal_names():
    assert needs(OWNERS) == "an owner"
    assert needs(MANAGERS) == "a manager (or an owner)"
    assert needs(EVERYONE) == "any staff member"
    assert least_of(MANAGERS) == MANAGER


def test_the_cap_limits_administrators_only_and_both_ways():
    assert within_cap(ADMINISTRATOR, 1000, 1000) and within_cap(ADMINISTRATOR, -1000, 1000)
    assert not within_cap(ADMINISTRATOR, 1001, 1000)
    assert not within_cap(ADMINISTRATOR, -1001, 1000)
    assert within_cap(MANAGER, 10**9, 1000) and within_cap(OWNER, 10**9, 0)
    assert not within_cap(ADMINISTRATOR, 1, 0)


@pytest.mark.parametrize(
    "name", ["ada", "Ada_2", "jane.doe", "bob@club", "_svc", "a" * 63, " ada "]
)
def test_good_logins(name):
    assert validate_login(name) == name.strip()


@pytest.mark.parametrize(
    "name",
    ["", "1ada", "a" * 64, "bob smith", "pg_monitor", "loyalty_owner", "PUBLIC", "bo'b", 'x"y'],
)
def test_bad_logins(name):
    with pytest.raises(ValueProblem):
        validate_login(name)


def test_roles_and_caps():
    assert validate_role(" Manager ") == MANAGER
    assert parse_cap("1,000") == 1000 and parse_cap("0") == 0
    for bad in ("-1", "1.5", "", "ten", str(MAX_AMOUNT + 1), "²", "١٢"):
        with pytest.raises(ValueProblem):
            parse_cap(bad)
    with pytest.raises(ValueProblem):
        validate_role("boss")


@given(st.text(max_size=80))
def test_any_text_is_a_login_or_a_value_problem(text):
    try:
        name = validate_login(text)
    except ValueProblem as problem:
        assert str(problem)
    else:
        assert name == text.strip() and 0 < len(name) <= 63
        assert '"' not in name and "'" not in name and " " not in name


@given(st.text(max_size=30))
def test_any_text_is_a_cap_role_or_a_value_problem(text):
    for parse in (parse_cap, validate_role):
        try:
            value = parse(text)
        except ValueProblem as problem:
            assert str(problem)
        else:
            assert (0 <= value <= MAX_AMOUNT) if parse is parse_cap else value in EVERYONE
