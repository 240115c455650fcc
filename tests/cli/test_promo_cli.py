"""Campaigns through `apply`, and `promo ...` / `stats promo` through the CLI."""

from __future__ import annotations

import pytest

PROGRAM = """\
[[perk]]
slug = "free-coffee"
name = "Free Coffee"
price = 200
max_supply = 1

[[campaign]]
slug = "winter"
name = "Winter flyers"
points = 100
perks = ["free-coffee"]
per_member = 2
per_member_daily = 1

[[campaign.code]]
code = "WINTER50"
inventory = 2

[[campaign]]
slug = "students"
name = "Students"
points = 250
audience = { groups = ["students"] }

[[campaign.code]]
code = "CAMPUS-2026"
"""


@pytest.fixture
def program(cli, keys, tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    for external_id, group in (("C-1", "students"), ("C-2", "chess"), ("C-3", "chess")):
        result = cli("member", "add", external_id, "--name", "A Member", "--group", group)
        assert result.exit_code == 0, result.stderr
    applied = cli("apply", str(path), "--json")
    assert applied.exit_code == 0, applied.stderr
    return path


def test_apply_plans_campaigns_with_perks(cli, program):
    again = cli("apply", str(program), "--json").json
    assert again["unchanged"] == 3
    kinds = sorted((c["kind"], c["slug"]) for c in again["changes"])
    assert kinds == [("campaign", "students"), ("campaign", "winter"), ("perk", "free-coffee")]
    lowered = program.read_text().replace("inventory = 2", "inventory = 1")
    program.write_text(lowered)
    refused = cli("apply", str(program), "--json")
    assert refused.exit_code == 3
    (problem,) = refused.json["error"]["problems"]
    assert (problem["line"], problem["field"]) == (16, "code.inventory")  # its code key
    assert "can only grow" in problem["message"]


def test_redeem_credits_and_grants_prizes_then_refuses_with_codes(cli, program):
    first = cli("promo", "redeem", "winter-5o", "--member", "C-1", "--json")
    assert first.exit_code == 0, first.stderr
    doc = first.json
    assert (doc["campaign"], doc["member"], doc["points"], doc["balance"]) == (
        "winter",
        "C-1",
        100,
        100,
    )
    assert [p["slug"] for p in doc["perks"]] == ["free-coffee"]
    claim = cli("claim", "show", doc["perks"][0]["claim_id"], "--json").json
    assert (claim["perk"], claim["points_spent"]) == ("free-coffee", 0)

    daily = cli("promo", "redeem", "WINTER50", "--member", "C-1", "--json")
    assert (daily.exit_code, daily.json["error"]["code"]) == (1, "member_daily_limit")
    sold_out = cli("promo", "redeem", "WINTER50", "--member", "C-2", "--json")
    assert (sold_out.exit_code, sold_out.json["error"]["code"]) == (1, "prize_unavailable")
    assert cli("points", "balance", "C-2", "--json").json["balance"] == 0  # all or nothing
    unknown = cli("promo", "redeem", "NOPE-1234", "--member", "C-2", "--json")
    assert (unknown.exit_code, unknown.json["error"]["code"]) == (1, "unknown_code")
    audience = cli("promo", "redeem", "campus 2026", "--member", "C-2", "--json")
    assert audience.json["error"]["code"] == "not_in_audience"
    assert cli("promo", "redeem", "campus2026", "--member", "C-1").exit_code == 0
    assert cli("audit", "verify").exit_code == 0


def test_status_changes_restock_list_show_and_stats(cli, program):
    assert cli("promo", "pause", "winter").exit_code == 0
    paused = cli("promo", "redeem", "WINTER50", "--member", "C-1", "--json")
    assert paused.json["error"]["code"] == "campaign_paused"
    assert cli("promo", "resume", "winter").exit_code == 0
    assert cli("promo", "redeem", "WINTER50", "--member", "C-1").exit_code == 0
    restocked = cli("promo", "restock", "winter", "winter-50", "--add", "3", "--json").json
    assert (restocked["code"], restocked["inventory"], restocked["used"]) == ("WINTER50", 5, 1)
    listed = {c["slug"]: c for c in cli("promo", "list", "--json").json}
    assert listed["winter"]["redemptions"] == 1 and listed["winter"]["codes_issued"] == 1
    shown = cli("promo", "show", "winter", "--reveal", "--json").json
    assert shown["shared_codes"] == [{"code": "WINTER50", "inventory": 5, "used": 1}]
    hidden = cli("promo", "show", "winter", "--json").json
    assert hidden["shared_codes"][0]["code"] is None

    stats = cli("stats", "promo", "winter", "--json").json
    assert {k: stats[k] for k in ("campaign", "redemptions", "points_granted")} == {
        "campaign": "winter",
        "redemptions": 1,
        "points_granted": 100,
    }
    assert stats["redemption_rate"] == 0.2  # 1 of the 5 uses the code allows
    assert [p["redemptions"] for p in stats["series"]] == [1]
    human = cli("stats", "promo")
    assert "█" in human.stdout and "winter" in human.stdout
    rows = cli("stats", "promo", "--csv").stdout.splitlines()
    assert rows[0] == "campaign,status,codes_issued,redemptions,redemption_rate,points_granted"

    assert cli("promo", "archive", "winter", "--reason", "season over").exit_code == 0
    again = cli("promo", "resume", "winter", "--json")
    assert (again.exit_code, again.json["error"]["code"]) == (1, "campaign_archived")


def test_promo_create_at_the_terminal(cli, program):
    created = cli(
        "promo", "create", "flash", "--name", "Flash sale", "--points", "20",
        "--code", "FLASH-20", "--inventory", "10", "--per-member", "1", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert cli("promo", "redeem", "flash20", "--member", "C-3", "--json").json["points"] == 20
    taken = cli("promo", "create", "other", "--name", "O", "--points", "1", "--code", "winter50")
    assert taken.exit_code == 1 and "another campaign" in taken.stderr
    nothing = cli("promo", "create", "empty", "--name", "E", "--json")
    assert (nothing.exit_code, nothing.json["error"]["code"]) == (2, "usage")
