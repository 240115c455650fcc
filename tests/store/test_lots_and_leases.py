"""The conditional writes of `maintain run`: lots mature and expire once, and a job's
lease is held by one process at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import ledger
from loyaltyctl.store import jobs, ledger_rows
from loyaltyctl.store import ledger as store
from loyaltyctl.store.db import ConcurrentChange


@pytest.fixture
def lots(run, member):
    """C-1 with an expiring lot of 40 and a pending lot of 25 (both due in a day)."""
    member("C-1")
    soon = utcnow() + timedelta(days=1)
    for kw in ({"amount": 40, "expires_at": soon}, {"amount": 25, "pending_until": soon}):
        run(ledger.change_points, member="C-1", reason="r", operator="t", **kw)
    return soon


def test_lots_due_are_found_once_and_changed_once(db, lots):
    later = lots + timedelta(seconds=1)
    with db.transaction() as s:
        assert ledger_rows.lots_to_mature(s, lots - timedelta(seconds=1)) == []
        (pending,) = ledger_rows.lots_to_mature(s, later)
        (expiring,) = ledger_rows.lots_to_expire(s, later)
        assert (pending.remaining, expiring.remaining) == (25, 40)
        store.mature_lots(s, [(pending.id, 0)])
        store.expire_lots(s, [(expiring.id, 40)])
        assert ledger_rows.lots_to_mature(s, later) == ledger_rows.lots_to_expire(s, later) == []
    with db.transaction() as s, pytest.raises(ConcurrentChange):
        store.mature_lots(s, [(pending.id, 0)])  # matured already
    with db.transaction() as s, pytest.raises(ConcurrentChange):
        store.expire_lots(s, [(expiring.id, 40)])  # holds 0 now


def test_a_lease_is_held_by_one_holder_until_it_lapses_or_ends(db):
    now = utcnow()
    hour = timedelta(hours=1)

    def take(holder, at):
        return db.run(
            lambda s: jobs.take_lease(s, "maintain", holder=holder, now=at, until=at + hour)
        )

    assert take("a:1", now)
    assert not take("b:2", now + timedelta(minutes=59))
    db.run(lambda s: jobs.end_lease(s, "maintain", holder="b:2"))  # not b's to end
    assert not take("b:2", now)
    assert take("b:2", now + hour + timedelta(seconds=1))  # a's lapsed
    db.run(lambda s: jobs.end_lease(s, "maintain", holder="b:2"))
    assert take("a:1", now)
