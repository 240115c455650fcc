"""`events ingest` through the earning rules, on SQLite and PostgreSQL: every figure is
checked against hand-computed values, and `audit verify` after each test."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from loyaltyctl.services.audit import verify
from loyaltyctl.services.ledger import balance, change_points, history
from loyaltyctl.store.tables import IngestedEvent, Member, PointLot
from tests.services.earning_helpers import (
    NOW,
    ORDER_RULE,
    TIERS,
    WORKED_ORDER,
    at,
    order,
    refund,
)


@pytest.fixture(autouse=True)
def _verified(db):
    yield
    result = db.run(lambda s: verify(session=s), write=False, rollback=True)
    assert result.ok, result.problems


def points(db, member="C-1"):
    found = db.run(lambda s: balance(session=s, member=member), write=False, rollback=True)
    return found.balance, found.pending


def entries(db, member="C-1"):
    return db.run(lambda s: history(session=s, member=member, limit=None), write=False)


def member_row(db, external_id="C-1"):
    return db.run(
        lambda s: s.execute(select(Member).where(Member.external_id == external_id)).scalar_one(),
        write=False,
    )


# --- refunds: the seed's worked example ----------------------------------------------------


def test_the_worked_partial_refund_reverses_8_of_24_points(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(WORKED_ORDER)
    assert (result.applied, result.points_awarded) == (1, 24)  # $30 - $6 discount
    result = ingest(refund("e3", "1001", items=[("P1", 1)]))
    assert (result.applied, result.points_reversed) == (1, 8)  # $10 of $30 -> 8 of 24
    assert points(db) == (16, 0)
    earn, reverse = sorted(entries(db), key=lambda e: e.id)
    assert (earn.kind, earn.amount, earn.rule, earn.event_id, earn.order_id) == (
        "earn",
        24,
        "order-points",
        "e2",
        "1001",
    )
    assert (reverse.kind, reverse.amount, reverse.rule, reverse.event_id, reverse.order_id) == (
        "reverse",
        -8,
        "order-points",
        "e3",
        "1001",
    )


def test_shipping_does_not_earn_and_rounding_nearest_rounds_half_up(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE.replace('"down"', '"nearest"').replace("= 1\n", "= 0.5\n", 1))
    ingest(order("o1", "A", [("P", "10.99", 1)], shipping="100.00"))  # 5.495 -> 5
    ingest(order("o2", "B", [("P", "11.00", 1)]))  # 5.5 -> 6
    assert points(db) == (11, 0)


def test_an_amount_refund_and_a_full_refund_take_back_the_rest(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    ingest(WORKED_ORDER)
    ingest(refund("r1", "1001", amount="8.00"))  # a third of the $24 paid for items
    assert points(db) == (16, 0)
    result = ingest(refund("r2", "1001"))  # the rest
    assert result.points_reversed == 16
    assert points(db) == (0, 0)
    again = ingest(refund("r3", "1001"))  # nothing left: applied, 0 points
    assert (again.applied, again.points_reversed, again.errors) == (1, 0, ())


def test_partial_refunds_add_up_to_exactly_the_points_earned(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    ingest(order("o", "X", [("A", "10.00", 1), ("B", "10.00", 1), ("C", "5.00", 1)]))  # 25
    reversed_ = [ingest(refund(f"r{sku}", "X", items=[(sku, 1)])).points_reversed for sku in "ABC"]
    assert reversed_ == [10, 10, 5]
    assert points(db) == (0, 0)


def test_a_refund_of_pending_points_takes_them_from_pending(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + "wait_days = 14\n")
    ingest(
        order("o", "1001", [("P1", "10.00", 1), ("P2", "20.00", 1)], discount="6.00", when=at(2))
    )
    assert points(db) == (0, 24)
    ingest(refund("r", "1001", items=[("P2", 1)], when=at(1)))  # $20 of $30 -> 16
    assert points(db) == (0, 8)
    lots = db.run(lambda s: s.execute(select(PointLot)).scalars().all(), write=False)
    assert [(lot.amount, lot.remaining, lot.matured) for lot in lots] == [(24, 8, False)]


def test_a_full_refund_revokes_pending_points_in_the_same_file(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + "wait_days = 14\n")
    result = ingest(
        order("o", "1001", [("P1", "10.00", 1)], when=at(2)), refund("r", "1001", when=at(1))
    )
    assert (result.applied, result.points_awarded, result.points_reversed) == (2, 10, 10)
    assert points(db) == (0, 0)


def test_spent_points_are_taken_only_down_to_zero_and_the_shortfall_recorded(
    db, program, ingest, member, run
):
    member("C-1")
    program(ORDER_RULE)
    ingest(WORKED_ORDER)
    run(change_points, member="C-1", amount=-20, reason="spent", operator="t")
    result = ingest(refund("r", "1001"))
    assert (result.points_reversed, result.shortfall) == (4, 20)
    assert points(db) == (0, 0)
    details = db.run(
        lambda s: json.loads(s.get(IngestedEvent, "r").details), write=False, rollback=True
    )
    assert details["reversed"] == [["order-points", 24, 4]] and details["shortfall"] == 20


def test_a_reversal_takes_never_expiring_points_before_expiring_ones(
    db, program, ingest, member, run
):
    member("C-1")
    program(ORDER_RULE)
    run(
        change_points,
        member="C-1",
        amount=50,
        reason="expiring gift",
        operator="t",
        expires_at=NOW + timedelta(days=300),
    )
    ingest(WORKED_ORDER)
    ingest(refund("r", "1001"))
    found = db.run(lambda s: balance(session=s, member="C-1"), write=False)
    assert (found.balance, [e.amount for e in found.expiring]) == (50, [])
    lot = db.run(lambda s: s.execute(select(PointLot)).scalar_one(), write=False)
    assert lot.remaining == 50


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (refund("r", "1001", items=[("P9", 1)]), "order 1001 has no item 'P9'"),
        (
            refund("r", "1001", items=[("P1", 2)]),
            "order 1001 has 1 of P1 and 0 refunded already; this refund names 2",
        ),
        (
            refund("r", "1001", amount="24.01"),
            "the refund is more than is left of order 1001 (24.00 of 24.00 paid for items)",
        ),
        (
            order("e9", "1001", [("P1", "1.00", 1)]),
            "order 1001 was paid already (event e2); an order is paid once",
        ),
    ],
)
def test_refunds_beyond_the_order_are_bad_lines(db, program, ingest, member, event, message):
    member("C-1")
    program(ORDER_RULE)
    ingest(WORKED_ORDER)
    result = ingest(event)
    assert [(e.line, e.message) for e in result.errors] == [(1, message)]
    assert (result.applied, result.skipped) == (0, 1)
    assert points(db) == (24, 0)


def test_a_refund_of_an_order_not_known_yet_is_held_not_a_bad_line(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(refund("r", "1001"))
    assert (result.errors, result.held, result.applied, result.skipped) == ((), 1, 0, 0)
    assert points(db) == (0, 0)
    later = ingest(WORKED_ORDER)
    assert (later.applied, later.held_applied) == (1, 1)
    assert points(db) == (0, 0)  # earned and reversed in full


def test_the_second_of_two_item_refunds_cannot_repeat_the_first(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    ingest(WORKED_ORDER, refund("r1", "1001", items=[("P1", 1)]))
    result = ingest(refund("r2", "1001", items=[("P1", 1)]))
    assert result.errors[0].message == (
        "order 1001 has 1 of P1 and 1 refunded already; this refund names 1"
    )
    assert points(db) == (16, 0)


# --- idempotency and bad lines ----------------------------------------------------------------


def test_ingesting_a_file_again_applies_nothing_new(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    events = [WORKED_ORDER, refund("e3", "1001", items=[("P1", 1)])]
    first = ingest(*events)
    again = ingest(*events, order("e4", "1002", [("X", "5.00", 1)]))
    assert (first.applied, first.replayed) == (2, 0)
    assert (again.applied, again.replayed, again.points_awarded) == (1, 2, 5)
    assert points(db) == (21, 0)


def test_an_event_id_reused_with_other_content_is_a_bad_line(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    ingest(WORKED_ORDER)
    changed = dict(WORKED_ORDER, discount="0.00")
    result = ingest(changed, order("e5", "1005", [("X", "5.00", 1)]))
    assert [(e.line, e.message) for e in result.errors] == [
        (
            1,
            "the event id 'e2' was ingested before with different content; "
            "give a changed event a new id",
        )
    ]
    assert (result.applied, result.replayed, result.skipped) == (1, 0, 1)
    assert points(db) == (29, 0)


def test_the_same_event_twice_in_one_file_counts_once(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(WORKED_ORDER, WORKED_ORDER, dict(WORKED_ORDER, discount="1.00"))
    assert (result.applied, result.replayed, result.errors_total) == (1, 1, 1)
    assert points(db) == (24, 0)


def test_malformed_lines_are_reported_by_line_and_the_rest_applied(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(
        "not json",
        order("o1", "A", [("P", "5.00", 1)]),
        "",
        '{"id": "x", "type": "order.teleported", "at": "2026-11-01T00:00:00Z"}',
        '{"id": "y", "type": "order.paid", "at": "2026-11-01T00:00:00Z", "member": "C-1"}',
        order("o2", "B", [("P", "-5.00", 1)]),
        order("o3", "C", [("P", "5", 1)], member="C-404"),
        "[1, 2]",
    )
    assert [e.line for e in result.errors] == [1, 4, 5, 6, 7, 8]
    messages = [e.message for e in result.errors]
    assert messages[0].startswith("not valid JSON")
    assert messages[1].startswith("unknown event type 'order.teleported'")
    assert messages[2] == "items is missing"
    assert messages[3].startswith("items[0].price: '-5.00' is not an amount of money")
    assert messages[4].startswith("no member has the id 'C-404'")
    assert messages[5].startswith("each line must be one JSON object")
    assert (result.events, result.applied, result.skipped) == (7, 1, 6)
    assert points(db) == (5, 0)


def test_strict_applies_nothing_when_a_line_is_bad(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(WORKED_ORDER, "{oops", strict=True)
    assert (result.rolled_back, result.applied, result.skipped, result.errors_total) == (
        True,
        0,
        2,
        1,
    )
    assert points(db) == (0, 0)
    assert ingest(WORKED_ORDER, strict=True).applied == 1  # and all good lines: applied
    assert points(db) == (24, 0)


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(WORKED_ORDER, dry_run=True)
    assert (result.dry_run, result.applied, result.points_awarded) == (True, 1, 24)
    assert points(db) == (0, 0)
    assert ingest(WORKED_ORDER).replayed == 0


def test_an_event_in_the_future_is_a_bad_line(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE)
    result = ingest(order("o", "A", [("P", "5", 1)], when=at(-3)))
    assert (
        result.errors[0].message.startswith("at: ")
        and "is in the future" in result.errors[0].message
    )


# --- joins, reviews, social actions, birthdays ---------------------------------------------------


JOIN_RULE = """
[[earning_rule]]
slug = "welcome"
kind = "join"
points = 100
"""


def joined(event_id, member_id, name="New Member", **extra):
    return {
        "id": event_id,
        "type": "member.joined",
        "at": at(10),
        "member": member_id,
        "name": name,
        **extra,
    }


def test_member_joined_adds_the_member_and_awards_the_join_rule_once_ever(db, program, ingest):
    program(JOIN_RULE)
    result = ingest(
        order("o", "A", [("P", "5", 1)], member="N-1"),  # before the join: unknown yet
        joined("j1", "N-1", email="new@example.org", birthday="05-17"),
        joined("j2", "N-1"),  # another join event of the same member
        order("o2", "B", [("P", "5", 1)], member="N-1"),
    )
    assert result.members_created == 1
    assert [e.line for e in result.errors] == [1]
    assert (result.applied, result.points_awarded, result.capped) == (3, 100, 1)
    row = member_row(db, "N-1")
    assert (row.name, row.email, row.birthday, row.birthday_md) == (
        "New Member",
        "new@example.org",
        "05-17",
        "05-17",
    )
    assert points(db, "N-1") == (100, 0)


def test_a_joined_member_who_exists_earns_the_join_rule_but_is_not_changed(
    db, program, ingest, member
):
    member("C-1", name="Ada")
    program(JOIN_RULE)
    result = ingest(joined("j", "C-1", name="Someone Else"))
    assert (result.members_created, result.points_awarded) == (0, 100)
    assert member_row(db).name == "Ada"


REVIEW_RULES = """
[[earning_rule]]
slug = "reviews"
kind = "review"
points = 50
social_login_bonus = 10
photo_bonus = 20
video_bonus = 30
max_per_order = 100
once_per = "review"

[[earning_rule]]
slug = "first-review"
kind = "review"
points = 5
once_per = "order"
"""


def review(event_id, order_id, product, **extra):
    return {
        "id": event_id,
        "type": "review.submitted",
        "at": at(5),
        "member": "C-1",
        "order_id": order_id,
        "product": product,
        **extra,
    }


def test_reviews_earn_bonuses_once_per_product_or_order_up_to_the_cap(db, program, ingest, member):
    member("C-1")
    program(REVIEW_RULES)
    result = ingest(
        review("r1", "A", "P1", social_login=True, photos=2),  # 50+10+20 = 80, first: 5
        review("r2", "A", "P1", video=True),  # the same product again: nothing
        review("r3", "A", "P2", video=True),  # 80 -> only 20 left under the cap of 100
        review("r4", "A", "P3"),  # the cap is reached: nothing
        review("r5", "B", "P1"),  # another order: 50, first of B: 5
    )
    assert result.errors == ()
    awarded = sorted((e.event_id, e.rule, e.amount) for e in entries(db))
    assert awarded == [
        ("r1", "first-review", 5),
        ("r1", "reviews", 80),
        ("r3", "reviews", 20),
        ("r5", "first-review", 5),
        ("r5", "reviews", 50),
    ]
    assert (result.applied, result.capped) == (5, 2)


SOCIAL_RULES = """
[[earning_rule]]
slug = "instagram-follow"
kind = "social"
platform = "instagram"
action = "follow"
points = 25
limit = { count = 1, per = "lifetime" }

[[earning_rule]]
slug = "facebook-share"
kind = "social"
platform = "facebook"
action = "share"
points = 10
limit = { count = 2, per = "month" }
"""


def social(event_id, platform, action, when):
    return {
        "id": event_id,
        "type": "social.action",
        "at": when,
        "member": "C-1",
        "platform": platform,
        "action": action,
    }


def test_social_actions_earn_by_platform_and_action_within_their_limits(
    db, program, ingest, member
):
    member("C-1")
    program(SOCIAL_RULES)
    result = ingest(
        social("s1", "instagram", "follow", "2026-10-03T10:00:00Z"),
        social("s2", "instagram", "follow", "2026-11-03T10:00:00Z"),  # once ever
        social("s3", "facebook", "share", "2026-10-05T10:00:00Z"),
        social("s4", "facebook", "share", "2026-10-06T10:00:00Z"),
        social("s5", "facebook", "share", "2026-10-07T10:00:00Z"),  # 2 per month
        social("s6", "facebook", "share", "2026-11-07T10:00:00Z"),  # a new month
        social("s7", "tiktok", "like", "2026-11-07T10:00:00Z"),  # no rule: 0 points
    )
    assert (result.applied, result.capped, result.points_awarded) == (7, 2, 25 + 30)
    assert sorted(e.event_id for e in entries(db)) == ["s1", "s3", "s4", "s6"]


def recorded(db, event_id):
    return db.run(
        lambda s: json.loads(s.get(IngestedEvent, event_id).details), write=False, rollback=True
    )


NOTED_RULES = """
[[earning_rule]]
slug = "a-gold-orders"
kind = "order"
points_per_unit = 2
tiers = ["gold"]

[[earning_rule]]
slug = "b-orders"
kind = "order"
points_per_unit = 1
limit = { count = 1, per = "day" }

[[earning_rule]]
slug = "c-gold-orders"
kind = "order"
points_per_unit = 3
tiers = ["gold"]

[[earning_rule]]
slug = "fb-like"
kind = "social"
platform = "facebook"
action = "like"
points = 2
limit = { count = 1, per = "day" }

[[earning_rule]]
slug = "fb-vip-like"
kind = "social"
platform = "facebook"
action = "like"
points = 5
tiers = ["gold"]
"""


def test_the_recorded_details_say_why_each_rule_gave_nothing(db, program, ingest, member):
    member("C-1")
    program(NOTED_RULES)
    day = "2026-11-03T10:00:00Z"
    result = ingest(
        order("o1", "A", [("P", "10", 1)], when=day),
        order("o2", "B", [("P", "10", 1)], when=day),
        social("s1", "facebook", "like", day),
        social("s2", "facebook", "like", day),
        social("s3", "twitter", "share", day),
    )
    assert (result.applied, result.capped, result.points_awarded) == (5, 2, 12)
    gold_only = ["a-gold-orders: only for tiers gold", "c-gold-orders: only for tiers gold"]
    assert recorded(db, "o1")["awards"] == [["b-orders", 10, None]]
    assert recorded(db, "o1")["notes"] == gold_only
    # an order's notes follow its rules' order
    assert recorded(db, "o2")["notes"] == [
        gold_only[0],
        "b-orders: limit of 1 per day reached",
        gold_only[1],
    ]
    assert (recorded(db, "o2")["awards"], recorded(db, "o2")["capped"]) == ([], True)
    # a social action's say first which rules the tier does not earn, then the rest
    assert recorded(db, "s2")["notes"] == [
        "fb-vip-like: only for tiers gold",
        "fb-like: limit of 1 per day reached",
    ]
    assert recorded(db, "s2")["capped"] is True
    assert recorded(db, "s3")["notes"] == [
        "fb-vip-like: only for tiers gold",
        "no active rule rewards a twitter share",
    ]
    assert "capped" not in recorded(db, "s3")


def test_an_order_limit_per_day_counts_days_in_the_program_time_zone(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + 'limit = { count = 1, per = "day" }\n')
    result = ingest(
        order("o1", "A", [("P", "5", 1)], when="2026-11-02T22:30:00Z"),  # 23:30 Amsterdam
        order("o2", "B", [("P", "6", 1)], when="2026-11-02T23:10:00Z"),  # 00:10 the next day
        order("o3", "C", [("P", "7", 1)], when="2026-11-03T10:00:00Z"),  # that day again
    )
    assert (result.applied, result.capped, result.points_awarded) == (3, 1, 11)


def test_a_birthday_change_updates_the_member(db, ingest, member):
    member("C-1", birthday="1990-01-01")
    result = ingest(
        {
            "id": "b",
            "type": "member.birthday_changed",
            "at": at(1),
            "member": "C-1",
            "birthday": "1990-02-29",
        }
    )
    assert result.errors == ()
    row = member_row(db)
    assert (row.birthday, row.birthday_md) == ("1990-02-29", "02-29")


def test_events_without_rules_are_applied_with_no_points(db, ingest, member):
    member("C-1")
    result = ingest(WORKED_ORDER, refund("r", "1001"), review("v", "1001", "P1"))
    assert (result.applied, result.points_awarded, result.points_reversed) == (3, 0, 0)
    assert entries(db) == []


def test_a_disabled_rule_earns_nothing_and_a_rule_limited_to_tiers_only_them(
    db, program, ingest, member
):
    member("C-1", tier="gold")
    member("C-2")
    program(ORDER_RULE + 'tiers = ["gold"]\n')
    ingest(order("o1", "A", [("P", "10", 1)]), order("o2", "B", [("P", "10", 1)], member="C-2"))
    assert (points(db, "C-1"), points(db, "C-2")) == ((10, 0), (0, 0))
    program(ORDER_RULE + "active = false\n")
    ingest(order("o3", "C", [("P", "10", 1)]))
    assert points(db, "C-1") == (10, 0)


# --- tiers ---------------------------------------------------------------------------------


def test_a_tier_reached_by_an_event_applies_from_the_next_event_on(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + TIERS)
    result = ingest(
        order("o1", "A", [("P", "120", 1)], when=at(40)),  # 120: silver after it
        order("o2", "B", [("P", "101", 1)], when=at(39)),  # 101 x 1.5 = 151 (down): 271
        order("o3", "C", [("P", "20", 1)], when=at(38)),  # 30: 301, gold after it
        order("o4", "D", [("P", "10", 1)], when=at(37)),  # gold: 3 per unit = 30
    )
    assert [e.amount for e in sorted(entries(db), key=lambda e: e.id)] == [120, 151, 30, 30]
    assert result.tier_changes == 2
    assert member_row(db).tier == "gold"


def test_a_tier_set_by_hand_stays_and_earns_its_multiplier(db, program, ingest, member):
    member("C-1", tier="silver")
    program(ORDER_RULE + TIERS)
    ingest(order("o1", "A", [("P", "500", 1)]))
    assert points(db) == (750, 0)
    row = member_row(db)
    assert (row.tier, row.tier_manual) == ("silver", True)


def test_points_older_than_the_period_do_not_count_toward_a_tier(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + TIERS)
    ingest(
        order("o1", "A", [("P", "90", 1)], when="2025-09-01T10:00:00Z"),
        order("o2", "B", [("P", "20", 1)], when="2026-11-01T10:00:00Z"),
    )
    assert member_row(db).tier is None  # 90 is more than 12 months before the second order
    ingest(order("o3", "C", [("P", "90", 1)], when="2026-11-02T10:00:00Z"))
    assert member_row(db).tier == "silver"


def test_refunded_points_do_not_count_toward_a_tier(db, program, ingest, member):
    member("C-1")
    program(ORDER_RULE + TIERS)
    ingest(order("o1", "A", [("P", "90", 1)]), refund("r", "A"))
    ingest(order("o2", "B", [("P", "20", 1)]))
    assert member_row(db).tier is None


def test_many_members_figures_tiers_and_earned_are_written_together(db, program, ingest, member):
    # more members than `update_many` sends one by one: PostgreSQL gets one UPDATE joined to
    # arrays of the balances, chain heads, earned points and tiers of all of them
    for n in range(30):
        member(f"C-{n}", tier="gold" if n == 7 else None)
    program(ORDER_RULE + TIERS)
    before = {n: member_row(db, f"C-{n}").updated_at for n in (28, 29)}
    review_by_hand = member_row(db, "C-7").tier_review_at
    result = ingest(
        *[order(f"o{n}", f"O{n}", [("P", f"{100 + n}", 1)], member=f"C-{n}") for n in range(28)],
        order("o28", "O28", [("P", "0.50", 1)], member="C-28"),  # earns nothing
    )
    assert result.applied == 29 and result.tier_changes == 27  # all but C-7 (set by hand)
    for n in range(28):
        row = member_row(db, f"C-{n}")
        earned = (100 + n) * (3 if n == 7 else 1)  # gold by hand: 3 per unit
        assert (row.tier, row.tier_manual, row.earned) == (
            "gold" if n == 7 else "silver",
            n == 7,
            earned,
        )
        assert (row.balance, row.ledger_seq) == (earned, 1)
        if n == 7:  # a tier set by hand: its review is left as it was
            assert row.tier_review_at == review_by_hand
        else:
            assert row.tier_review_at is not None
    for n in (28, 29):  # nothing earned: the rows are left as they were
        row = member_row(db, f"C-{n}")
        assert (row.tier, row.earned, row.balance, row.updated_at) == (None, 0, 0, before[n])


def test_verify_finds_earned_points_whose_event_is_gone(db, program, ingest, member, tamper):
    member("C-1")
    program(ORDER_RULE)
    ingest(WORKED_ORDER)
    tamper("DELETE FROM ingested_event WHERE id = 'e2'")
    result = db.run(lambda s: verify(session=s), write=False, rollback=True)
    assert result.problems == (
        "ledger entry 1: earned by rule 'order-points' for event 'e2', which is not recorded",
    )
    tamper(
        "INSERT INTO ingested_event (id, type, at, member_id, order_id, digest, points, details,"
        " ingested_at, operator) SELECT 'e2', 'order.paid', at, member_id, '1001', 'x', 24, '{}',"
        " at, 't' FROM ledger_entry WHERE id = 1"
    )
