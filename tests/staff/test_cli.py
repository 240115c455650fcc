"""Staff and roles through the CLI (spec §8), on SQLite and PostgreSQL: nothing changes
until the first `staff add`; from then on every command checks its operator's role, the
operator recorded is the login, and a refusal changes nothing.

The logins are real: OS logins (LOGNAME/USER, what getpass reads) on SQLite, login
roles of the test cluster on PostgreSQL (tests/_staff.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.staff.clubs import program, staffed

ROOT = Path(__file__).resolve().parents[2]


# commands that print a document rather than a result: no --json
NO_JSON = {("perk", "export"), ("promo", "export")}


def _refused(result, needs: str) -> dict:
    """A not_permitted refusal naming the role that may: exit 1, one JSON error."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert needs in " ".join(result.stderr.split())
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "not_permitted", error
    assert needs in error["message"], error["message"]
    assert "Traceback" not in result.stderr
    return error


def _operators(club, member: str = "C-1") -> list[str]:
    return [e["operator"] for e in club.json(None, "points", "history", member)["entries"]]


def test_without_staff_nothing_is_checked_and_the_operator_is_as_given(club):
    program(club)
    club.ok(None, "--operator", "intern", "points", "write-off", "C-1", 10, "--reason", "x")
    assert _operators(club)[0] == "intern"
    me = club.json(None, "--operator", "intern", "whoami")
    assert me["enforced"] is False and me["role"] is None and me["operator"] == "intern"
    assert "apply" in me["may"] and "staff add" in me["may"]
    assert club.json(None, "staff", "list") == []


def test_the_first_staff_add_makes_the_running_login_an_owner_and_turns_roles_on(club):
    program(club)
    bob = club.login("bob")
    change = club.json(None, "staff", "add", bob, "--role", "administrator")
    assert change["owner_adopted"] == club.owner and change["action"] == "added"
    roster = {row["login"]: row["role"] for row in club.json(None, "staff", "list")}
    assert roster == {club.owner: "owner", bob: "administrator"}
    me = club.json(None, "whoami")
    assert (me["operator"], me["role"], me["enforced"]) == (club.owner, "owner", True)
    events = club.json(None, "audit", "log")
    added = {e["subject"]: e["operator"] for e in events if e["action"] == "staff.add"}
    assert added == {f"staff:{club.owner}": club.owner, f"staff:{bob}": club.owner}


def test_the_first_staff_member_is_the_login_running_it(club):
    result = club.cli(None, "staff", "add", club.owner, "--role", "manager", "--json")
    assert result.exit_code == 2
    assert club.json(None, "staff", "list") == []
    change = club.json(None, "staff", "add", club.owner, "--role", "owner")
    assert change["owner_adopted"] == club.owner
    assert [r["login"] for r in club.json(None, "staff", "list")] == [club.owner]


def test_once_staff_exist_the_login_is_recorded_whatever_operator_says(club):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    flag = club.cli(bob, "--operator", "intern", "points", "credit", "C-1", 10, "--reason", "x")
    assert flag.exit_code == 0, flag.stderr
    assert "--operator 'intern' is ignored" in " ".join(flag.stderr.split())
    env = club.cli(
        bob, "points", "write-off", "C-1", 5, "--reason", "y", env={"LOYALTYCTL_OPERATOR": "boss"}
    )
    assert env.exit_code == 0 and "LOYALTYCTL_OPERATOR 'boss' is ignored" in env.stderr
    club.ok(bob, "member", "update", "C-1", "--add-tag", "vip")
    assert _operators(club)[:2] == [bob, bob]
    events = club.json(None, "audit", "log", "--operator", bob)
    assert {e["action"] for e in events} == {"points.credit", "points.write_off", "member.update"}


def test_an_administrator_works_the_counter_within_the_cap(club):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    club.ok(bob, "member", "add", "C-9", "--name", "New Member", "--phone", "+44 20 7946 0999")
    club.ok(bob, "member", "update", "C-9", "--email", "new@example.org")
    club.ok(bob, "member", "find", "0999")
    claim = club.json(bob, "perk", "claim", "free-coffee", "--member", "C-1")
    redemption = club.json(bob, "promo", "redeem", "WINTER50", "--member", "C-2")
    assert redemption["points"] == 100 and redemption["perks"][0]["slug"] == "free-coffee"
    assert club.json(bob, "points", "credit", "C-9", 1000, "--reason", "welcome")["balance"] == 1000
    club.ok(bob, "points", "credit", "C-9", 300, "--reason", "later", "--expires-in", "30d")
    club.ok(
        bob, "points", "credit", "C-9", 200, "--reason", "held", "--pending-until", "2099-01-01"
    )
    club.ok(bob, "points", "write-off", "C-9", 1000, "--reason", "mistake")
    club.ok(bob, "claim", "show", claim["claim_id"])
    club.ok(bob, "stats", "overview")
    assert club.json(bob, "audit", "verify")["ok"] is True
    before = club.snapshot()
    error = _refused(
        club.cli(bob, "points", "credit", "C-9", 1001, "--reason", "too much", "--json"),
        "a manager",
    )
    assert error["role"] == "administrator" and error["command"] == "points credit"
    assert "1,000" in error["message"]
    _refused(
        club.cli(bob, "points", "write-off", "C-1", 1001, "--reason", "x", "--json"), "manager"
    )
    assert club.snapshot() == before


def test_an_administrator_is_refused_what_needs_a_manager_or_an_owner(club, tmp_path):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    claim = club.json(None, "perk", "claim", "free-coffee", "--member", "C-1")["claim_id"]
    points = tmp_path / "points.csv"
    points.write_text("member,amount,reason\nC-1,5,bulk\n")
    refused = {
        ("apply", ROOT / "config" / "program"): "a manager",
        ("points", "import", points): "a manager",
        ("member", "import", ROOT / "fixtures" / "members.csv"): "a manager",
        ("events", "ingest", ROOT / "fixtures" / "events.jsonl"): "a manager",
        ("perk", "disable", "free-coffee"): "a manager",
        ("perk", "export", "--reveal-secrets"): "a manager",
        ("claim", "show", claim, "--reveal"): "a manager",
        ("claim", "cancel", claim, "--reason", "x"): "a manager",
        ("promo", "create", "spring", "--name", "Spring", "--points", "5"): "a manager",
        ("promo", "export", "winter-2026"): "a manager",
        ("promo", "show", "winter-2026", "--reveal"): "a manager",
        ("maintain", "run"): "a manager",
        ("keys", "rotate"): "an owner",
        ("staff", "add", club.login("eve"), "--role", "administrator"): "an owner",
        ("staff", "cap", 5000): "an owner",
        ("db", "upgrade"): "an owner",
        ("init",): "an owner",
    }
    keys_before = club.keys_file.read_bytes()
    before = club.snapshot()
    for command, needs in refused.items():
        if tuple(command[:2]) in NO_JSON:
            result = club.cli(bob, *command)
            assert result.exit_code == 1 and not result.stdout
            assert f"needs {needs}" in " ".join(result.stderr.split())
            continue
        error = _refused(club.cli(bob, *command, "--json"), needs)
        assert error["operator"] == bob and error["role"] == "administrator"
    assert club.snapshot() == before
    assert club.keys_file.read_bytes() == keys_before  # keys rotate writes the file first


def test_a_manager_runs_everything_but_the_keys_the_schema_and_the_staff(club, tmp_path):
    program(club)
    logins = staffed(club, mia="manager", bob="administrator")
    mia = logins["mia"]
    points = tmp_path / "points.csv"
    points.write_text("member,amount,reason\nC-1,5000,bulk\nC-2,-10,fix\n")
    club.ok(mia, "apply", ROOT / "config" / "program")
    club.ok(mia, "member", "import", ROOT / "fixtures" / "members.csv")
    club.ok(mia, "points", "credit", "C-3", 50_000, "--reason", "any size")
    club.ok(mia, "points", "import", points)
    club.ok(mia, "events", "ingest", ROOT / "fixtures" / "events.jsonl")
    claim = club.json(mia, "perk", "claim", "free-coffee", "--member", "C-1")["claim_id"]
    club.ok(mia, "claim", "show", claim, "--reveal")
    club.ok(mia, "claim", "cancel", claim, "--reason", "changed their mind")
    club.ok(mia, "promo", "generate", "winter-2026", "--count", 20)
    club.ok(mia, "maintain", "run")
    club.ok(mia, "perk", "export", "--reveal-secrets")
    assert club.json(mia, "audit", "verify")["ok"] is True
    before = club.snapshot()
    for command in (
        ("keys", "rotate"),
        ("db", "upgrade"),
        ("staff", "add", club.login("eve"), "--role", "administrator"),
        ("staff", "set-role", logins["bob"], "manager"),
        ("staff", "remove", logins["bob"]),
        ("staff", "cap", 5000),
    ):
        _refused(club.cli(mia, *command, "--json"), "an owner")
    assert club.snapshot() == before


def test_the_owner_runs_everything(club):
    program(club)
    staffed(club, bob="administrator")
    club.ok(None, "keys", "rotate")
    club.ok(None, "db", "upgrade")
    club.ok(None, "init")
    club.ok(None, "points", "credit", "C-1", 100_000, "--reason", "any size")
    assert club.json(None, "audit", "verify")["ok"] is True


def test_a_login_that_is_not_staff_may_only_ask_who_it_is(club):
    program(club)
    staffed(club, bob="administrator")
    eve = club.login("eve")
    if club.backend == "postgresql":  # a login of the cluster, not of this club
        club.sql(club.owner, f'CREATE ROLE "{eve}" LOGIN')
    before = club.snapshot()
    error = _refused(club.cli(eve, "points", "balance", "C-1", "--json"), eve)
    assert error["role"] is None
    _refused(club.cli(eve, "member", "add", "C-7", "--name", "X", "--json"), eve)
    me = club.json(eve, "whoami")
    assert (me["operator"], me["role"], me["may"], me["enforced"]) == (eve, None, [], True)
    assert club.snapshot() == before


def test_the_cap_is_an_owners_audited_setting_in_the_database(club, tmp_path):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    change = club.json(None, "staff", "cap", 2000)
    assert change == {"cap": 2000, "previous": 1000, "changed": True}
    assert club.json(bob, "whoami")["cap"] == 2000
    club.ok(bob, "points", "credit", "C-1", 2000, "--reason", "within the new cap")
    _refused(club.cli(bob, "points", "credit", "C-1", 2001, "--reason", "x", "--json"), "manager")
    # no environment variable or config file reaches it
    over = club.cli(
        bob,
        "points",
        "credit",
        "C-1",
        5000,
        "--reason",
        "x",
        "--json",
        env={"LOYALTYCTL_ADMINISTRATOR_CAP": "10000"},
    )
    _refused(over, "manager")
    config = tmp_path / "settings" / "club.toml"
    config.parent.mkdir()
    config.write_text("administrator_cap = 10000\n")
    assert club.cli(bob, "--config", config, "whoami").exit_code == 4
    events = [e for e in club.json(None, "audit", "log") if e["action"] == "staff.cap"]
    assert [(e["operator"], e["details"]) for e in events] == [
        (club.owner, {"cap": 2000, "previous": 1000})
    ]
    assert club.json(None, "staff", "cap", 2000)["changed"] is False


def test_roles_change_and_a_removed_member_keeps_their_history(club):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    club.ok(bob, "points", "credit", "C-1", 100, "--reason", "counter")
    _refused(club.cli(bob, "apply", ROOT / "config" / "program", "--json"), "a manager")
    assert club.json(None, "staff", "set-role", bob, "manager")["previous_role"] == "administrator"
    club.ok(bob, "apply", ROOT / "config" / "program")
    removed = club.json(None, "staff", "remove", bob)
    assert removed["action"] == "removed"
    assert removed["login_disabled"] is (club.backend == "postgresql")  # staff add made it
    error = _refused(club.cli(bob, "points", "balance", "C-1", "--json"), bob)
    assert error["role"] is None
    assert _operators(club)[0] == bob  # the history stays theirs
    actions = [e["action"] for e in club.json(None, "audit", "log", "--operator", bob)]
    assert "points.credit" in actions
    roster = club.json(None, "staff", "list", "--all")
    assert [(r["login"], r["active"]) for r in roster if r["login"] == bob] == [(bob, False)]
    assert bob not in [r["login"] for r in club.json(None, "staff", "list")]
    # back on the staff: the same row, their login enabled again
    assert club.json(None, "staff", "add", bob, "--role", "administrator")["action"] == "readded"
    club.ok(bob, "points", "balance", "C-1")


def test_the_last_owner_stays_an_owner(club):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    before = club.snapshot()
    for command in (("staff", "remove", club.owner), ("staff", "set-role", club.owner, "manager")):
        result = club.cli(None, *command, "--json")
        assert result.exit_code == 1
        assert json.loads(result.stdout)["error"]["code"] == "last_owner"
    assert club.snapshot() == before
    club.ok(None, "staff", "set-role", bob, "owner")
    club.ok(bob, "staff", "set-role", club.owner, "manager")
    assert club.json(None, "whoami")["role"] == "manager"


def test_adding_twice_and_unknown_staff(club):
    bob = staffed(club, bob="administrator")["bob"]
    assert club.json(None, "staff", "add", bob, "--role", "administrator")["action"] == "unchanged"
    twice = club.cli(None, "staff", "add", bob, "--role", "manager", "--json")
    assert twice.exit_code == 1 and json.loads(twice.stdout)["error"]["code"] == "staff_exists"
    nobody = club.login("nobody")
    for command in (("staff", "remove", nobody), ("staff", "set-role", nobody, "manager")):
        result = club.cli(None, *command, "--json")
        assert result.exit_code == 1
        assert json.loads(result.stdout)["error"]["code"] == "unknown_staff"


@pytest.mark.parametrize(
    "args",
    [
        ("staff", "add", "pg_monitor", "--role", "manager"),
        ("staff", "add", "loyalty_owner", "--role", "owner"),
        ("staff", "add", "1bob", "--role", "manager"),
        ("staff", "add", "bob", "--role", "boss"),
        ("staff", "add", "bob smith", "--role", "manager"),
        ("staff", "cap", "-5"),
        ("staff", "cap", "1.5"),
        ("staff", "set-role", "bob", "king"),
    ],
)
def test_bad_names_roles_and_caps_are_usage_errors(club, args):
    result = club.cli(None, *args)
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_human_output_fits_80_columns(club):
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    for login, args in (
        (None, ("staff", "list")),
        (bob, ("whoami",)),
        (None, ("whoami",)),
    ):
        result = club.cli(login, *args, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.stderr
        assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    csv_text = club.ok(None, "staff", "list", "--csv").stdout
    assert csv_text.splitlines()[0] == "login,role,added_at,added_by,status"
