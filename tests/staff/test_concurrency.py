"""Real processes racing staff changes: the last owner stays one, and an administrator
removed while crediting either credited before the removal or is refused.

Two owners demote each other at the same moment: without the roster lock both would
read "two owners" and both succeed, leaving none. Each racer is a spawned process with
its own `Database`, calling the service as `loyaltyctl staff set-role` does.
"""

from __future__ import annotations

import pytest

from tests._processes import Pool
from tests.staff.clubs import staffed

pytestmark = pytest.mark.concurrency

ROUNDS = 6


def _set_role(url: str, os_login: str, login: str, role: str, *, start) -> list:
    from loyaltyctl.domain.errors import LoyaltyError
    from loyaltyctl.services.staff_changes import set_role
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.run(lambda s: None, write=False, rollback=True)  # connected before the start
    start()
    try:
        db.run(lambda s: set_role(session=s, login=login, role=role, os_login=os_login))
        return [("ok", None)]
    except LoyaltyError as error:
        return [("refused", error.code)]
    finally:
        db.dispose()


def _credits(url: str, os_login: str, *, start) -> list:
    """Credits of 1 point as the CLI makes them (the check, then the change), until the
    login has been refused a few times."""
    from loyaltyctl.domain.errors import LoyaltyError
    from loyaltyctl.services.ledger import change_points
    from loyaltyctl.services.staff import identify
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.run(lambda s: None, write=False, rollback=True)
    start()
    outcomes: list[tuple] = []
    while len(outcomes) < 5000 and [o[0] for o in outcomes[-5:]] != ["refused"] * 5:
        try:
            me = db.run(lambda s: identify(session=s, os_login=os_login), write=False)
            if me.role is None:
                outcomes.append(("refused", "not_permitted"))
                continue
            db.run(
                lambda s, who=me.operator, n=len(outcomes): change_points(
                    session=s, member="C-1", amount=1, reason=f"r{n}", operator=who
                )
            )
            outcomes.append(("ok", None))
        except LoyaltyError as error:
            outcomes.append(("refused", error.code))
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcomes.append(("error", f"{type(error).__name__}: {error}"))
    db.dispose()
    return outcomes


@pytest.fixture(scope="module")
def pool():
    workers = Pool(3, preload=("loyaltyctl.services.staff_changes", "loyaltyctl.services.ledger"))
    yield workers
    workers.close()


def _owners(club) -> list[str]:
    return sorted(r["login"] for r in club.json(None, "staff", "list") if r["role"] == "owner")


def test_two_owners_demoting_each_other_leave_one_owner(club, pool):
    ann = staffed(club, ann="owner")["ann"]
    first, second = club.owner, ann
    for _ in range(ROUNDS):
        assert _owners(club) == sorted([first, second])
        outcomes = pool.race(
            [
                (_set_role, (club.url(first), first, second, "manager")),
                (_set_role, (club.url(second), second, first, "manager")),
            ]
        )
        results = [o[0] for o in outcomes]
        assert sorted(r[0] for r in results) == ["ok", "refused"], outcomes
        assert {r[1] for r in results if r[0] == "refused"} <= {"not_permitted", "last_owner"}
        (remaining,) = _owners(club)
        demoted = second if remaining == first else first
        club.ok(remaining, "staff", "set-role", demoted, "owner")  # the next round
    assert club.json(None, "audit", "verify")["ok"] is True


def _remove_after(url: str, os_login: str, login: str, delay: float, *, start) -> list:
    import time

    from loyaltyctl.services.staff_changes import remove
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.run(lambda s: None, write=False, rollback=True)
    start()
    time.sleep(delay)
    db.run(lambda s: remove(session=s, login=login, os_login=os_login))
    db.dispose()
    return [("ok", None)]


def test_an_administrator_removed_while_crediting_credits_before_or_is_refused(club, pool):
    club.ok(None, "member", "add", "C-1", "--name", "Ada")
    bob = staffed(club, bob="administrator")["bob"]
    credits, removal = pool.race(
        [
            (_credits, (club.url(bob), bob)),
            (_remove_after, (club.url(), club.owner, bob, 0.3)),
        ]
    )
    assert removal == [("ok", None)]
    kinds = [outcome[0] for outcome in credits]
    assert "error" not in kinds, credits  # no "Unexpected ...": a refusal, or done
    done = kinds.count("ok")
    assert 0 < done < len(kinds), kinds  # the removal fell inside the run
    assert kinds == ["ok"] * done + ["refused"] * (len(kinds) - done)
    assert {code for kind, code in credits if kind == "refused"} == {"not_permitted"}
    assert club.json(None, "points", "balance", "C-1")["balance"] == done
    history = club.json(None, "points", "history", "C-1", "--limit", 1000)["entries"]
    assert {e["operator"] for e in history} == {bob}
