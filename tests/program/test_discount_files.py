"""`[[discount]]` tables read into DiscountSpecs, every problem with its position.

The reader is registered here as a kind of table; the apply kind that stores discounts
registers it for real (READERS in program/files.py)."""

# ruff: noqa: E501 - the spec's example, verbatim

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain.discounts import Scope, Trigger
from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.program import files
from loyaltyctl.program.discounts import DiscountReader

AMS = ZoneInfo("Europe/Amsterdam")

SPEC_EXAMPLE = """
[[discount]]
slug = "diamond-10"
name = "-10% for Diamond subscribers"
description = "internal note"
percent = 10
enabled = true
schedule = { from = 2026-12-01, until = 2027-03-31, weekdays = ["fri", "sat"], time_from = "22:00", time_until = "02:00" }
scopes = [{ type = "store" }, { type = "category", category = "coffee" }, { type = "package", package = "P1" }]
triggers = [
  { type = "purchase", package = "DIAMOND-1M", duration = "30 days" },
  { type = "subscription", package = "DIAMOND", duration = "while_active" },
  { type = "admin" },
]
stack_with = ["coupon", "sale", "giftcard", "cumulative", "discount"]
priority = 10
exclusive_group = "subscription_tier"
"""


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    if DiscountReader not in files.READERS:
        monkeypatch.setattr(files, "READERS", (*files.READERS, DiscountReader))


def read(tmp_path: Path, text: str):
    path = tmp_path / "d.toml"
    path.write_text(text, encoding="utf-8")
    return files.read_program_files([path], env={}, tz=AMS).of("discount")


def problems(tmp_path: Path, text: str) -> list[tuple]:
    with pytest.raises(BadInputFile) as caught:
        read(tmp_path, text)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_the_specs_example_reads_whole(tmp_path):
    (spec,) = read(tmp_path, SPEC_EXAMPLE)
    assert spec.slug == "diamond-10" and spec.percent == Decimal(10)
    assert spec.schedule.start == date(2026, 12, 1) and spec.schedule.end == date(2027, 3, 31)
    assert spec.schedule.weekdays == ("fri", "sat")
    assert (spec.schedule.time_from, spec.schedule.time_until) == (time(22), time(2))
    assert spec.scopes == (Scope("store"), Scope("category", "coffee"), Scope("package", "P1"))
    assert spec.triggers == (
        Trigger("purchase", "DIAMOND-1M", "30 days"),
        Trigger("subscription", "DIAMOND", "while_active"),
        Trigger("admin"),
    )
    assert spec.stack_with == frozenset({"coupon", "sale", "giftcard", "cumulative", "discount"})
    assert (spec.priority, spec.exclusive_group, spec.dormant) == (10, "subscription_tier", False)


def test_a_minimal_discount_is_dormant_and_zero_percent_is_allowed(tmp_path):
    (spec,) = read(tmp_path, '[[discount]]\nslug = "track"\nname = "Tracking"\npercent = 0\n')
    assert spec.percent == 0 and spec.dormant and spec.schedule.always


def test_every_problem_at_once_with_its_line(tmp_path):
    found = problems(
        tmp_path,
        """[[discount]]
slug = "bad"
name = "Bad"
percent = 120
schedule = { from = 2027-01-02, until = 2027-01-01, weekdays = ["funday"], time_from = "25:00" }
scopes = [{ type = "category" }, { type = "shelf" }]
triggers = [{ type = "purchase", package = "P", duration = "while_active" }, { type = "admin", package = "X" }]
stack_with = ["coupons"]
priority = 1.5
exclusive_group = "Has Space"
colour = "red"
""",
    )
    fields = [(line, field) for line, field, _ in found]
    assert fields == [
        (4, "percent"),
        (5, "schedule.until"),
        (5, "schedule.weekdays"),
        (5, "schedule.time_from"),
        (6, "scopes.category"),
        (6, "scopes.type"),
        (7, "triggers.duration"),
        (7, "triggers.package"),
        (8, "stack_with"),
        (9, "priority"),
        (10, "exclusive_group"),
        (11, "colour"),
    ]
    messages = {field: message for _, field, message in found}
    assert 'did you mean "coupon"' in messages["stack_with"]
    assert '"while_active" is not a duration of a purchase trigger' in messages["triggers.duration"]
