"""`maintain run` for earning: birthdays on the day and tier reviews, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from loyaltyctl.services.audit import verify
from loyaltyctl.services.ledger import balance, history
from loyaltyctl.services.maintenance import maintain
from loyaltyctl.services.members import MemberFields, update_member
from loyaltyctl.store.tables import Member
from tests.services.earning_helpers import ORDER_RULE, TIERS, order, refund

TZ = ZoneInfo("Europe/Amsterdam")
BIRTHDAY_RULE = """
[[earning_rule]]
slug = "birthday"
kind = "birthday"
points = 250
"""


@pytest.fixture(autouse=True)
def _verified(db):
    yield
    result = db.run(lambda s: verify(session=s), write=False, rollback=True)
    assert result.ok, result.problems


def run_at(db, moment: str):
    return maintain(
        db=db, now=datetime.fromisoformat(moment).astimezone(UTC), operator="cron", tz=TZ
    )


def points(db, member="C-1") -> int:
    return db.run(lambda s: balance(session=s, member=member), write=False).balance


def tier(db, member="C-1"):
    return db.run(
        lambda s: s.execute(select(Member.tier).where(Member.external_id == member)).scalar_one(),
        write=False,
    )


def move_birthday(run, birthday: str) -> None:
    run(
        update_member,
        external_id="C-1",
        fields=MemberFields(birthday=birthday),
        operator="t",
    )


# --- birthdays -----------------------------------------------------------------------------


def test_birthday_points_come_on_the_day_in_the_program_time_zone_and_once(db, program, member):
    member("C-1", birthday="1990-12-02")
    program(BIRTHDAY_RULE)
    assert run_at(db, "2026-12-01T22:30:00+00:00").birthdays == 0  # 23:30 in Amsterdam
    result = run_at(db, "2026-12-01T23:30:00+00:00")  # 00:30 on December 2
    assert (result.birthdays, result.birthday_points) == (1, 250)
    assert run_at(db, "2026-12-02T12:00:00+00:00").birthdays == 0
    (entry,) = db.run(lambda s: history(session=s, member="C-1"), write=False)
    assert (entry.kind, entry.rule, entry.event_id, entry.amount) == (
        "earn",
        "birthday",
        "birthday:2026-12-02",
        250,
    )


def test_moving_the_birthday_gives_no_second_award_within_12_months(db, program, member, run):
    member("C-1", birthday="12-02")
    program(BIRTHDAY_RULE)
    assert run_at(db, "2026-12-02T10:00:00+01:00").birthdays == 1
    move_birthday(run, "12-10")
    assert run_at(db, "2026-12-10T10:00:00+01:00").birthdays == 0
    move_birthday(run, "11-30")
    assert run_at(db, "2027-11-30T10:00:00+01:00").birthdays == 0  # 12 months not over yet
    move_birthday(run, "12-10")
    assert run_at(db, "2027-12-10T10:00:00+01:00").birthdays == 1
    assert points(db) == 500


def test_a_february_29_birthday_comes_on_march_1_in_other_years(db, program, member):
    member("C-1", birthday="1996-02-29")
    program(BIRTHDAY_RULE)
    assert run_at(db, "2027-02-28T10:00:00+01:00").birthdays == 0
    assert run_at(db, "2027-03-01T10:00:00+01:00").birthdays == 1
    assert run_at(db, "2028-02-29T10:00:00+01:00").birthdays == 1  # a leap year: the day
    assert run_at(db, "2028-03-01T10:00:00+01:00").birthdays == 0
    assert run_at(db, "2029-03-01T10:00:00+01:00").birthdays == 1
    assert points(db) == 750


def test_a_birthday_missed_by_cron_is_given_up_to_a_week_late(db, program, member):
    member("C-1", birthday="06-10")
    member("C-2", birthday="06-02")
    program(BIRTHDAY_RULE)
    result = run_at(db, "2026-06-10T10:00:00+02:00")
    assert result.birthdays == 1  # C-2's birthday was 8 days ago: too late
    assert (points(db, "C-1"), points(db, "C-2")) == (250, 0)


def test_birthday_points_take_the_tier_multiplier(db, program, member):
    member("C-1", birthday="12-02", tier="silver")
    program(ORDER_RULE + BIRTHDAY_RULE + TIERS)
    assert run_at(db, "2026-12-02T10:00:00+01:00").birthday_points == 375


def test_a_dry_run_gives_nothing(db, program, member):
    member("C-1", birthday="12-02")
    program(BIRTHDAY_RULE)
    result = maintain(
        db=db,
        now=datetime(2026, 12, 2, 10, tzinfo=UTC),
        operator="cron",
        tz=TZ,
        dry_run=True,
    )
    assert result.birthdays == 1
    assert points(db) == 0
    assert run_at(db, "2026-12-02T11:00:00+01:00").birthdays == 1


# --- tier reviews --------------------------------------------------------------------------


def test_members_move_down_when_their_points_leave_the_period(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + TIERS)
    ingest(order("o1", "A", [("P", "350", 1)], when="2026-01-10T10:00:00Z"))
    assert tier(db) == "gold"
    assert run_at(db, "2026-12-01T10:00:00+00:00").tier_changes == 0
    result = run_at(db, "2027-01-10T10:00:01+00:00")  # 12 months after the order
    assert result.tier_changes == 1
    assert tier(db) is None


def test_a_tier_that_is_never_left_stays(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + TIERS.replace("multiplier = 2\n", 'multiplier = 2\ndowngrade = "never"\n'))
    ingest(order("o1", "A", [("P", "350", 1)], when="2026-01-10T10:00:00Z"))
    run_at(db, "2027-06-01T10:00:00+00:00")
    assert tier(db) == "gold"


def test_a_refund_moves_the_member_down_at_the_next_run(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + TIERS)
    ingest(order("o1", "A", [("P", "350", 1)], when="2026-11-10T10:00:00Z"))
    ingest(refund("r", "A", when="2026-11-20T10:00:00Z"))
    assert tier(db) == "gold"  # refunds do not move members down by themselves
    assert run_at(db, "2026-11-30T10:00:00+00:00").tier_changes == 1
    assert tier(db) is None


def test_new_tiers_reach_every_member_at_the_next_run(db, program, member):
    member("C-1")
    member("C-2", tier="vip")  # set by hand: stays
    program(ORDER_RULE + TIERS + '\n[[tier]]\nslug = "member"\nname = "Member"\nthreshold = 0\n')
    result = run_at(db, "2030-01-01T10:00:00+00:00")  # after the apply, on the wall clock
    assert result.tier_changes == 1
    assert (tier(db, "C-1"), tier(db, "C-2")) == ("member", "vip")
    assert run_at(db, "2030-01-01T10:05:00+00:00").tier_reviews == 0
