"""Real processes racing to use one coupon: it is used at most once, on SQLite and
PostgreSQL, whether the uses come from `coupon use` or from `order.paid` events.

Each racer is a spawned process that makes its own `Database`, loads the key ring from
the key file and calls the service through `db.run(...)` as the CLI does; a barrier
releases them together once every one has connected. PostgreSQL races use 16
processes, SQLite races 8 (the pool of tests/_processes.py, started once here).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from loyaltyctl.services.audit import verify
from tests._processes import Pool
from tests.coupon_helpers import apply_coupon_perks, issue

pytestmark = pytest.mark.concurrency

POOL = 16
RACERS = {"sqlite": 8, "postgresql": 16}
CART = json.dumps({"items": [{"sku": "A", "price": "30.00", "quantity": 1}]})


def _use(url: str, keys_file: str, code: str, order: str, *, start) -> list:
    """A racer at a checkout: `coupon use CODE --order ORDER` once."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.cart import parse_cart
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.coupons.checkout import use_coupon
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()  # the driver and the server are ready before the start
    keys = crypto.load(Path(keys_file))
    cart = parse_cart(CART)
    start()
    try:
        result = db.run(
            lambda s: use_coupon(
                session=s, keys=keys, code=code, order_id=order, cart=cart, operator="racer"
            )
        )
        return [("ok", result.order, result.replayed)]
    except Refused as exc:
        return [("refused", exc.code, exc.message)]
    finally:
        db.dispose()


def _ingest(url: str, keys_file: str, path: str, *, start) -> list:
    """A racer feeding the store's events: `events ingest FILE` once."""
    from zoneinfo import ZoneInfo

    from loyaltyctl import crypto
    from loyaltyctl.services.earning.ingest import ingest_events
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()
    keys = crypto.load(Path(keys_file))
    start()
    try:
        result = ingest_events(
            database=db,
            path=Path(path),
            tz=ZoneInfo("UTC"),
            operator="racer",
            keys=lambda: keys,
        )
        if result.applied:
            return [("ok", "event", False)]
        return [("refused", "bad_line", result.errors[0].message)]
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def pool():
    racers = Pool(POOL, preload=("loyaltyctl.services.coupons.checkout", "loyaltyctl.store.db"))
    yield racers
    racers.close()


@pytest.fixture
def racers(db_url) -> int:
    return RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]


@pytest.fixture
def keys_file(keys) -> str:
    """The key file the `keys` fixture made (LOYALTYCTL_KEYS_FILE points at it)."""
    import os

    return os.environ["LOYALTYCTL_KEYS_FILE"]


@pytest.fixture
def coupon(db, keys, member, tmp_path):
    member("C-1")
    apply_coupon_perks(db, tmp_path)
    return issue(db, keys, perk="ten-off", member="C-1")


def uses(db, claim_id) -> tuple[list, tuple]:
    def read(s):
        events = s.execute(
            text("SELECT action, details FROM audit_event WHERE subject = :s ORDER BY seq"),
            {"s": f"coupon:{claim_id}"},
        ).all()
        row = s.execute(
            text("SELECT status, order_id FROM coupon WHERE claim_id = :c"), {"c": claim_id}
        ).one()
        return [(a, json.loads(d)["order_id"]) for a, d in events], tuple(row)

    return db.run(read, write=False)


def test_one_code_on_different_orders_is_used_once(pool, db, db_url, keys_file, coupon, racers):
    outcomes = [
        o
        for got in pool.race(
            [(_use, (db_url, keys_file, coupon.code, f"O-{i}")) for i in range(racers)]
        )
        for o in got
    ]
    kinds = Counter(o[0] if o[0] != "refused" else o[1] for o in outcomes)
    assert kinds == {"ok": 1, "coupon_used": racers - 1}, outcomes
    (winner,) = [o[1] for o in outcomes if o[0] == "ok"]
    trail, row = uses(db, coupon.claim_id)
    assert trail == [("coupon.use", winner)] and row == ("used", winner)
    assert db.run(lambda s: verify(session=s), write=False, rollback=True).ok


def test_one_code_on_one_order_is_used_once_and_the_rest_replay(
    pool, db, db_url, keys_file, coupon, racers
):
    outcomes = [
        o
        for got in pool.race([(_use, (db_url, keys_file, coupon.code, "O-1"))] * racers)
        for o in got
    ]
    assert Counter(outcomes) == {("ok", "O-1", False): 1, ("ok", "O-1", True): racers - 1}
    trail, row = uses(db, coupon.claim_id)
    assert trail == [("coupon.use", "O-1")] and row == ("used", "O-1")


def test_checkouts_and_events_racing_for_one_code(
    pool, db, db_url, keys_file, coupon, racers, tmp_path
):
    jobs = []
    for i in range(racers):
        if i % 2:
            path = tmp_path / f"events-{i}.jsonl"
            event = {
                "id": f"e{i}",
                "type": "order.paid",
                "at": "2026-12-01T10:00:00Z",
                "member": "C-1",
                "order_id": f"E-{i}",
                "items": [{"sku": "A", "price": "30.00", "quantity": 1}],
                "coupons": [coupon.code],
            }
            path.write_text(json.dumps(event) + "\n")
            jobs.append((_ingest, (db_url, keys_file, str(path))))
        else:
            jobs.append((_use, (db_url, keys_file, coupon.code, f"O-{i}")))
    outcomes = [o for got in pool.race(jobs) for o in got]
    assert [o[0] for o in outcomes].count("ok") == 1, outcomes
    refused = [o for o in outcomes if o[0] == "refused"]
    assert all(
        o[1] == "coupon_used" or (o[1] == "bad_line" and "was used on order" in o[2])
        for o in refused
    ), refused
    trail, row = uses(db, coupon.claim_id)
    assert len(trail) == 1 and row == ("used", trail[0][1])
    assert db.run(lambda s: verify(session=s), write=False, rollback=True).ok
