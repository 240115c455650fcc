# ruff: noqa: E501 - events written out whole, as a store sends them
"""Real processes racing over discount grants: one events file (a purchase that grants,
a subscription started then cancelled, a chargeback) ingested by every racer at once
grants, schedules and revokes exactly once; one keyed grant by hand sent by every racer
at once is one grant."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from sqlalchemy import select

from loyaltyctl.program.files import read_program_files
from loyaltyctl.services.apply import apply_program
from loyaltyctl.store.tables import DiscountGrant
from tests._processes import Pool
from tests.discount_helpers import PROGRAM

pytestmark = pytest.mark.concurrency

POOL = 8
RACERS = {"sqlite": 4, "postgresql": 8}


def _ingest(url: str, path: str, *, start) -> list[tuple]:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from loyaltyctl.services.earning.ingest import ingest_events
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()
    start()
    try:
        result = ingest_events(database=db, path=Path(path), tz=ZoneInfo("UTC"), operator="racer")
        return [("ok", result.applied, result.replayed, result.errors_total)]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return [("error", f"{type(exc).__name__}: {exc}")]
    finally:
        db.dispose()


def _grant(url: str, *, start) -> list[tuple]:
    from loyaltyctl.services.discounts.grants import grant_discount
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()
    start()
    try:
        record = db.run(
            lambda s: grant_discount(
                session=s, slug="night-owl", member="R-0", operator="racer", key="same-key"
            )
        )
        return [("ok", record.id, record.replayed)]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return [("error", f"{type(exc).__name__}: {exc}")]
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def pool():
    workers = Pool(
        POOL,
        preload=(
            "loyaltyctl.services.earning.ingest",
            "loyaltyctl.services.discounts.grants",
            "loyaltyctl.store.db",
        ),
    )
    yield workers
    workers.close()


@pytest.fixture
def racers(db_url) -> int:
    return RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]


@pytest.fixture
def setup(db, member, tmp_path):
    path = tmp_path / "discounts.toml"
    path.write_text(PROGRAM, encoding="utf-8")
    files = read_program_files([path], env={}, tz=UTC)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="t"))
    for external_id in ("R-0", "R-1"):
        member(external_id)


def _grants(db) -> list[tuple]:
    return db.run(
        lambda s: s.execute(
            select(
                DiscountGrant.member_id,
                DiscountGrant.source,
                DiscountGrant.revoke_at.is_not(None),
                DiscountGrant.revoked_at.is_not(None),
            ).order_by(DiscountGrant.id)
        ).all(),
        write=False,
    )


def test_one_file_ingested_by_every_racer_at_once_grants_once(
    db, db_url, setup, pool, racers, tmp_path
):
    events = [
        {
            "id": "p1",
            "type": "order.paid",
            "at": "2026-11-02T10:00:00Z",
            "member": "R-1",
            "order_id": "1001",
            "items": [{"sku": "CLUB-1M", "price": "10.00"}],
        },
        {
            "id": "p2",
            "type": "order.paid",
            "at": "2026-11-02T11:00:00Z",
            "member": "R-1",
            "order_id": "1002",
            "items": [{"sku": "CLUB-1M", "price": "10.00"}],
        },
        {
            "id": "s1",
            "type": "subscription.started",
            "at": "2026-11-02T10:00:00Z",
            "member": "R-0",
            "subscription_id": "SUB-1",
            "package": "DIAMOND",
            "renews_at": "2026-12-02T10:00:00Z",
        },
        {
            "id": "s2",
            "type": "subscription.cancelled",
            "at": "2026-11-03T10:00:00Z",
            "subscription_id": "SUB-1",
        },
        {"id": "c1", "type": "order.chargeback", "at": "2026-11-04T10:00:00Z", "order_id": "1001"},
    ]
    path = tmp_path / "same.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    outcomes = pool.race([(_ingest, (db_url, str(path))) for _ in range(racers)])
    assert [o for (o,) in outcomes if o[0] == "error"] == []
    assert all(o[3] == 0 for (o,) in outcomes)
    assert sum(o[1] for (o,) in outcomes) == len(events)  # each event applied once in all
    grants = _grants(db)
    assert len(grants) == 3  # two orders' grants and the subscription's, once each
    by_source = sorted((source, scheduled, revoked) for _m, source, scheduled, revoked in grants)
    assert by_source == [
        ("order", False, False),  # order 1002
        ("order", False, True),  # order 1001, charged back
        ("subscription", True, False),  # cancelled: its revoke scheduled
    ]


def test_one_keyed_grant_sent_by_every_racer_is_one_grant(db, db_url, setup, pool, racers):
    outcomes = pool.race([(_grant, (db_url,)) for _ in range(racers)])
    assert [o for (o,) in outcomes if o[0] == "error"] == []
    assert len({o[1] for (o,) in outcomes}) == 1
    assert sorted(o[2] for (o,) in outcomes) == [False] + [True] * (racers - 1)
    assert len(_grants(db)) == 1
