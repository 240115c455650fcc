"""Random sequences of credits, write-offs and maintenance against a plain model.

The model follows the spec in a few lines: write-offs take the soonest-expiring
spendable lots first, pending points mature then may expire, expiry removes what
is left of a lot. Balance, pending and `audit verify` must agree after every step.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyaltyctl.domain.errors import InsufficientBalance
from loyaltyctl.services import ledger
from loyaltyctl.services.audit import verify
from loyaltyctl.services.maintenance import run_due_work
from loyaltyctl.services.members import MemberFields, add_member

START = datetime(2030, 1, 1, tzinfo=UTC)
_ids = itertools.count()

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("credit"),
            st.integers(1, 100),
            st.none() | st.integers(1, 8),  # expires in days
            st.none() | st.integers(1, 4),  # pending for days (before the expiry)
        ),
        st.tuples(st.just("write_off"), st.integers(1, 120)),
        st.tuples(st.just("wait"), st.integers(1, 6)),
    ),
    min_size=1,
    max_size=20,
)


class Model:
    def __init__(self) -> None:
        self.balance = self.pending = 0
        self.lots: list[dict] = []  # creation order = lot id order

    def credit(self, amount, expires, matures):
        if matures is not None:
            self.pending += amount
        else:
            self.balance += amount
        if expires is not None or matures is not None:
            self.lots.append(
                {
                    "left": amount,
                    "expires": expires,
                    "matures": matures,
                    "pending": matures is not None,
                }
            )

    def write_off(self, amount) -> bool:
        if amount > self.balance:
            return False
        self.balance -= amount
        spendable = [
            lot for lot in self.lots if not lot["pending"] and lot["expires"] and lot["left"]
        ]
        for lot in sorted(spendable, key=lambda lot: lot["expires"]):  # stable: ties by creation
            used = min(amount, lot["left"])
            lot["left"] -= used
            amount -= used
        return True

    def maintain(self, now):
        for lot in self.lots:
            if lot["pending"] and lot["matures"] <= now:
                lot["pending"] = False
                self.pending -= lot["left"]
                self.balance += lot["left"]
                if lot["expires"] is None:
                    lot["left"] = 0
        for lot in self.lots:
            if not lot["pending"] and lot["expires"] and lot["expires"] <= now and lot["left"]:
                self.balance -= lot["left"]
                lot["left"] = 0


@pytest.mark.slow  # 60 generated sequences of up to 20 steps
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_the_ledger_agrees_with_the_model(run, ops):
    member = f"P-{next(_ids)}"
    run(
        add_member,
        external_id=member,
        fields=MemberFields(name="Model"),
        groups=[],
        tags=[],
        operator="t",
    )
    model, now = Model(), START
    for op in ops:
        if op[0] == "credit":
            _, amount, exp_days, pend_days = op
            if exp_days is not None and pend_days is not None and pend_days >= exp_days:
                pend_days = None
            expires = now + timedelta(days=exp_days) if exp_days else None
            matures = now + timedelta(days=pend_days) if pend_days else None
            run(
                ledger.change_points,
                member=member,
                amount=amount,
                reason="r",
                operator="t",
                expires_at=expires,
                pending_until=matures,
                now=now,
            )
            model.credit(amount, expires, matures)
        elif op[0] == "write_off":
            expected = model.write_off(op[1])
            try:
                run(
                    ledger.change_points,
                    member=member,
                    amount=-op[1],
                    reason="r",
                    operator="t",
                    now=now,
                )
                assert expected, "the ledger allowed a write-off beyond the balance"
            except InsufficientBalance:
                assert not expected, "the ledger refused a write-off the balance covers"
        else:
            now += timedelta(days=op[1])
            run(run_due_work, now=now, operator="cron")
            model.maintain(now)
        bal = run(ledger.balance, member=member, now=now)
        assert (bal.balance, bal.pending) == (model.balance, model.pending), op
    result = run(verify)
    assert result.ok, result.problems
