"""Idempotency keys are global even when two kinds of change race with one new key."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain import errors
from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.promo import create_campaign, redeem
from loyaltyctl.store.db import Database

pytestmark = pytest.mark.concurrency  # threads holding transactions open, and a 1 s wait


def test_a_points_change_waits_for_a_redemption_holding_its_key(db_url, db, run, keys, member):
    member("A")
    member("B")
    spec = CampaignSpec(slug="c", name="C", points=10, codes=(SharedCodeSpec("CODE1", None),))
    run(create_campaign, spec=spec, keys=lambda: keys, operator="t")
    holding, release, outcome = threading.Event(), threading.Event(), {}

    def redeemer():
        first = Database(db_url)
        with first.transaction(write=True) as session:
            redeem(
                session=session,
                keys=keys,
                code="CODE1",
                member="A",
                operator="t",
                tz=ZoneInfo("UTC"),
                key="order-1",
                now=datetime(2026, 7, 1, tzinfo=UTC),
            )
            holding.set()
            release.wait(30)
        first.dispose()

    def changer():
        second = Database(db_url)
        try:
            second.run(
                lambda s: change_points(
                    session=s, member="B", amount=5, reason="x", operator="t", key="order-1"
                )
            )
            outcome["result"] = "applied"
        except errors.LoyaltyError as exc:
            outcome["result"] = exc.code
        finally:
            second.dispose()

    holder = threading.Thread(target=redeemer)
    holder.start()
    assert holding.wait(30)
    racer = threading.Thread(target=changer)
    racer.start()
    time.sleep(1.0)  # the racer has looked the key up (not there yet) and is waiting
    assert "result" not in outcome
    release.set()
    holder.join(30)
    racer.join(60)
    assert outcome["result"] == "idempotency_conflict"
    assert (
        run(
            lambda session: change_points(
                session=session, member="B", amount=1, reason="y", operator="t"
            )
        ).balance
        == 1
    )


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
