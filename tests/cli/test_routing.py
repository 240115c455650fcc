"""`--read-url`: the read-only commands of cli/_routing.py read the replica, everything
else the primary. Shown on SQLite with a copy of the database standing in for a replica
(what it holds differs from the primary, so each read shows where it came from); the
real PostgreSQL standby and pooler are in tests/test_replica_and_pooler.py."""

from __future__ import annotations

import sqlite3

import pytest

from loyaltyctl.cli._permissions import PERMISSIONS
from loyaltyctl.cli._routing import READS_FROM_REPLICA
from tests.cli.helpers import add_member, flat


def test_every_routed_command_has_a_permission_line():
    assert set(PERMISSIONS) >= READS_FROM_REPLICA, READS_FROM_REPLICA - set(PERMISSIONS)


def test_no_writer_is_routed_to_the_replica():
    writers = {"perk claim", "points credit", "promo redeem", "coupon use", "maintain run"}
    assert not READS_FROM_REPLICA & writers


@pytest.fixture
def replica(cli, tmp_path):
    """A copy of the primary taken after C-1 was added; C-2 is added to the primary only."""
    if not cli.url.startswith("sqlite"):
        pytest.skip("a copied SQLite file stands in for the replica here")
    add_member(cli, "C-1", "In Both")
    copy = tmp_path / "replica.db"
    with sqlite3.connect(cli.url.split("///", 1)[1]) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    add_member(cli, "C-2", "Primary Only")
    return f"sqlite:///{copy}"


def _members(result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return sorted(m["external_id"] for m in result.json)


def test_read_only_commands_read_the_replica(cli, replica, monkeypatch, tmp_path):
    assert _members(cli("--read-url", replica, "member", "list", "--json")) == ["C-1"]
    overview = cli("--read-url", replica, "stats", "overview", "--json")
    assert overview.json["members"] == 1
    missing = cli("--read-url", replica, "member", "show", "C-2", "--json")
    assert missing.exit_code == 1 and missing.json["error"]["code"] == "unknown_member"
    # the environment and the config file name it too; `--read-url ''` reads the primary
    monkeypatch.setenv("LOYALTYCTL_READ_URL", replica)
    assert _members(cli("member", "list", "--json")) == ["C-1"]
    assert _members(cli("--read-url", "", "member", "list", "--json")) == ["C-1", "C-2"]
    monkeypatch.delenv("LOYALTYCTL_READ_URL")
    (tmp_path / "loyaltyctl.toml").write_text(f'read_url = "{replica}"\n')
    assert _members(cli("member", "list", "--json")) == ["C-1"]


def test_writes_and_their_reads_use_the_primary(cli, replica):
    # C-2 exists only on the primary: a write that found it read the primary
    done = cli("--read-url", replica, "points", "credit", "C-2", "50", "--reason", "hi", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json["balance"] == 50
    assert _members(cli("--read-url", replica, "member", "list", "--json")) == ["C-1"]
    assert _members(cli("member", "list", "--json")) == ["C-1", "C-2"]


def test_audit_verify_says_which_database_it_read(cli, replica):
    on_replica = cli("--read-url", replica, "audit", "verify", "--json")
    assert on_replica.exit_code == 0, on_replica.stderr
    assert on_replica.json["read_from"]["database"] == "replica"
    assert on_replica.json["read_from"]["url"] == replica
    assert on_replica.json["members"] == 1
    on_primary = cli("audit", "verify")
    assert on_primary.exit_code == 0
    assert f"Read from the primary ({cli.url})" in flat(on_primary.stdout)
    human = cli("--read-url", replica, "audit", "verify")
    assert f"Read from the replica ({replica})" in flat(human.stdout)
