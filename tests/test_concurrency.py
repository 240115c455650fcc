"""Real processes racing on one database: limits hold exactly, nothing leaks to users."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import pytest

from loyaltyctl.domain.errors import InsufficientBalance
from loyaltyctl.services import ledger
from loyaltyctl.services.audit import verify

pytestmark = pytest.mark.concurrency
WORKERS = 8


def _worker(url: str, jobs: list[tuple[int, str | None]], start, results) -> None:
    from loyaltyctl.store.db import Database

    db = Database(url)
    start.wait()
    outcome = []
    for amount, key in jobs:
        try:
            change = db.run(
                lambda s, a=amount, k=key: ledger.change_points(
                    session=s, member="C-1", amount=a, reason="race", operator="w", key=k
                )
            )
            outcome.append(("ok", change.amount, change.entry_id, change.replayed))
        except InsufficientBalance:
            outcome.append(("refused", amount, None, False))
        except Exception as exc:  # noqa: BLE001 - every other error is a failure to report
            outcome.append(("error", f"{type(exc).__name__}: {exc}", None, False))
    db.dispose()
    results.put(outcome)


def race(url: str, plans: list[list[tuple[int, str | None]]]) -> list[tuple]:
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, plan, start, results)) for plan in plans]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process import and connect before the start signal
    start.set()
    outcomes = [item for _ in procs for item in results.get(timeout=120)]
    for p in procs:
        p.join(timeout=30)
    return outcomes


def workers(db_url: str) -> int:
    return 8


def test_concurrent_write_offs_never_overdraw(db_url, run, member):
    member("C-1")
    run(ledger.change_points, member="C-1", amount=100, reason="start", operator="t")
    outcomes = race(db_url, [[(-10, None)] * 5 for _ in range(WORKERS)])
    errors = [o for o in outcomes if o[0] == "error"]
    assert errors == []  # no "database is locked", no serialization failure reaches a caller
    assert sum(1 for o in outcomes if o[0] == "ok") == 10
    assert sum(1 for o in outcomes if o[0] == "refused") == 30
    assert run(ledger.balance, member="C-1").balance == 0
    assert run(verify).ok


def test_mixed_concurrent_changes_add_up(db_url, run, member):
    member("C-1")
    run(ledger.change_points, member="C-1", amount=50, reason="start", operator="t")
    plans = [[(7, None), (-20, None), (3, None), (-15, None)] for _ in range(WORKERS)]
    outcomes = race(db_url, plans)
    assert [o for o in outcomes if o[0] == "error"] == []
    applied = sum(o[1] for o in outcomes if o[0] == "ok")
    balance = run(ledger.balance, member="C-1").balance
    assert balance == 50 + applied >= 0
    result = run(verify)
    assert result.ok, result.problems


def test_one_key_raced_by_every_process_applies_once(db_url, run, member):
    member("C-1")
    outcomes = race(db_url, [[(25, "same-key")] for _ in range(WORKERS)])
    assert [o for o in outcomes if o[0] == "error"] == []
    assert len({o[2] for o in outcomes}) == 1  # everybody reports the same entry
    assert sum(1 for o in outcomes if not o[3]) == 1  # exactly one was not a replay
    assert run(ledger.balance, member="C-1").balance == 25


def test_a_killed_import_leaves_all_or_nothing(db_url, run, member, tmp_path):
    from loyaltyctl.services.imports import import_members

    rows = 30_000
    members = tmp_path / "m.csv"
    members.write_text("external_id,name\n" + "".join(f"M-{i},Member {i}\n" for i in range(200)))
    run(import_members, path=members, operator="t")
    points = tmp_path / "p.csv"
    points.write_text(
        "member,amount,reason\n" + "".join(f"M-{i % 200},{i % 90 + 1},bulk\n" for i in range(rows))
    )
    cmd = [
        sys.executable,
        "-m",
        "loyaltyctl",
        "--database-url",
        db_url,
        "points",
        "import",
        str(points),
        "--json",
    ]
    env = {**os.environ, "LOYALTYCTL_OPERATOR": "t"}
    for delay in (0.8, 1.6):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        count = run(_entry_count)
        assert count in (0, rows)
        assert run(verify).ok
        if count == rows:
            break
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert '"rows": 30000' in done.stdout
    assert run(_entry_count) == rows
    assert run(verify).ok


def _entry_count(*, session) -> int:
    from sqlalchemy import func, select

    from loyaltyctl.store.tables import LedgerEntry

    return session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
