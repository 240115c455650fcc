from datetime import timedelta

from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import ledger
from loyaltyctl.services.audit import verify
from loyaltyctl.services.maintenance import acquire_lock, maintain, release_lock


def credit(run, amount, **kw):
    return run(ledger.change_points, member="C-1", amount=amount, reason="t", operator="t", **kw)


def test_expires_due_lots_once_and_keeps_the_rest(run, member, db):
    member("C-1")
    now = utcnow()
    credit(run, 100)
    credit(run, 40, expires_at=now + timedelta(days=1))
    credit(run, 60, expires_at=now + timedelta(days=5))
    credit(run, -10)  # taken from the lot expiring first
    later = now + timedelta(days=2)
    result = maintain(db=db, now=later, operator="cron")
    assert (result.expired_lots, result.expired_points) == (1, 30)
    assert run(ledger.balance, member="C-1").balance == 160
    again = maintain(db=db, now=later, operator="cron")
    assert not again.changed
    history = run(ledger.history, member="C-1")
    assert history[0].kind == "expire" and history[0].amount == -30


def test_matures_pending_points(run, member, db):
    member("C-1")
    now = utcnow()
    credit(run, 300, pending_until=now + timedelta(days=14))
    early = maintain(db=db, now=now + timedelta(days=13), operator="cron")
    assert not early.changed
    result = maintain(db=db, now=now + timedelta(days=15), operator="cron")
    assert (result.matured_lots, result.matured_points) == (1, 300)
    bal = run(ledger.balance, member="C-1")
    assert (bal.balance, bal.pending) == (300, 0)
    credit(run, -300)
    assert run(verify).ok


def test_pending_points_that_also_expired_mature_then_expire(run, member, db):
    member("C-1")
    now = utcnow()
    credit(run, 50, pending_until=now + timedelta(days=1), expires_at=now + timedelta(days=3))
    result = maintain(db=db, now=now + timedelta(days=10), operator="cron")
    assert (result.matured_points, result.expired_points) == (50, 50)
    bal = run(ledger.balance, member="C-1")
    assert (bal.balance, bal.pending) == (0, 0)


def test_dry_run_reports_but_changes_nothing(run, member, db):
    member("C-1")
    now = utcnow()
    credit(run, 40, expires_at=now + timedelta(days=1))
    result = maintain(db=db, now=now + timedelta(days=2), operator="cron", dry_run=True)
    assert result.expired_points == 40
    assert run(ledger.balance, member="C-1").balance == 40
    assert run(verify).ok
    assert maintain(db=db, now=now + timedelta(days=2), operator="cron").expired_points == 40


def test_a_held_lock_makes_a_second_run_skip(run, member, db):
    member("C-1")
    now = utcnow()
    credit(run, 40, expires_at=now + timedelta(days=1))
    assert db.run(lambda s: acquire_lock(session=s, holder="other:1", now=now))
    skipped = maintain(db=db, now=now + timedelta(days=2), operator="cron")
    assert skipped.skipped and run(ledger.balance, member="C-1").balance == 40
    db.run(lambda s: release_lock(session=s, holder="other:1"))
    assert maintain(db=db, now=now + timedelta(days=2), operator="cron").expired_points == 40


def test_a_lock_left_by_a_killed_run_lapses(run, member, db):
    now = utcnow()
    assert db.run(lambda s: acquire_lock(session=s, holder="dead:1", now=now - timedelta(hours=1)))
    assert not maintain(db=db, now=now, operator="cron").skipped
