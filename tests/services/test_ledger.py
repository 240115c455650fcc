from datetime import timedelta

import pytest
from sqlalchemy import select

from loyaltyctl.domain.errors import InsufficientBalance, KeyConflict, UnknownMember
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import ledger
from loyaltyctl.store.tables import LedgerEntry


def credit(run, member="C-1", amount=100, reason="test", **kw):
    return run(
        ledger.change_points, member=member, amount=amount, reason=reason, operator="tester", **kw
    )


def test_credit_and_write_off_move_the_balance(run, member):
    member("C-1")
    first = credit(run, amount=500)
    assert (first.balance, first.amount, first.replayed) == (500, 500, False)
    second = credit(run, amount=-200, reason="mistake")
    assert (second.balance, second.amount) == (300, -200)
    assert run(ledger.balance, member="C-1").balance == 300


def test_write_off_below_zero_is_refused_and_changes_nothing(run, member, db):
    member("C-1")
    credit(run, amount=100)
    with pytest.raises(InsufficientBalance):
        credit(run, amount=-101)
    assert run(ledger.balance, member="C-1").balance == 100
    assert len(run(ledger.history, member="C-1")) == 1


def test_unknown_member_suggests_a_close_id(run, member):
    member("C-1001")
    with pytest.raises(UnknownMember) as info:
        credit(run, member="C-1000")
    assert info.value.data == {"member": "C-1000", "candidates": ["C-1001"]}


def test_same_key_same_content_replays_the_original_result(run, member):
    member("C-1")
    original = credit(run, amount=70, key="k1")
    credit(run, amount=30)
    again = credit(run, amount=70, key="k1")
    assert again.replayed is True
    assert (again.entry_id, again.balance) == (original.entry_id, 70)
    assert run(ledger.balance, member="C-1").balance == 100


def test_same_key_different_content_is_refused(run, member):
    member("C-1")
    member("C-2")
    credit(run, amount=70, key="k1")
    for change in ({"amount": 71}, {"reason": "other"}, {"member": "C-2"}, {"amount": -70}):
        with pytest.raises(KeyConflict):
            credit(run, **{"amount": 70, "key": "k1", **change})
    assert run(ledger.balance, member="C-1").balance == 70
    assert run(ledger.balance, member="C-2").balance == 0


def test_keys_are_global_across_credits_and_write_offs(run, member):
    member("C-1")
    credit(run, amount=100, key="shared")
    with pytest.raises(KeyConflict):
        credit(run, amount=-100, key="shared")


def test_write_off_spends_the_soonest_expiring_lots_first(run, member):
    member("C-1")
    now = utcnow()
    credit(run, amount=100)  # never expires: spent last
    credit(run, amount=50, expires_at=now + timedelta(days=60))
    credit(run, amount=30, expires_at=now + timedelta(days=10))
    credit(run, amount=-40)
    expiring = run(ledger.balance, member="C-1", soon_days=90).expiring
    # the 30 expiring in 10 days went first, then 10 of the 50
    assert [(e.amount, e.expires_at) for e in expiring] == [(40, now + timedelta(days=60))]
    credit(run, amount=-60)
    assert run(ledger.balance, member="C-1", soon_days=90).expiring == ()
    assert run(ledger.balance, member="C-1").balance == 80


def test_pending_points_do_not_count_until_they_mature(run, member):
    member("C-1")
    change = credit(run, amount=300, pending_until=utcnow() + timedelta(days=14))
    assert (change.balance, change.pending) == (0, 300)
    with pytest.raises(InsufficientBalance):
        credit(run, amount=-1)
    bal = run(ledger.balance, member="C-1")
    assert (bal.balance, bal.pending) == (0, 300)


def test_history_is_newest_first_and_entries_are_never_rewritten(run, member, db):
    member("C-1")
    credit(run, amount=10, reason="a")
    with db.transaction() as s:
        before = [tuple(r) for r in s.execute(select(LedgerEntry.__table__)).all()]
    credit(run, amount=20, reason="b")
    credit(run, amount=-5, reason="c")
    history = run(ledger.history, member="C-1")
    assert [e.reason for e in history] == ["c", "b", "a"]
    assert [e.balance_after for e in history] == [25, 30, 10]
    with db.transaction() as s:
        after = [tuple(r) for r in s.execute(select(LedgerEntry.__table__)).all()]
    assert after[: len(before)] == before


def test_the_database_refuses_a_negative_balance_on_its_own(db, member):
    """The CHECK constraint holds even if Python's check were bypassed."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from loyaltyctl.store.tables import Member

    member("C-1")
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(update(Member).values(balance=-1))
