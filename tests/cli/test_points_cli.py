"""`points credit | write-off | balance | history` as a user and a script see them."""

from __future__ import annotations

import csv
import io
import time

import pytest

from tests.cli.helpers import (
    SPEC_ENTRY_FIELDS,
    add_member,
    balance,
    credit,
    day,
    flat,
    history,
    maintain_at,
)


@pytest.fixture
def ada(cli):
    add_member(cli, "C-1", "Ada Lovelace")
    return "C-1"


# --- JSON shapes --------------------------------------------------------------------


def test_credit_prints_the_spec_fields(cli, ada):
    result = credit(cli, ada, 500, "Won the Friday tournament")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert {"entry_id", "member", "amount", "balance", "pending", "replayed"} <= set(doc)
    assert (doc["member"], doc["amount"], doc["balance"], doc["pending"]) == (ada, 500, 500, 0)
    assert doc["replayed"] is False
    assert isinstance(doc["entry_id"], int)


def test_write_off_amount_is_signed(cli, ada):
    credit(cli, ada, 500)
    result = cli("points", "write-off", ada, "200", "--reason", "Credited by mistake", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert (doc["amount"], doc["balance"], doc["replayed"]) == (-200, 300, False)
    assert balance(cli, ada)["balance"] == 300


def test_balance_prints_the_spec_fields(cli, ada):
    credit(cli, ada, 120)
    doc = balance(cli, ada)
    assert {"member", "balance", "pending", "expiring"} <= set(doc)
    assert (doc["member"], doc["balance"], doc["pending"], doc["expiring"]) == (ada, 120, 0, [])


def test_history_lists_entries_newest_first_with_the_spec_fields(cli, ada):
    first = credit(cli, ada, 500, "Tournament").json
    second = cli("points", "write-off", ada, "200", "--reason", "Mistake", "--json").json
    result = cli("points", "history", ada, "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert doc["member"] == ada
    entries = doc["entries"]
    assert [e["id"] for e in entries] == [second["entry_id"], first["entry_id"]]
    for entry in entries:
        assert set(entry) >= SPEC_ENTRY_FIELDS
        assert entry["at"].endswith("Z")
        assert entry["operator"] == "tester"
        assert entry["key"] is None and entry["expires_at"] is None
        assert (entry["rule"], entry["event_id"], entry["order_id"], entry["claim_id"]) == (
            None,
            None,
            None,
            None,
        )
    assert (entries[0]["kind"], entries[0]["amount"], entries[0]["reason"]) == (
        "write_off",
        -200,
        "Mistake",
    )
    assert (entries[1]["kind"], entries[1]["amount"], entries[1]["reason"]) == (
        "credit",
        500,
        "Tournament",
    )


def test_history_limit_keeps_the_newest(cli, ada):
    for amount in (1, 2, 3):
        credit(cli, ada, amount)
    result = cli("points", "history", ada, "--limit", "2", "--json")
    assert result.exit_code == 0
    assert [e["amount"] for e in result.json["entries"]] == [3, 2]


def test_history_csv_neutralises_formula_reasons(cli, ada):
    credit(cli, ada, 5, '=HYPERLINK("http://evil.example","x")')
    result = cli("points", "history", ada, "--csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["reason"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[0]["amount"] == "5"


def test_human_output_reports_the_credit_on_stdout(cli, ada):
    result = cli("points", "credit", ada, "500", "--reason", "Tournament")
    assert result.exit_code == 0, result.stderr
    assert "500" in result.stdout and ada in result.stdout
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout  # no colour codes when not on a terminal


# --- operator -----------------------------------------------------------------------


def test_operator_comes_from_the_environment(cli, ada):
    credit(cli, ada, 10)
    assert history(cli, ada)[0]["operator"] == "tester"


def test_operator_flag_wins_over_the_environment(cli, ada):
    result = cli("--operator", "alice", "points", "credit", ada, "10", "--reason", "x", "--json")
    assert result.exit_code == 0, result.stderr
    assert history(cli, ada)[0]["operator"] == "alice"


# --- idempotency keys ---------------------------------------------------------------


def test_same_key_same_content_replays_the_original(cli, ada):
    first = credit(cli, ada, 70, "Bonus", "--key", "bonus-1")
    assert first.exit_code == 0 and first.json["replayed"] is False
    again = credit(cli, ada, 70, "Bonus", "--key", "bonus-1")
    assert again.exit_code == 0, again.stderr
    assert again.json["replayed"] is True
    assert again.json["entry_id"] == first.json["entry_id"]
    assert again.json["balance"] == 70
    assert balance(cli, ada)["balance"] == 70
    assert len(history(cli, ada)) == 1
    assert history(cli, ada)[0]["key"] == "bonus-1"


def test_replayed_write_off_reports_the_original(cli, ada):
    credit(cli, ada, 100)
    args = ("points", "write-off", ada, "30", "--reason", "fix", "--key", "fix-1", "--json")
    first = cli(*args)
    again = cli(*args)
    assert again.exit_code == 0, again.stderr
    assert again.json["replayed"] is True
    assert (again.json["entry_id"], again.json["amount"]) == (first.json["entry_id"], -30)
    assert balance(cli, ada)["balance"] == 70


def test_human_output_says_a_replay_changed_nothing(cli, ada):
    credit(cli, ada, 70, "Bonus", "--key", "bonus-1")
    result = cli("points", "credit", ada, "70", "--reason", "Bonus", "--key", "bonus-1")
    assert result.exit_code == 0
    assert "already" in result.stdout.lower()


def test_same_key_different_content_is_refused_and_changes_nothing(cli, ada):
    add_member(cli, "C-2", "Alan Turing")
    credit(cli, ada, 70, "Bonus", "--key", "bonus-1")
    others = {
        "amount": ("points", "credit", "C-1", "71", "--reason", "Bonus"),
        "reason": ("points", "credit", "C-1", "70", "--reason", "Other reason"),
        "member": ("points", "credit", "C-2", "70", "--reason", "Bonus"),
        "expiry": ("points", "credit", "C-1", "70", "--reason", "Bonus", "--expires", "2099-01-01"),
        "write-off": ("points", "write-off", "C-1", "70", "--reason", "Bonus"),
    }
    for what, args in others.items():
        result = cli(*args, "--key", "bonus-1", "--json")
        assert result.exit_code == 1, what
        assert result.json["error"]["code"] == "idempotency_conflict", what
        assert "bonus-1" in flat(result.stderr), what
    assert balance(cli, "C-1")["balance"] == 70
    assert balance(cli, "C-2")["balance"] == 0
    assert len(history(cli, "C-1")) == 1


def test_repeating_a_keyed_expires_in_credit_replays(cli, ada):
    args = ("points", "credit", ada, "10", "--reason", "Promo", "--key", "promo-1")
    first = cli(*args, "--expires-in", "90d", "--json")
    assert first.exit_code == 0, first.stderr
    time.sleep(1.1)  # a retry a moment later, as a script would do it
    again = cli(*args, "--expires-in", "90d", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json["replayed"] is True
    assert again.json["entry_id"] == first.json["entry_id"]


# --- bad arguments ------------------------------------------------------------------


BAD_AMOUNTS = ["-5", "0", "1.5", "abc", "1000000001", "1e3", "+5", ""]


@pytest.mark.parametrize("command", ["credit", "write-off"])
def test_a_bad_amount_is_a_usage_error_and_changes_nothing(cli, ada, command):
    credit(cli, ada, 100)
    for amount in BAD_AMOUNTS:
        result = cli("points", command, ada, amount, "--reason", "x", "--json")
        assert result.exit_code == 2, (amount, result.stdout, result.stderr)
        assert result.json["error"]["code"] == "usage", amount
        assert result.json["error"]["message"], amount
        assert result.stderr.strip(), amount
    assert balance(cli, ada)["balance"] == 100
    assert len(history(cli, ada)) == 1


def test_a_bad_amount_without_json_prints_only_to_stderr(cli, ada):
    result = cli("points", "credit", ada, "1.5", "--reason", "x")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "1.5" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_global_option_with_json_prints_the_error_document(cli):
    result = cli("--bogus", "points", "balance", "C-1", "--json")
    assert result.exit_code == 2
    assert result.json["error"]["code"] == "usage"


def test_the_largest_amount_is_accepted(cli, ada):
    result = credit(cli, ada, "1000000000")
    assert result.exit_code == 0, result.stderr
    assert balance(cli, ada)["balance"] == 1_000_000_000


def test_reason_is_required(cli, ada):
    result = cli("points", "credit", ada, "10", "--json")
    assert result.exit_code == 2
    assert result.json["error"]["code"] == "usage"
    blank = cli("points", "credit", ada, "10", "--reason", "   ", "--json")
    assert blank.exit_code == 2
    assert history(cli, ada) == []


def test_expires_and_expires_in_together_is_a_usage_error(cli, ada):
    result = credit(cli, ada, 10, "x", "--expires", "2099-01-01", "--expires-in", "90d")
    assert result.exit_code == 2
    assert result.json["error"]["code"] == "usage"
    assert "--expires" in flat(result.stderr)
    assert history(cli, ada) == []


def test_a_bad_date_or_duration_is_a_usage_error(cli, ada):
    for option in (
        ("--expires", "2099-02-30"),
        ("--expires", "tomorrow"),
        ("--expires-in", "soon"),
        ("--expires-in", "0d"),
        ("--pending-until", "x"),
        ("--pending-until", day(10), "--expires", day(5)),  # expires before it matures
    ):
        result = credit(cli, ada, 10, "x", *option)
        assert result.exit_code == 2, (option, result.stderr)
        assert result.json["error"]["code"] == "usage", option
    assert history(cli, ada) == []


def test_an_expiry_in_the_past_is_refused(cli, ada):
    result = credit(cli, ada, 10, "x", "--expires", "2000-01-01")
    assert result.exit_code == 2
    assert history(cli, ada) == []


# --- business refusals --------------------------------------------------------------


def test_write_off_below_zero_is_refused(cli, ada):
    credit(cli, ada, 100)
    result = cli("points", "write-off", ada, "101", "--reason", "too much", "--json")
    assert result.exit_code == 1
    error = result.json["error"]
    assert error["code"] == "insufficient_balance"
    assert error["message"]
    message = flat(result.stderr)
    assert message.startswith("error:")
    assert "100" in message and "below zero" in message
    assert balance(cli, ada)["balance"] == 100
    assert len(history(cli, ada)) == 1


def test_write_off_below_zero_without_json_prints_nothing_on_stdout(cli, ada):
    result = cli("points", "write-off", ada, "1", "--reason", "nothing there")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "\x1b[" not in result.stderr
    assert "below zero" in flat(result.stderr)
    assert "Traceback" not in result.stderr


def test_write_off_of_the_whole_balance_reaches_zero(cli, ada):
    credit(cli, ada, 100)
    result = cli("points", "write-off", ada, "100", "--reason", "all", "--json")
    assert result.exit_code == 0
    assert result.json["balance"] == 0


def test_unknown_member_is_refused_with_a_suggestion(cli):
    add_member(cli, "C-1001", "Ada Lovelace")
    for args in (
        ("points", "credit", "C-1000", "10", "--reason", "x"),
        ("points", "write-off", "C-1000", "10", "--reason", "x"),
        ("points", "balance", "C-1000"),
        ("points", "history", "C-1000"),
    ):
        result = cli(*args, "--json")
        assert result.exit_code == 1, args
        assert result.json["error"]["code"] == "unknown_member", args
        message = flat(result.stderr)
        assert "C-1000" in message, args
        assert "C-1001" in message, args  # did you mean
    assert balance(cli, "C-1001")["balance"] == 0


# --- expiry, time zone, pending -----------------------------------------------------


def test_expires_means_the_end_of_that_day_in_utc(cli, ada, monkeypatch):
    result = credit(cli, ada, 10, "x", "--expires", "2099-01-01")
    assert result.exit_code == 0, result.stderr
    assert history(cli, ada)[0]["expires_at"] == "2099-01-01T23:59:59Z"
    assert balance(cli, ada)["expiring"] == []  # not within the default 30 days
    monkeypatch.setenv("LOYALTYCTL_EXPIRING_SOON_DAYS", "40000")
    assert balance(cli, ada)["expiring"] == [{"amount": 10, "expires_at": "2099-01-01T23:59:59Z"}]


def test_the_program_time_zone_decides_the_end_of_day(cli, ada, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_TIMEZONE", "Europe/Berlin")
    for day_text, expected in (
        ("2099-01-01", "2099-01-01T22:59:59Z"),  # CET, UTC+1
        ("2099-07-01", "2099-07-01T21:59:59Z"),  # CEST, UTC+2
        ("2099-01-01T10:00", "2099-01-01T09:00:00Z"),  # a time without offset: Berlin
        ("2099-01-01T10:00+05:00", "2099-01-01T05:00:00Z"),  # an offset wins
        ("2099-01-01T10:00Z", "2099-01-01T10:00:00Z"),
    ):
        result = credit(cli, ada, 10, "x", "--expires", day_text)
        assert result.exit_code == 0, result.stderr
        assert history(cli, ada)[0]["expires_at"] == expected


def test_expiring_soon_lists_lots_within_the_window(cli, ada):
    credit(cli, ada, 10, "soon", "--expires", day(10))
    credit(cli, ada, 20, "later", "--expires", day(200))
    credit(cli, ada, 30, "never")
    doc = balance(cli, ada)
    assert doc["balance"] == 60
    assert doc["expiring"] == [{"amount": 10, "expires_at": f"{day(10)}T23:59:59Z"}]


def test_write_off_takes_the_soonest_expiring_points_first(cli, ada, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_EXPIRING_SOON_DAYS", "40000")
    credit(cli, ada, 100, "never expires")
    credit(cli, ada, 50, "late", "--expires", "2099-01-01")
    credit(cli, ada, 30, "early", "--expires", "2098-01-01")
    result = cli("points", "write-off", ada, "40", "--reason", "spend", "--json")
    assert result.exit_code == 0, result.stderr
    doc = balance(cli, ada)
    assert doc["balance"] == 140
    assert doc["expiring"] == [{"amount": 40, "expires_at": "2099-01-01T23:59:59Z"}]


def test_pending_points_are_not_spendable_until_maintain_matures_them(cli, ada, monkeypatch):
    result = credit(cli, ada, 40, "Order 1001", "--pending-until", day(10))
    assert result.exit_code == 0, result.stderr
    assert (result.json["balance"], result.json["pending"]) == (0, 40)
    doc = balance(cli, ada)
    assert (doc["balance"], doc["pending"]) == (0, 40)
    entry = history(cli, ada)[0]
    assert (entry["amount"], entry["pending_amount"]) == (0, 40)
    assert entry["pending_until"] == f"{day(10)}T23:59:59Z"

    spend = cli("points", "write-off", ada, "1", "--reason", "too early", "--json")
    assert spend.exit_code == 1
    assert spend.json["error"]["code"] == "insufficient_balance"

    early = maintain_at(cli, monkeypatch, day(9), "--json")
    assert early.exit_code == 0, early.stderr
    assert early.json["matured_lots"] == 0
    assert balance(cli, ada)["pending"] == 40

    due = maintain_at(cli, monkeypatch, day(11), "--json")
    assert due.exit_code == 0, due.stderr
    assert (due.json["matured_lots"], due.json["matured_points"]) == (1, 40)
    doc = balance(cli, ada)
    assert (doc["balance"], doc["pending"]) == (40, 0)
    assert history(cli, ada)[0]["kind"] == "mature"

    again = maintain_at(cli, monkeypatch, day(11), "--json")
    assert again.json["matured_lots"] == 0
    assert balance(cli, ada)["balance"] == 40


def test_a_keyed_pending_credit_replays(cli, ada):
    args = ("--pending-until", day(10), "--key", "order-1001")
    first = credit(cli, ada, 40, "Order 1001", *args)
    again = credit(cli, ada, 40, "Order 1001", *args)
    assert again.exit_code == 0, again.stderr
    assert again.json["replayed"] is True
    assert again.json["entry_id"] == first.json["entry_id"]
    assert balance(cli, ada)["pending"] == 40


def test_history_csv_has_the_json_columns(cli, ada):
    credit(cli, ada, 40, "Order 1001", "--key", "k-1", "--expires", day(30))
    doc = cli("points", "history", ada, "--json").json
    table = cli("points", "history", ada, "--csv")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert list(rows[0]) == list(doc["entries"][0])
    assert rows[0]["key"] == "k-1" and rows[0]["expires_at"] == doc["entries"][0]["expires_at"]
