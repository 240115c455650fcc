"""What events do to coupons, on SQLite and PostgreSQL: an order.paid's "coupons" are
recorded as used on its order (a bad one makes the line bad and the event changes
nothing); the refund that completes an order and a chargeback give them back, a partial
refund does not. `audit verify` recounts coupon states against claims and uses."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import cancel_claim
from loyaltyctl.services.coupons.checkout import show_coupon, use_coupon
from loyaltyctl.services.earning.ingest import ingest_events
from loyaltyctl.services.ledger import balance
from loyaltyctl.services.stats import overview
from loyaltyctl.store import coupons as coupon_store
from tests.coupon_helpers import apply_coupon_perks, issue
from tests.services.earning_helpers import NOW, ORDER_RULE, TZ, at, order, refund
from tests.services.test_coupons import cart


@pytest.fixture
def perks(db, tmp_path, member, keys, program):
    member("C-1")
    member("C-2")
    apply_coupon_perks(db, tmp_path)
    program(ORDER_RULE)
    return keys


@pytest.fixture
def ingest(db, tmp_path, perks):
    counter = iter(range(1000))

    def run(*events, strict=False):
        path = tmp_path / f"events-{next(counter)}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        return ingest_events(
            database=db,
            path=path,
            tz=TZ,
            operator="tester",
            strict=strict,
            now=NOW,
            keys=lambda: perks,
        )

    return run


def verified(db):
    return db.run(lambda s: verify(session=s), write=False, rollback=True)


def state(db, keys, coupon, now=NOW):
    record = db.run(
        lambda s: show_coupon(session=s, keys=keys, code=coupon.code, now=now), write=False
    )
    return record.status, record.order_id


def points(db, member="C-1"):
    return db.run(lambda s: balance(session=s, member=member), write=False).balance


def event_details(db, event_id):
    sql = text("SELECT details, digest FROM ingested_event WHERE id = :id")
    return db.run(lambda s: s.execute(sql, {"id": event_id}).one(), write=False)


def paid(event_id, order_id, *coupons, member="C-1", when=None, items=None):
    return order(
        event_id,
        order_id,
        items or [("P1", "10.00", 1), ("P2", "20.00", 1)],
        member=member,
        discount="6.00",
        when=when,
        coupons=[c.code for c in coupons],
    )


# --- order.paid -----------------------------------------------------------------------------


def test_an_order_records_its_coupons_as_used(db, perks, ingest):
    a, b = issue(db, perks, perk="ten-off"), issue(db, perks, perk="free-shipping")
    result = ingest(paid("e1", "1001", a, b))
    assert (result.applied, result.points_awarded, result.errors) == (1, 24, ())
    assert state(db, perks, a) == ("used", "1001") == state(db, perks, b)
    details, digest = event_details(db, "e1")
    assert json.loads(details)["coupons"] == [a.masked, b.masked]
    for secret in (a.code, b.code):
        assert secret not in details
    assert verified(db).ok


def test_codes_are_typed_loosely_and_repeats_count_once(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    event = paid("e1", "1001")
    event["coupons"] = [a.code.lower(), a.code.replace("-", " ")]
    assert ingest(event).applied == 1
    assert state(db, perks, a) == ("used", "1001")
    assert json.loads(event_details(db, "e1")[0])["coupons"] == [a.masked]


def test_an_order_uses_a_coupon_the_checkout_recorded_for_it(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    db.run(
        lambda s: use_coupon(
            session=s,
            keys=perks,
            code=a.code,
            order_id="1001",
            cart=cart(("X", "30", 1)),
            operator="till",
        )
    )
    assert ingest(paid("e1", "1001", a)).applied == 1
    assert state(db, perks, a) == ("used", "1001")
    assert verified(db).ok


@pytest.mark.parametrize(
    "problem", ["unknown", "cancelled", "other member", "other order", "expired"]
)
def test_a_coupon_that_cannot_be_used_makes_the_line_bad(db, perks, ingest, problem):
    good = issue(db, perks, perk="free-shipping")
    bad = issue(db, perks, perk="ten-off", expires_at=NOW - timedelta(days=40))
    code = bad.code
    if problem == "unknown":
        code = "ABCD-EFGH-JKMN"
    elif problem == "cancelled":
        db.run(lambda s: cancel_claim(session=s, claim_id=bad.claim_id, reason="x", operator="t"))
        db.run(lambda s: coupon_store.cancel_coupon(s, bad.claim_id, utcnow()))
    elif problem == "other member":
        bad = issue(db, perks, perk="ten-off", member="C-2")
        code = bad.code
    elif problem == "other order":
        bad = issue(db, perks, perk="ten-off")
        code = bad.code
        assert ingest(paid("e0", "1000", bad, items=[("P9", "50.00", 1)])).applied == 1
    event = paid("e1", "1001", good)
    event["coupons"].append(code)
    before = points(db)
    result = ingest(event)
    assert result.applied == 0 and len(result.errors) == 1
    message = result.errors[0].message
    assert message.startswith("coupons[1]: ") and code not in message
    expected = {
        "unknown": "no coupon has this code",
        "cancelled": "was cancelled",
        "other member": "issued to another member, not C-1",
        "other order": "was used on order 1000",
        "expired": "expired at",
    }[problem]
    assert expected in message
    assert state(db, perks, good) == ("active", None)  # the event changed nothing
    assert points(db) == before
    assert verified(db).ok


def test_one_coupon_on_two_orders_of_one_file_is_used_by_the_first(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    result = ingest(paid("e1", "1001", a), paid("e2", "1002", a))
    assert result.applied == 1 and result.errors[0].line == 2
    assert "was used on order 1001" in result.errors[0].message
    assert state(db, perks, a) == ("used", "1001")


def test_only_the_last_free_product_applies_the_other_stays_usable(db, perks, ingest):
    eyeliner = issue(db, perks, perk="free-eyeliner")
    lipstick = issue(db, perks, perk="free-lipstick")
    items = [("EYELINER", "15.00", 1), ("LIPSTICK", "10.00", 1)]
    ingest(paid("e1", "1001", eyeliner, lipstick, items=items))
    assert state(db, perks, lipstick) == ("used", "1001")
    assert state(db, perks, eyeliner) == ("active", None)  # for a future purchase
    details = json.loads(event_details(db, "e1")[0])
    assert (details["coupons"], details["coupons_not_used"]) == (
        [lipstick.masked],
        [eyeliner.masked],
    )
    ingest(paid("e2", "1002", eyeliner, items=items))
    assert state(db, perks, eyeliner) == ("used", "1002")


def test_the_same_event_id_with_other_coupons_is_a_conflict(db, perks, ingest):
    a, b = issue(db, perks, perk="ten-off"), issue(db, perks, perk="ten-off")
    assert ingest(paid("e1", "1001", a)).applied == 1
    assert ingest(paid("e1", "1001", a)).replayed == 1
    result = ingest(paid("e1", "1001", b))
    assert result.applied == 0 and "different content" in result.errors[0].message
    assert state(db, perks, b) == ("active", None)


def test_strict_rolls_back_the_uses_of_a_file_with_a_bad_line(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    result = ingest(paid("e1", "1001", a), {"id": "e2", "type": "nope"}, strict=True)
    assert result.rolled_back
    assert state(db, perks, a) == ("active", None)


# --- refunds and chargebacks --------------------------------------------------------------------


def test_a_full_refund_gives_the_coupons_back(db, perks, ingest):
    a, b = issue(db, perks, perk="ten-off"), issue(db, perks, perk="free-shipping")
    ingest(paid("e1", "1001", a, b))
    result = ingest(refund("e2", "1001"))
    assert (result.applied, result.points_reversed) == (1, 24)
    assert state(db, perks, a) == ("active", None) == state(db, perks, b)
    assert json.loads(event_details(db, "e2")[0])["coupons_returned"] == [a.masked, b.masked]
    assert verified(db).ok
    assert ingest(paid("e3", "1002", a)).applied == 1  # usable again


def test_a_partial_refund_does_not_and_the_one_that_completes_it_does(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    ingest(paid("e1", "1001", a))
    ingest(refund("e2", "1001", items=[("P1", 1)]))
    assert state(db, perks, a) == ("used", "1001")  # seed: not automatically returned
    ingest(refund("e3", "1001", items=[("P2", 1)]))  # every item's whole quantity now
    assert state(db, perks, a) == ("active", None)
    assert verified(db).ok


def test_refunds_adding_up_to_what_was_paid_complete_the_order(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    ingest(paid("e1", "1001", a))  # 30.00 of items, 6.00 discount: 24.00 paid
    ingest(refund("e2", "1001", amount="20.00"))
    assert state(db, perks, a) == ("used", "1001")
    ingest(refund("e3", "1001", amount="4.00"))
    assert state(db, perks, a) == ("active", None)
    ingest(refund("e4", "1001"))  # nothing left: no second return
    assert [c for c in coupon_actions(db, a) if c == "coupon.return"] == ["coupon.return"]


def coupon_actions(db, coupon):
    sql = text("SELECT action FROM audit_event WHERE subject = :s ORDER BY seq")
    return db.run(lambda s: s.execute(sql, {"s": f"coupon:{coupon.claim_id}"}).scalars().all())


def test_a_chargeback_reverses_the_points_and_gives_the_coupons_back(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    ingest(paid("e1", "1001", a))
    ingest(refund("e2", "1001", items=[("P1", 1)]))  # partial: 8 of 24 back
    assert points(db) == 16
    chargeback = {"id": "e3", "type": "order.chargeback", "at": at(10), "order_id": "1001"}
    result = ingest(chargeback)
    assert (result.applied, result.points_reversed) == (1, 16)
    assert points(db) == 0
    assert state(db, perks, a) == ("active", None)
    details = json.loads(event_details(db, "e3")[0])
    assert details["coupons_returned"] == [a.masked]
    ingest(refund("e4", "1001", amount="1.00"))  # nothing is left of the order
    assert points(db) == 0
    assert verified(db).ok


def test_a_chargeback_of_an_unknown_order_is_held_until_the_order_comes(db, perks, ingest):
    result = ingest({"id": "e1", "type": "order.chargeback", "at": at(1), "order_id": "404"})
    assert (result.applied, result.held, result.errors) == (0, 1, ())


def test_a_returned_coupon_past_its_expiry_stays_expired(db, perks, ingest):
    a = issue(db, perks, perk="ten-off", expires_at=NOW - timedelta(days=25))
    ingest(paid("e1", "1001", a, when=at(30)))  # valid at the event's time
    ingest(refund("e2", "1001", when=at(20)))
    assert state(db, perks, a) == ("expired", None)


# --- audit verify and statistics ------------------------------------------------------------


def test_audit_verify_recounts_coupon_states(db, perks, ingest, tamper):
    a, b = issue(db, perks, perk="ten-off"), issue(db, perks, perk="ten-off")
    c = issue(db, perks, perk="ten-off")
    ingest(paid("e1", "1001", a))
    assert verified(db).ok
    tamper(
        f"UPDATE coupon SET status = 'active', order_id = NULL, used_at = NULL "
        f"WHERE claim_id = '{a.claim_id}'",
        f"UPDATE coupon SET status = 'used', order_id = 'X', used_at = updated_at "
        f"WHERE claim_id = '{b.claim_id}'",
        f"UPDATE claim SET status = 'cancelled' WHERE id = '{c.claim_id}'",
    )
    problems = verified(db).problems
    assert any(a.claim_id in p and "audit trail says used on order '1001'" in p for p in problems)
    assert any(b.claim_id in p and "no use of it is in the audit trail" in p for p in problems)
    assert any(c.claim_id in p and "its claim is cancelled" in p for p in problems)


def test_audit_verify_recounts_the_kept_coupon_figures(db, perks, tamper):
    issue(db, perks, perk="ten-off")
    tamper(
        "UPDATE coupon_summary SET used = used + 1 "
        "WHERE shard = (SELECT MIN(shard) FROM coupon_summary)"
    )
    problems = verified(db).problems
    assert "coupons used: coupon_summary keeps 1, the coupons number 0" in problems


def test_audit_verify_finds_a_coupon_on_a_claim_of_another_perk(db, perks, tamper):
    a = issue(db, perks, perk="ten-off")
    tamper("UPDATE perk SET redemption_type = 'code' WHERE slug = 'ten-off'")
    problems = verified(db).problems
    assert any(a.claim_id in p and "not of a coupon perk" in p for p in problems)


def test_stats_overview_counts_coupons(db, perks, ingest):
    a = issue(db, perks, perk="ten-off")
    issue(db, perks, perk="ten-off", expires_at=utcnow() - timedelta(days=1))
    issue(db, perks, perk="free-shipping")
    ingest(paid("e1", "1001", a))
    found = db.run(lambda s: overview(session=s), write=False)
    assert found.coupons == {"issued": 3, "active": 1, "used": 1, "expired": 1, "cancelled": 0}
