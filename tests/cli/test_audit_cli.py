"""`audit log` and `audit verify`: who changed what, and changes behind the tool's back."""

from __future__ import annotations

import pytest

from tests.cli.helpers import add_member, credit, day, execute, flat, tamper


@pytest.fixture
def ada(cli):
    add_member(cli, "C-1", "Ada Lovelace")
    return "C-1"


def test_audit_log_lists_a_credit_with_operator_and_reason(cli, ada):
    entry_id = credit(cli, ada, 500, "Won the Friday tournament").json["entry_id"]
    result = cli("audit", "log", "--json")
    assert result.exit_code == 0, result.stderr
    records = result.json
    credits = [r for r in records if r["action"] == "points.credit"]
    assert len(credits) == 1
    record = credits[0]
    assert record["operator"] == "tester"
    assert record["reason"] == "Won the Friday tournament"
    assert record["subject"] == "member:C-1"
    assert record["amount"] == 500
    assert str(entry_id) in record["ref"]
    assert record["at"].endswith("Z")
    added = [r for r in records if r["action"] == "member.add"]
    assert [(r["subject"], r["operator"]) for r in added] == [("member:C-1", "tester")]
    assert records[0]["action"] == "points.credit"  # newest first


def test_audit_log_filters_by_operator_and_since(cli, ada):
    credit(cli, ada, 5, "by tester")
    cli("--operator", "alice", "points", "write-off", ada, "2", "--reason", "by alice")
    alice = cli("audit", "log", "--operator", "alice", "--json")
    assert alice.exit_code == 0
    assert [(r["action"], r["reason"], r["amount"]) for r in alice.json] == [
        ("points.write_off", "by alice", -2)
    ]
    later = cli("audit", "log", "--since", day(1), "--json")
    assert later.exit_code == 0
    assert later.json == []
    today = cli("audit", "log", "--since", day(0), "--json")
    assert len(today.json) == 3


def test_audit_log_human_and_csv(cli, ada):
    credit(cli, ada, 5, "=cmd|' /C calc'!A0")
    human = cli("audit", "log")
    assert human.exit_code == 0
    assert "tester" in human.stdout
    as_csv = cli("audit", "log", "--csv")
    assert as_csv.exit_code == 0
    assert "'=cmd|" in as_csv.stdout


def test_audit_verify_passes_on_an_untouched_database(cli, ada):
    credit(cli, ada, 500, "Tournament")
    cli("points", "write-off", ada, "100", "--reason", "Mistake")
    cli("member", "update", ada, "--add-tag", "vip")
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["ok"] is True
    human = cli("audit", "verify")
    assert human.exit_code == 0
    assert "OK" in human.stdout


def test_a_ledger_amount_changed_behind_the_tools_back_is_named(cli, ada):
    credit(cli, ada, 500, "Tournament")
    entry_id = credit(cli, ada, 70, "Coffee").json["entry_id"]
    credit(cli, ada, 30, "Later")
    assert cli("audit", "verify").exit_code == 0

    tamper(cli.url, "UPDATE ledger_entry SET amount = 7000 WHERE id = :id", {"id": entry_id})

    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1
    error = result.json["error"]
    assert error["code"] == "audit_failed"
    assert f"ledger entry {entry_id}" in error["message"]
    assert f"ledger entry {entry_id}" in flat(result.stderr)
    human = cli("audit", "verify")
    assert human.exit_code == 1
    assert human.stdout == ""


def test_a_cached_balance_changed_behind_the_tools_back_is_named(cli, ada):
    credit(cli, ada, 500, "Tournament")
    execute(cli.url, "UPDATE member SET balance = 5000 WHERE external_id = 'C-1'")
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "audit_failed"
    assert "C-1" in result.json["error"]["message"]


def test_a_removed_last_entry_is_noticed(cli, ada):
    credit(cli, ada, 500, "Tournament")
    last = credit(cli, ada, 5, "Coffee").json["entry_id"]
    tamper(cli.url, "DELETE FROM ledger_entry WHERE id = :id", {"id": last})
    execute(cli.url, "UPDATE member SET balance = 500 WHERE external_id = 'C-1'")
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "audit_failed"
    assert "C-1" in result.json["error"]["message"]


def test_an_altered_member_change_record_is_noticed(cli, ada):
    cli("member", "update", ada, "--name", "Augusta Ada King")
    tamper(cli.url, "UPDATE audit_event SET operator = 'mallory'")
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "audit_failed"
    assert "audit event" in result.json["error"]["message"]
