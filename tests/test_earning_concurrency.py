"""Real processes ingesting events at once: an earning limit per time frame, a rule
earned once ever and one file ingested twice at the same time hold exactly; and an
ingest killed mid-file loses nothing (running it again finishes the rest).

Each ingester is a spawned process (the pool of tests/_processes.py) that makes its own
`Database` and calls `ingest_events` as `loyaltyctl events ingest` does, each on its
own file. PostgreSQL races use 8 processes, SQLite 4 (every SQLite write transaction
holds the one write lock anyway).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from loyaltyctl.program.files import read_program_files
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.ledger import balance
from loyaltyctl.store.tables import IngestedEvent, LedgerEntry, Member
from tests._processes import Pool

pytestmark = pytest.mark.concurrency

POOL = 8
FIRST_DAY = datetime(2010, 1, 1).toordinal()
RACERS = {"sqlite": 4, "postgresql": 8}
RULES = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 1
limit = { count = 3, per = "day" }

[[earning_rule]]
slug = "follow"
kind = "social"
platform = "instagram"
action = "follow"
points = 25
limit = { count = 1, per = "lifetime" }
"""


def _ingest(url: str, path: str, *, start) -> list[tuple]:
    """An ingester's task: connect, wait for the start, ingest its file."""
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from loyaltyctl.services.earning.ingest import ingest_events
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()
    start()
    try:
        result = ingest_events(database=db, path=Path(path), tz=ZoneInfo("UTC"), operator="racer")
        return [("ok", result.applied, result.replayed, result.capped, result.errors_total)]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return [("error", f"{type(exc).__name__}: {exc}")]
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def pool():
    workers = Pool(POOL, preload=("loyaltyctl.services.earning.ingest", "loyaltyctl.store.db"))
    yield workers
    workers.close()


@pytest.fixture
def racers(db_url) -> int:
    return RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]


@pytest.fixture
def setup(db, member, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    files = read_program_files([path], env={}, tz=UTC)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="t"))
    for external_id in ("R-0", "R-1"):
        member(external_id)


def _file(tmp_path, name: str, events: list[dict]) -> str:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return str(path)


def _order(event_id: str, member: str, hour: int, price: str = "10") -> dict:
    return {
        "id": event_id,
        "type": "order.paid",
        "at": f"2026-11-02T{hour:02d}:00:00Z",
        "member": member,
        "order_id": event_id,
        "items": [{"sku": "P", "price": price}],
    }


def _checked(db) -> None:
    result = db.run(lambda s: verify(session=s), write=False, rollback=True)
    assert result.ok, result.problems


def test_a_daily_limit_and_a_once_ever_rule_hold_across_concurrent_ingests(
    db, db_url, setup, pool, racers, tmp_path
):
    files = []
    for racer in range(racers):
        events = [_order(f"o-{racer}-{n}", "R-0", 8 + n) for n in range(3)]
        events.append(
            {
                "id": f"f-{racer}",
                "type": "social.action",
                "at": "2026-11-02T20:00:00Z",
                "member": "R-0",
                "platform": "instagram",
                "action": "follow",
            }
        )
        events.append(_order(f"other-{racer}", "R-1", 9 + racer))  # limits are per member
        files.append(_file(tmp_path, f"racer-{racer}", events))
    outcomes = pool.race([(_ingest, (db_url, path)) for path in files])
    assert [o for (o,) in outcomes if o[0] == "error"] == []
    assert all(o[1] == 5 and o[4] == 0 for (o,) in outcomes)  # every event applied
    earned = db.run(
        lambda s: s.execute(
            select(Member.external_id, LedgerEntry.rule, func.count())
            .join(Member, Member.id == LedgerEntry.member_id)
            .group_by(Member.external_id, LedgerEntry.rule)
        ).all(),
        write=False,
    )
    counts = {(member, rule): n for member, rule, n in earned}
    assert counts[("R-0", "order-points")] == 3  # 3 orders a day, whoever ingests them
    assert counts[("R-0", "follow")] == 1  # once ever
    assert counts[("R-1", "order-points")] == 3  # one order per racer, the same day
    capped = sum(o[3] for (o,) in outcomes)
    assert capped == (3 * racers - 3) + (racers - 1) + max(racers - 3, 0)
    assert db.run(lambda s: balance(session=s, member="R-0"), write=False).balance == 55
    _checked(db)


def test_one_file_ingested_twice_at_once_applies_each_event_once(
    db, db_url, setup, pool, racers, tmp_path
):
    events = [_order(f"e-{n}", f"R-{n % 2}", 10, price=str(n + 1)) for n in range(4)]
    path = _file(tmp_path, "same", events)
    outcomes = pool.race([(_ingest, (db_url, path)) for _ in range(racers)])
    assert [o for (o,) in outcomes if o[0] == "error"] == []
    assert sum(o[1] for (o,) in outcomes) == 4  # applied once in all
    assert sum(o[2] for (o,) in outcomes) == 4 * (racers - 1)  # replayed by the others
    total = db.run(
        lambda s: s.execute(select(func.sum(LedgerEntry.amount))).scalar_one(), write=False
    )
    assert total == 1 + 2 + 3 + 4
    _checked(db)


def test_a_killed_ingest_loses_nothing_and_running_it_again_finishes(db, db_url, setup, tmp_path):
    from loyaltyctl.services.earning.ingest import CHUNK

    events = [_order(f"k-{n}", f"R-{n % 2}", n % 24, price=str(n % 7 + 1)) for n in range(30_000)]
    for n, event in enumerate(events):  # 3 a day per member: the daily limit caps none
        event["at"] = datetime.fromordinal(FIRST_DAY + n // 6).strftime("%Y-%m-%dT10:00:00Z")
    path = _file(tmp_path, "big", events)
    expected = sum(int(e["items"][0]["price"]) for e in events)
    cmd = [sys.executable, "-m", "loyaltyctl", "--database-url", db_url]
    cmd += ["events", "ingest", path, "--json"]
    env = {**os.environ, "LOYALTYCTL_OPERATOR": "t", "LOYALTYCTL_TIMEZONE": "UTC"}
    recorded = 0
    for delay in (1.5, 3.0):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        recorded = db.run(
            lambda s: s.execute(select(func.count()).select_from(IngestedEvent)).scalar_one(),
            write=False,
        )
        assert recorded % CHUNK == 0 or recorded == len(events)  # whole chunks only
        _checked(db)  # each recorded event's points are there, and only theirs
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert (result["applied"] + result["replayed"], result["errors"]) == (len(events), [])
    assert result["replayed"] == recorded
    total = db.run(
        lambda s: s.execute(select(func.sum(LedgerEntry.amount))).scalar_one(), write=False
    )
    assert total == expected
    _checked(db)
