"""`promo export-toml`, `rules export` and `tiers export` write TOML that `apply` takes
back unchanged (the example program's campaigns, rules and tiers round-trip)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.cli.helpers import write

PROGRAM = Path(__file__).resolve().parents[2] / "config" / "program"


@pytest.fixture
def applied(cli, keys):
    result = cli("apply", str(PROGRAM))
    assert result.exit_code == 0, result.stderr


def test_campaigns_rules_and_tiers_apply_back_unchanged(cli, applied, tmp_path):
    files = []
    for command, name in (
        (("promo", "export-toml"), "campaigns.toml"),
        (("rules", "export"), "rules.toml"),
        (("tiers", "export"), "tiers.toml"),
    ):
        path = tmp_path / name
        result = cli(*command, "--out", str(path))
        assert result.exit_code == 0, result.stderr
        files.append(str(path))
    doc = cli("apply", *files, "--json").json
    assert doc["created"] == doc["updated"] == doc["disabled"] == 0
    assert doc["unchanged"] == 2 + 6 + 3
    assert {c["kind"] for c in doc["changes"]} == {"campaign", "earning_rule", "tier"}


def test_a_changed_export_is_planned_as_that_change(cli, applied, tmp_path):
    exported = cli("tiers", "export", "gold").stdout
    data = tomllib.loads(exported)
    assert [t["slug"] for t in data["tier"]] == ["gold"]
    assert data["tier"][0]["multiplier"] == 1.5 and data["tier"][0]["overrides"]
    changed = write(
        tmp_path / "gold.toml", exported.replace("multiplier = 1.5", "multiplier = 1.75")
    )
    plan = cli("apply", str(changed), "--dry-run", "--json").json
    assert plan["changes"][0]["changes"] == [{"field": "multiplier", "old": 1.5, "new": 1.75}]


def test_shared_codes_stay_out_unless_revealed(cli, applied, tmp_path):
    plain = cli("promo", "export-toml", "winter-2026")
    assert plain.exit_code == 0
    assert "WINTER50" not in plain.stdout and "[[campaign.code]]" not in plain.stdout
    assert tomllib.loads(plain.stdout)["campaign"][0]["share"]["title"] == "Winter codes"
    revealed = tmp_path / "codes.toml"
    assert cli("promo", "export-toml", "--reveal-codes", "--out", str(revealed)).exit_code == 0
    assert revealed.stat().st_mode & 0o777 == 0o600
    codes = [c for t in tomllib.loads(revealed.read_text())["campaign"] for c in t.get("code", [])]
    assert {"code": "WINTER50", "inventory": 500} in codes
    assert cli("apply", str(revealed), "--json").json["unchanged"] == 2


def test_an_unknown_slug_is_refused_with_a_suggestion(cli, applied):
    result = cli("rules", "export", "welcom")
    assert (result.exit_code, result.stdout) == (1, "")
    assert "Did you mean welcome?" in " ".join(result.stderr.split())
