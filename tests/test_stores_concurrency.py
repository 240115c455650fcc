"""Real processes: refunds and their orders ingested at once (held refunds meet their
order exactly once), on SQLite and PostgreSQL.

Half the racers ingest a file of refunds, the other half the file of their orders, all
released together. However they interleave, every refund is applied exactly once: held
by an ingest that ran before its order and applied by the one that brought the order,
or applied at once when the order was there. Nothing stays held.
"""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from sqlalchemy import func, select

from loyaltyctl.program.files import read_program_files
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.ledger import balance
from loyaltyctl.store.tables import HeldRefund, IngestedEvent
from tests._processes import Pool

pytestmark = pytest.mark.concurrency

RACERS = {"sqlite": 4, "postgresql": 8}
ORDERS = 40
RULES = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 1
"""


def _ingest(url: str, path: str, format_name: str | None, *, start) -> list[tuple]:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from loyaltyctl.services.earning.ingest import ingest_events
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()
    start()
    try:
        result = ingest_events(
            database=db,
            path=Path(path),
            tz=ZoneInfo("UTC"),
            operator="racer",
            format_name=format_name,
        )
        return [("ok", result.applied, result.held, result.held_applied, result.errors_total)]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return [("error", f"{type(exc).__name__}: {exc}")]
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def pool():
    workers = Pool(8, preload=("loyaltyctl.services.earning.ingest", "loyaltyctl.store.db"))
    yield workers
    workers.close()


@pytest.fixture
def setup(db, member, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    files = read_program_files([path], env={}, tz=UTC)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="t"))
    member("cus_R")


def _stripe(kind: str, n: int, obj: dict, previous: dict | None = None) -> dict:
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {"id": f"evt_{kind}_{n}", "object": "event", "type": kind, "created": 1793620000 + n,
            "data": data}  # fmt: skip


def _files(tmp_path, first: int = 0) -> tuple[str, str]:
    orders, refunds = [], []
    for n in range(first, first + ORDERS):
        session = {"id": f"cs_{n}", "object": "checkout.session", "mode": "payment",
                   "payment_status": "paid", "currency": "usd", "customer": "cus_R",
                   "payment_intent": f"pi_{n}", "amount_subtotal": 1000 * (n + 1),
                   "total_details": {"amount_discount": 0, "amount_shipping": 0,
                                     "amount_tax": 0}}  # fmt: skip
        orders.append(_stripe("checkout.session.completed", n, session))
        charge = {"id": f"ch_{n}", "object": "charge", "currency": "usd", "amount": 1000 * (n + 1),
                  "amount_refunded": 500 * (n + 1), "payment_intent": f"pi_{n}"}  # fmt: skip
        refunds.append(_stripe("charge.refunded", n, charge, {"amount_refunded": 0}))
    paths = []
    for name, documents in (("orders", orders), ("refunds", refunds)):
        path = tmp_path / f"{name}-{first}.jsonl"
        path.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
        paths.append(str(path))
    return paths[0], paths[1]


def test_refunds_and_their_orders_ingested_at_once_apply_each_refund_once(
    db, db_url, setup, pool, tmp_path
):
    racers = RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]
    orders, refunds = _files(tmp_path)
    tasks = [(_ingest, (db_url, refunds if i % 2 else orders, "stripe")) for i in range(racers)]
    outcomes = pool.race(tasks)
    assert [o for (o,) in outcomes if o[0] != "ok"] == []
    assert all(o[4] == 0 for (o,) in outcomes)
    # each refund applied exactly once: at once, or held and applied with its order
    at_once = sum(o[1] for i, (o,) in enumerate(outcomes) if i % 2)
    with_order = sum(o[3] for (o,) in outcomes)
    assert at_once + with_order == ORDERS
    counts = db.run(
        lambda s: (
            s.execute(select(func.count()).select_from(HeldRefund)).scalar_one(),
            s.execute(
                select(func.count()).where(IngestedEvent.type == "order.refunded")
            ).scalar_one(),
        ),
        write=False,
    )
    assert counts == (0, ORDERS)
    earned = sum(10 * (n + 1) for n in range(ORDERS))
    assert db.run(lambda s: balance(session=s, member="cus_R"), write=False).balance == (
        earned - earned // 2
    )
    assert db.run(lambda s: verify(session=s), write=False, rollback=True).ok


def test_one_refund_file_racing_one_order_file_leaves_nothing_held(
    db, db_url, setup, pool, tmp_path
):
    """One ingest each: no later ingest of the order comes to release what a missed
    meeting would leave held (the orders' locks make them meet)."""
    for round_ in range(4):
        orders, refunds = _files(tmp_path, first=round_ * ORDERS)
        outcomes = pool.race(
            [(_ingest, (db_url, refunds, "stripe")), (_ingest, (db_url, orders, "stripe"))]
        )
        assert [o for (o,) in outcomes if o[0] != "ok"] == []
        refunded, ordered = outcomes[0][0], outcomes[1][0]
        assert refunded[1] + ordered[3] == ORDERS  # at once, or with their order
    held = db.run(
        lambda s: s.execute(select(func.count()).select_from(HeldRefund)).scalar_one(),
        write=False,
    )
    assert held == 0
