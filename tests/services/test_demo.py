"""The demo as one service call: every step runs, and a second run changes nothing."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from loyaltyctl.services.audit import audit_log
from loyaltyctl.services.demo import DEMO_CLAIMS, run_demo
from loyaltyctl.store.db import Database


def test_the_demo_runs_every_step_and_a_second_run_changes_nothing(db_url, tmp_path):
    database = Database(db_url, check_schema=False)
    kwargs = dict(
        database=database,
        keys_file=tmp_path / "keys.toml",
        operator="demo",
        tz=ZoneInfo("Europe/London"),
        env={},
    )
    try:
        first = run_demo(**kwargs)
        trail = database.run(lambda s: audit_log(session=s, limit=100_000), write=False)
        second = run_demo(**kwargs)
        trail_again = database.run(lambda s: audit_log(session=s, limit=100_000), write=False)
    finally:
        database.dispose()
    assert first.database == second.database == database.safe_url()
    assert first.steps.members.applied > 0 and first.steps.points.applied > 0
    assert [c.perk for c in first.steps.claims] == [perk for perk, _, _ in DEMO_CLAIMS]
    assert first.generated is not None and first.generated.count == 100
    assert first.generated_redemption is not None
    assert first.events.applied == first.events.events > 0

    assert trail_again == trail  # nothing recorded: nothing changed
    assert (second.steps.members.applied, second.steps.points.applied) == (0, 0)
    assert second.steps.credit.replayed and second.steps.write_off.replayed
    assert all(c.replayed for c in second.steps.claims)
    assert all(r.replayed for r in second.steps.redemptions)
    assert not second.steps.program.changed
    assert (second.generated, second.generated_redemption) == (None, None)
    assert (second.events.applied, second.events.replayed) == (0, first.events.events)
    assert second.overview == first.overview
    assert second.claims_stats == first.claims_stats
