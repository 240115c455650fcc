"""`supply_buckets`: a perk's supply split into buckets, through the CLI on both
databases (the race is in tests/test_claim_concurrency.py, the figures in
bench/claims_buckets.py)."""

from __future__ import annotations

import pytest

from tests.cli.helpers import add_member, execute, flat, write

PERK = """\
[[perk]]
slug = "vinyl"
name = "Limited vinyl"
price = 10
max_supply = {supply}
{buckets}
"""


@pytest.fixture
def sale(cli, keys, tmp_path):
    def apply(supply: int, buckets: str = "supply_buckets = 3", *extra: str):
        path = write(tmp_path / "perks.toml", PERK.format(supply=supply, buckets=buckets))
        return cli("apply", str(path), "--json", *extra)

    for n in range(1, 9):
        add_member(cli, f"C-{n}")
        assert cli("points", "credit", f"C-{n}", "100", "--reason", "seed").exit_code == 0
    return apply


def _claim(cli, member: str):
    return cli("perk", "claim", "vinyl", "--member", member, "--json")


def test_a_bucketed_supply_sells_exactly_out_and_reports_one_number(cli, sale):
    applied = sale(7)
    assert applied.exit_code == 0, applied.stderr
    assert "supply_buckets" in applied.json["changes"][0]["fields"]
    served = [_claim(cli, f"C-{n}") for n in range(1, 9)]
    assert [r.exit_code for r in served] == [0] * 7 + [1]
    assert served[-1].json["error"]["code"] == "sold_out"
    assert "Perk vinyl is sold out (7 claimed)." in flat(served[-1].stderr)
    shown = cli("perk", "show", "vinyl", "--json").json
    assert (shown["claims"], shown["supply_left"], shown["supply_buckets"]) == (7, 0, 3)
    stats = cli("stats", "claims", "--perk", "vinyl", "--json").json["perks"][0]
    assert (stats["claims"], stats["unique_members"], stats["points_spent"]) == (7, 7, 70)
    assert stats["supply_left"] == 0
    assert cli("stats", "overview", "--json").json["perks"]["sold_out"] == 1
    listed = cli("perk", "list", "--member", "C-8", "--json").json
    assert listed[0]["code"] == "sold_out"
    # a cancel gives a unit back; the last claim moves back to the claims still active
    claim_id = served[6].json["claim_id"]
    assert cli("claim", "cancel", claim_id, "--reason", "returned").exit_code == 0
    assert cli("perk", "show", "vinyl", "--json").json["supply_left"] == 1
    assert _claim(cli, "C-8").exit_code == 0
    assert cli("audit", "verify").exit_code == 0


def test_apply_lays_the_buckets_out_again_and_back_to_one_counter(cli, sale):
    assert sale(6).exit_code == 0
    for n in range(1, 6):
        assert _claim(cli, f"C-{n}").exit_code == 0
    for buckets, supply in (("supply_buckets = 2", 6), ("supply_buckets = 5", 9), ("", 9)):
        applied = sale(supply, buckets)
        assert applied.exit_code == 0, applied.stderr
        shown = cli("perk", "show", "vinyl", "--json").json
        assert (shown["claims"], shown["supply_left"]) == (5, supply - 5), buckets
        assert cli("audit", "verify").exit_code == 0, buckets
    assert shown["supply_buckets"] == 1  # a small supply left to the tool: one counter
    below = sale(4, "supply_buckets = 2")
    assert below.exit_code == 3 and "already has 5 active claims" in flat(below.stderr)


def test_the_tool_chooses_buckets_for_a_large_supply_and_export_round_trips(cli, sale, tmp_path):
    assert sale(5000, "").exit_code == 0
    assert cli("perk", "show", "vinyl", "--json").json["supply_buckets"] == 16
    exported = cli("perk", "export", "--out", str(tmp_path / "out.toml"))
    assert exported.exit_code == 0, exported.stderr
    assert "supply_buckets" not in (tmp_path / "out.toml").read_text()
    again = cli("apply", str(tmp_path / "out.toml"), "--json")
    assert again.json["unchanged"] == 1
    assert sale(5000, "supply_buckets = 1").exit_code == 0
    assert "supply_buckets = 1" in cli("perk", "export").stdout


def test_a_bad_bucket_count_names_its_place(cli, sale):
    for value, words in (("0", "must be at least 1"), ("65", "64"), ('"many"', "whole number")):
        refused = sale(10, f"supply_buckets = {value}")
        assert refused.exit_code == 3, value
        assert "perks.toml:6:" in refused.stderr and words in flat(refused.stderr), value


def test_audit_verify_recounts_the_buckets(cli, sale):
    assert sale(6).exit_code == 0
    assert _claim(cli, "C-1").exit_code == 0
    execute(cli.url, "UPDATE perk_bucket SET claimed = claimed + 1 WHERE bucket = 3")
    failed = cli("audit", "verify", "--json")
    assert failed.exit_code == 1
    assert "perk vinyl: claimed is 2, its active claims number 1" in failed.json["error"]["message"]
