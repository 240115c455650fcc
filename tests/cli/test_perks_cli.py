"""`apply`, `perk ...`, `claim ...`, `certificate verify` and `keys rotate` through the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

PERKS = """\
[[perk]]
slug = "free-coffee"
name = "Free Coffee"
price = 200
category = "experience"
max_supply = 2
max_per_member = 1

[perk.redemption]
type = "code"
value_env = "COFFEE_CODE"
single_use = true
instructions = "Show this code at the bar."

[[perk]]
slug = "guide"
name = "Premium Guide"
price = 50
category = "digital"
valid_from = 2026-01-01T00:00:00Z
audience = { tiers = ["gold"] }

[perk.redemption]
type = "link"
value = "https://files.example.org/guide.pdf"
"""

SECRET = "SECRET-COFFEE-CODE-77"


@pytest.fixture
def program(cli, keys, tmp_path, monkeypatch):
    monkeypatch.setenv("COFFEE_CODE", SECRET)
    folder = tmp_path / "program"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "perks.toml").write_text(PERKS)
    for external_id, tier in (("C-1", "gold"), ("C-2", "silver"), ("C-3", "gold")):
        assert (
            cli("member", "add", external_id, "--name", "A Member", "--tier", tier).exit_code == 0
        )
        assert cli("points", "credit", external_id, "500", "--reason", "seed").exit_code == 0
    return folder


def test_apply_plans_then_applies_and_reapplying_is_a_no_op(cli, program):
    dry = cli("apply", str(program), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert dry.json["dry_run"] is True and dry.json["created"] == 2
    assert cli("perk", "list", "--json").json == []  # the dry run changed nothing
    applied = cli("apply", str(program), "--json")
    assert [(c["slug"], c["action"]) for c in applied.json["changes"]] == [
        ("free-coffee", "create"),
        ("guide", "create"),
    ]
    again = cli("apply", str(program), "--json")
    assert again.json["unchanged"] == 2 and again.json["created"] == again.json["updated"] == 0
    human = cli("apply", str(program))
    assert "Nothing to change" in human.stderr + human.stdout


def test_apply_shows_changed_fields_and_prune_disables(cli, program, tmp_path):
    cli("apply", str(program))
    changed = tmp_path / "changed.toml"
    changed.write_text(
        PERKS.replace("price = 200", "price = 250").split('[[perk]]\nslug = "guide"')[0]
    )
    result = cli("apply", str(changed), "--prune", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["changes"] == [
        {
            "kind": "perk",
            "slug": "free-coffee",
            "action": "update",
            "fields": ["price"],
            "changes": [{"field": "price", "old": 200, "new": 250}],
        },
        {
            "kind": "perk",
            "slug": "guide",
            "action": "disable",
            "fields": ["active"],
            "changes": [{"field": "active", "old": True, "new": False}],
        },
    ]
    assert cli("perk", "show", "guide", "--json").json["active"] is False
    assert [p["slug"] for p in cli("perk", "list", "--all", "--json").json] == [
        "guide",
        "free-coffee",
    ]


def test_bad_files_report_every_problem_and_apply_nothing(cli, program, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.toml").write_text('[[perk]]\nslug = "Bad Slug"\nname = "X"\nprice = -1\nprize = 3\n')
    (bad / "b.toml").write_text('[[perk]]\nslug = "ok"\nname = "broken\n')
    result = cli("apply", str(program), str(bad), "--json")
    assert result.exit_code == 3
    assert result.json["error"]["code"] == "bad_input_file"
    lines = [line for line in result.stderr.splitlines() if ".toml:" in line]
    assert any("a.toml:2:1" in line and "slug" in line for line in lines)
    assert any("a.toml:4:1" in line and "price" in line for line in lines)
    assert any("a.toml:5:1" in line and "prize" in line for line in lines)
    assert any("b.toml:3" in line for line in lines)
    assert cli("perk", "list", "--all", "--json").json == []


def test_problems_found_against_the_database_point_at_their_key(cli, program, tmp_path):
    cli("apply", str(program))
    cli("perk", "claim", "free-coffee", "--member", "C-1")
    cli("perk", "claim", "free-coffee", "--member", "C-2")
    changed = tmp_path / "changed.toml"
    changed.write_text(
        PERKS.replace("max_supply = 2", "max_supply = 1")
        + '\n[[perk]]\nslug = "gift"\nname = "Gift"\nprice = 5\n\n'
        '[perk.redemption]\ntype = "code"\n'
    )
    result = cli("apply", str(changed), "--json")
    assert result.exit_code == 3
    where = [f"{p['line']}:{p['column']}:{p['field']}" for p in result.json["error"]["problems"]]
    assert where == ["6:1:max_supply", f"{PERKS.count(chr(10)) + 7}:1:redemption.value"]
    assert cli("perk", "show", "free-coffee", "--json").json["max_supply"] == 2


def test_claim_prints_the_redemption_and_refusals_have_stable_codes(cli, program):
    cli("apply", str(program))
    claim = cli("perk", "claim", "free-coffee", "--member", "C-1", "--key", "k1", "--json")
    assert claim.exit_code == 0, claim.stderr
    doc = claim.json
    assert {k: doc[k] for k in ("perk", "member", "points_spent", "balance")} == {
        "perk": "free-coffee",
        "member": "C-1",
        "points_spent": 200,
        "balance": 300,
    }
    assert doc["redemption"]["type"] == "code"
    assert doc["redemption"]["value"].startswith(SECRET + "-")
    assert doc["redemption"]["instructions"] == "Show this code at the bar."
    assert doc["certificate_id"] == "CT-" + doc["claim_id"]
    human = cli("perk", "claim", "free-coffee", "--member", "C-1", "--key", "k1")
    assert "Already done" in human.stdout and doc["redemption"]["value"] in human.stdout

    limit = cli("perk", "claim", "free-coffee", "--member", "C-1", "--json")
    assert (limit.exit_code, limit.json["error"]["code"]) == (1, "member_limit")
    assert "member show" in limit.stderr
    assert cli("perk", "claim", "free-coffee", "--member", "C-2").exit_code == 0
    sold = cli("perk", "claim", "free-coffee", "--member", "C-3", "--json")
    assert (sold.exit_code, sold.json["error"]["code"]) == (1, "sold_out")
    audience = cli("perk", "claim", "guide", "--member", "C-2", "--json")
    assert audience.json["error"]["code"] == "not_in_audience"
    cli("perk", "disable", "guide")
    inactive = cli("perk", "claim", "guide", "--member", "C-1", "--json")
    assert inactive.json["error"]["code"] == "perk_inactive"
    assert cli("points", "balance", "C-3", "--json").json["balance"] == 500

    for_member = {
        p["slug"]: p for p in cli("perk", "list", "--all", "--member", "C-3", "--json").json
    }
    assert for_member["free-coffee"]["code"] == "sold_out"
    assert for_member["guide"]["code"] == "perk_inactive"
    shown = cli("perk", "show", "free-coffee", "--json").json
    assert (shown["claims"], shown["supply_left"], shown["max_supply"]) == (2, 0, 2)


def test_claims_listing_show_and_cancel(cli, program):
    cli("apply", str(program))
    claim_id = cli("perk", "claim", "free-coffee", "--member", "C-1", "--json").json["claim_id"]
    rows = cli("perk", "claims", "free-coffee", "--csv").stdout.splitlines()
    assert rows[0].startswith("claim_id,at,member,points_spent,status")
    assert rows[1].startswith(f"{claim_id},") and ",C-1,200,active," in rows[1]
    profile = cli("member", "show", "C-1", "--json").json
    assert [(c["claim_id"], c["perk"]) for c in profile["claims"]] == [(claim_id, "free-coffee")]
    assert "Recent claims" in cli("member", "show", "C-1").stdout
    shown = cli("claim", "show", claim_id, "--json").json
    assert shown["redemption"] is None  # not revealed unless asked
    revealed = cli("claim", "show", claim_id, "--reveal", "--json").json
    assert revealed["redemption"]["value"].startswith(SECRET)
    cancelled = cli("claim", "cancel", claim_id, "--reason", "machine broken", "--json")
    assert cancelled.exit_code == 0, cancelled.stderr
    assert (cancelled.json["status"], cancelled.json["balance"]) == ("cancelled", 500)
    twice = cli("claim", "cancel", claim_id, "--reason", "again", "--json")
    assert (twice.exit_code, twice.json["error"]["code"]) == (1, "already_cancelled")
    assert cli("perk", "disable", "free-coffee", "--reason", "machine broken").exit_code == 0
    (latest,) = cli("audit", "log", "--limit", "1", "--json").json
    assert (latest["action"], latest["subject"], latest["reason"]) == (
        "perk.disable",
        "perk:free-coffee",
        "machine broken",
    )
    missing = cli("claim", "show", "NOPE", "--json")
    assert (missing.exit_code, missing.json["error"]["code"]) == (1, "unknown_claim")
    assert cli("audit", "verify").exit_code == 0


def test_certificate_verifies_offline_and_fails_when_altered(cli, program, tmp_path):
    cli("apply", str(program))
    claim_id = cli("perk", "claim", "free-coffee", "--member", "C-1", "--json").json["claim_id"]
    cert = tmp_path / "cert.json"
    assert cli("claim", "certificate", claim_id, "--out", str(cert)).exit_code == 0
    public = tmp_path / "loyalty.pub"
    public.write_text(cli("keys", "public").stdout)
    ok = cli("certificate", "verify", str(cert), "--public-key", str(public), "--json")
    assert ok.exit_code == 0 and ok.json["valid"] is True and ok.json["claim_id"] == claim_id
    fields = json.loads(cert.read_text())
    assert set(fields) == {
        "certificate_id", "claim_id", "perk", "perk_name", "member", "points_spent",
        "issued_at", "key_id", "signature",
    }  # fmt: skip
    data = cert.read_bytes()
    for position in (5, len(data) // 2, len(data) - 3):
        altered = bytearray(data)
        altered[position] = ord("x") if altered[position] != ord("x") else ord("y")
        cert.write_bytes(bytes(altered))
        bad = cli("certificate", "verify", str(cert), "--public-key", str(public), "--json")
        assert bad.exit_code == 1, position
        assert bad.json["error"]["code"] == "invalid_certificate"


def test_export_applies_back_unchanged_and_keeps_secrets_out(cli, program, tmp_path, keys):
    cli("apply", str(program))
    exported = tmp_path / "exported.toml"
    assert cli("perk", "export", "--out", str(exported)).exit_code == 0
    text = exported.read_text()
    assert SECRET not in text and "files.example.org" not in text
    again = cli("apply", str(exported), "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json["unchanged"] == 2 and again.json["updated"] == 0
    revealed = tmp_path / "revealed.toml"
    cli("perk", "export", "free-coffee", "--reveal-secrets", "--out", str(revealed))
    assert SECRET in revealed.read_text()
    assert oct(revealed.stat().st_mode & 0o777) == "0o600"
    assert cli("apply", str(revealed), "--json").json["unchanged"] == 1


@pytest.mark.slow  # starts pg_dump
def test_secrets_never_reach_the_database_or_audit_log_in_clear(cli, program, db_url, tmp_path):
    cli("apply", str(program))
    code = cli("perk", "claim", "free-coffee", "--member", "C-1", "--json").json["redemption"]
    assert code["value"].startswith(SECRET)
    audit = cli("audit", "log", "--json").stdout
    assert SECRET not in audit and "files.example.org" not in audit
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        dump = "\n".join(sqlite3.connect(path).iterdump())
    else:
        raw = subprocess.run(
            ["pg_dump", "--data-only", db_url], capture_output=True, check=True
        ).stdout
        dump = raw.decode()
    for needle in (SECRET, code["value"], "files.example.org/guide.pdf"):
        assert needle.encode() not in raw
        assert needle not in dump


def test_keys_rotate_reencrypts_every_secret(cli, program, db_url):
    cli("apply", str(program))
    claim_id = cli("perk", "claim", "free-coffee", "--member", "C-1", "--json").json["claim_id"]
    before = cli("claim", "show", claim_id, "--reveal", "--json").json["redemption"]["value"]
    rotated = cli("keys", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.stderr
    assert rotated.json["reencrypted"] == 3  # two perk values and the claim's code
    primary = rotated.json["primary"]
    from sqlalchemy import text

    from loyaltyctl.store.db import Database

    db = Database(db_url)
    with db.transaction() as s:
        tokens = [
            *s.execute(text("SELECT value_enc FROM perk")).scalars(),
            *s.execute(text("SELECT redemption_enc FROM claim")).scalars(),
        ]
    db.dispose()
    assert tokens and all(t.startswith(primary + ":") for t in tokens)
    assert (
        cli("claim", "show", claim_id, "--reveal", "--json").json["redemption"]["value"] == before
    )
    assert cli("keys", "rotate", "--json").json["reencrypted"] == 3
    finished = cli("keys", "rotate", "--finish", "--json").json
    assert (finished["added"], finished["reencrypted"]) == (False, 0)
    assert len(finished["keys"]) == 3  # the first key and the two rotations


def test_claims_need_the_key_file(cli, program, monkeypatch, tmp_path):
    cli("apply", str(program))
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(tmp_path / "missing.toml"))
    result = cli("perk", "claim", "free-coffee", "--member", "C-1", "--json")
    assert (result.exit_code, result.json["error"]["code"]) == (4, "keys_missing")
    assert cli("points", "balance", "C-1", "--json").json["balance"] == 500


def test_max_per_member_0_means_unlimited_as_max_supply_0_does(cli, keys, tmp_path):
    path = tmp_path / "zero.toml"
    path.write_text(
        '[[perk]]\nslug = "pen"\nname = "Pen"\nprice = 0\nmax_supply = 0\nmax_per_member = 0\n'
    )
    assert cli("apply", str(path)).exit_code == 0
    shown = cli("perk", "show", "pen", "--json").json
    assert (shown["max_supply"], shown["max_per_member"], shown["supply_left"]) == (
        None,
        None,
        None,
    )
    assert cli("member", "add", "C-9", "--name", "Nine").exit_code == 0
    for _ in range(3):
        assert cli("perk", "claim", "pen", "--member", "C-9").exit_code == 0
