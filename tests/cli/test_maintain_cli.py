"""`maintain run`: quiet when idle, idempotent, dry runs, expiry, the lock."""

from __future__ import annotations

from datetime import timedelta

from tests.cli.helpers import (
    add_member,
    balance,
    credit,
    day,
    execute,
    flat,
    history,
    maintain_at,
)

MAINTAIN_FIELDS = {
    "now",
    "dry_run",
    "matured_lots",
    "matured_points",
    "expired_lots",
    "expired_points",
    "skipped",
}


def test_an_empty_program_is_quiet(cli):
    as_json = cli("maintain", "run", "--json")
    assert as_json.exit_code == 0, as_json.stderr
    doc = as_json.json
    assert set(doc) >= MAINTAIN_FIELDS
    assert doc["now"].endswith("Z")
    assert (doc["matured_lots"], doc["expired_lots"], doc["skipped"], doc["dry_run"]) == (
        0,
        0,
        False,
        False,
    )
    human = cli("maintain", "run")
    assert human.exit_code == 0, human.stderr
    assert (human.stdout, human.stderr) == ("", "")


def test_nothing_due_is_quiet_too(cli):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 10, "later", "--expires", day(30))
    result = cli("maintain", "run")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "")


def test_due_lots_expire_once_with_a_one_line_summary(cli, monkeypatch):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 10, "expiring", "--expires", day(5))
    credit(cli, "C-1", 7, "kept")
    result = maintain_at(cli, monkeypatch, day(6))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "10" in lines[0]
    assert balance(cli, "C-1")["balance"] == 7
    entry = history(cli, "C-1")[0]
    assert (entry["kind"], entry["amount"]) == ("expire", -10)
    again = maintain_at(cli, monkeypatch, day(6), "--json")
    assert (again.json["expired_lots"], again.json["expired_points"]) == (0, 0)
    assert balance(cli, "C-1")["balance"] == 7


def test_a_partly_spent_lot_expires_only_what_is_left(cli, monkeypatch):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 10, "expiring", "--expires", day(5))
    credit(cli, "C-1", 20, "kept")
    cli("points", "write-off", "C-1", "4", "--reason", "spent")
    result = maintain_at(cli, monkeypatch, day(6), "--json")
    assert (result.json["expired_lots"], result.json["expired_points"]) == (1, 6)
    assert balance(cli, "C-1")["balance"] == 20


def test_dry_run_reports_and_changes_nothing(cli, monkeypatch):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 10, "expiring", "--expires", day(5))
    credit(cli, "C-1", 40, "held", "--pending-until", day(2))
    dry = maintain_at(cli, monkeypatch, day(6), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    doc = dry.json
    assert doc["dry_run"] is True
    assert (doc["matured_lots"], doc["matured_points"]) == (1, 40)
    assert (doc["expired_lots"], doc["expired_points"]) == (1, 10)
    state = balance(cli, "C-1")
    assert (state["balance"], state["pending"]) == (10, 40)
    assert len(history(cli, "C-1")) == 2

    real = maintain_at(cli, monkeypatch, day(6), "--json")
    assert (real.json["matured_points"], real.json["expired_points"]) == (40, 10)
    state = balance(cli, "C-1")
    assert (state["balance"], state["pending"]) == (40, 0)
    assert cli("audit", "verify").exit_code == 0


def test_now_is_read_in_the_program_time_zone(cli, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_TIMEZONE", "Europe/Berlin")
    result = cli("maintain", "run", "--now", "2099-01-01T12:00", "--dry-run", "--json")
    assert result.exit_code == 0
    assert result.json["now"] == "2099-01-01T11:00:00Z"
    bad = cli("maintain", "run", "--now", "yesterday", "--json")
    assert bad.exit_code == 2
    assert bad.json["error"]["code"] == "usage"


def _hold_lock(url: str, expires_in: timedelta) -> None:
    from sqlalchemy import update

    from loyaltyctl.domain.values import utcnow
    from loyaltyctl.store.tables import JobLock

    execute(
        url,
        update(JobLock)
        .where(JobLock.name == "maintain")
        .values(holder="other-host:4242", expires_at=utcnow() + expires_in),
    )


def test_a_held_lock_makes_a_run_skip_and_exit_0(cli):
    _hold_lock(cli.url, timedelta(minutes=10))
    result = cli("maintain", "run", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["skipped"] is True
    human = cli("maintain", "run")
    assert human.exit_code == 0
    assert "skipped" in flat(human.stdout + human.stderr).lower()


def test_a_held_lock_also_stops_a_run_with_another_now(cli):
    """The lease runs on the wall clock: a back-fill's --now does not make it lapse."""
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 40, "held", "--pending-until", day(2))
    _hold_lock(cli.url, timedelta(minutes=10))
    result = cli("maintain", "run", "--now", day(3), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["skipped"] is True
    assert balance(cli, "C-1")["pending"] == 40


def test_a_lapsed_lock_is_taken_over(cli, monkeypatch):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 40, "held", "--pending-until", day(2))
    _hold_lock(cli.url, timedelta(minutes=-1))
    result = maintain_at(cli, monkeypatch, day(3), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["skipped"] is False
    assert result.json["matured_points"] == 40
    # the lock is released afterwards: the next run is not skipped
    assert cli("maintain", "run", "--json").json["skipped"] is False


def test_pending_points_that_also_expire_mature_then_expire(cli, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_EXPIRING_SOON_DAYS", "100")
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 100, "never expires")
    credit(cli, "C-1", 40, "order", "--pending-until", day(5), "--expires", day(20))
    # the write-off cannot touch the pending lot: it takes the spendable points
    spent = cli("points", "write-off", "C-1", "100", "--reason", "spend", "--json")
    assert spent.exit_code == 0, spent.stderr
    state = balance(cli, "C-1")
    assert (state["balance"], state["pending"]) == (0, 40)

    matured = maintain_at(cli, monkeypatch, day(6), "--json")
    assert (matured.json["matured_points"], matured.json["expired_points"]) == (40, 0)
    state = balance(cli, "C-1")
    assert (state["balance"], state["pending"]) == (40, 0)
    assert state["expiring"] == [{"amount": 40, "expires_at": f"{day(20)}T23:59:59Z"}]

    expired = maintain_at(cli, monkeypatch, day(21), "--json")
    assert (expired.json["matured_points"], expired.json["expired_points"]) == (0, 40)
    assert balance(cli, "C-1")["balance"] == 0
    assert cli("audit", "verify").exit_code == 0


def test_a_lot_that_matured_and_expired_since_the_last_run_does_both(cli, monkeypatch):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 40, "order", "--pending-until", day(2), "--expires", day(4))
    result = maintain_at(cli, monkeypatch, day(5), "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert (doc["matured_points"], doc["expired_points"]) == (40, 40)
    state = balance(cli, "C-1")
    assert (state["balance"], state["pending"]) == (0, 0)
    assert [e["kind"] for e in history(cli, "C-1")] == ["expire", "mature", "credit"]
    assert cli("audit", "verify").exit_code == 0


def _state(cli) -> tuple:
    return balance(cli, "C-1"), history(cli, "C-1"), cli("audit", "log", "--json").json


def test_a_now_in_the_future_is_refused_unless_a_dry_run_looks_ahead(cli):
    """What a run writes is dated --now for good: no birthday entry dated 2028."""
    add_member(cli, "C-1", "Ada", "--birthday", "01-02")
    credit(cli, "C-1", 10, "expiring", "--expires", day(5))
    before = _state(cli)
    future = cli("maintain", "run", "--now", day(6), "--json")
    assert future.exit_code == 2
    assert future.json["error"]["code"] == "usage"
    message = flat(future.stderr)
    assert "--now" in message and "--dry-run" in message
    assert _state(cli) == before
    ahead = cli("maintain", "run", "--now", day(6), "--dry-run", "--json")
    assert (ahead.exit_code, ahead.json["expired_points"]) == (0, 10)
    assert _state(cli) == before


def test_a_now_a_few_minutes_ahead_is_a_clock_skew_and_allowed(cli):
    from datetime import UTC, datetime

    soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    assert cli("maintain", "run", "--now", soon).exit_code == 0
    late = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
    assert cli("maintain", "run", "--now", late).exit_code == 2


def test_the_clock_variable_sets_now_for_every_command(cli, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_CLOCK", "2031-05-06T07:08:09Z")
    add_member(cli, "C-1", "Ada")
    assert credit(cli, "C-1", 5).exit_code == 0
    assert history(cli, "C-1")[0]["at"].startswith("2031-05-06T07:08")
    assert cli("maintain", "run", "--json").json["now"].startswith("2031-05-06T07:08")
    # --now may go up to the clock, and no further
    assert cli("maintain", "run", "--now", "2031-05-06T07:00:00Z").exit_code == 0
    assert cli("maintain", "run", "--now", "2031-05-07").exit_code == 2
    monkeypatch.delenv("LOYALTYCTL_CLOCK")
    assert not cli("maintain", "run", "--json").json["now"].startswith("2031")


def test_a_clock_that_is_no_time_is_an_environment_problem(cli, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_CLOCK", "next tuesday")
    result = cli("member", "list", "--json")
    assert result.exit_code == 4
    assert "LOYALTYCTL_CLOCK" in result.json["error"]["message"]
