"""Refusals say what is wrong and what to type next, filled in: the perk, the
campaign, the member, which audience dimension is missing, "once" and "twice"."""

from __future__ import annotations

import pytest

from tests.cli.helpers import add_member, credit, flat, write

PROGRAM = """\
[[perk]]
slug = "gold-lounge"
name = "Lounge"
price = 0
max_per_member = 1
audience = { tiers = ["gold", "platinum"], tags = ["vip"] }

[[perk]]
slug = "mug"
name = "Mug"
price = 10
max_per_member = 2

[[campaign]]
slug = "spring"
name = "Spring"
points = 5
per_member = 2

[[campaign.code]]
code = "SPRING5"
"""


@pytest.fixture
def program(cli, keys, tmp_path):
    assert cli("apply", str(write(tmp_path / "p.toml", PROGRAM))).exit_code == 0
    add_member(cli, "C-1", "Ada", "--tier", "silver", "--tag", "new")
    add_member(cli, "C-2", "Bob", "--tier", "gold", "--tag", "vip")
    credit(cli, "C-1", 100)


def test_not_in_the_audience_names_what_the_member_lacks(cli, program):
    result = cli("perk", "claim", "gold-lounge", "--member", "C-1", "--json")
    assert result.exit_code == 1
    error = result.json["error"]
    assert error["code"] == "not_in_audience"
    assert "tier gold or platinum (has silver)" in error["message"]
    assert "the tag vip (has new)" in error["message"]
    assert "loyaltyctl member update C-1" in error["hint"]
    assert "loyaltyctl perk show gold-lounge" in error["hint"]


def test_limits_count_in_words_and_the_hint_names_the_member(cli, program):
    assert cli("perk", "claim", "gold-lounge", "--member", "C-2").exit_code == 0
    again = cli("perk", "claim", "gold-lounge", "--member", "C-2", "--json").json["error"]
    assert again["code"] == "member_limit"
    assert "already claimed perk gold-lounge once, the most allowed" in again["message"]
    assert "(s)" not in again["message"]
    assert "loyaltyctl member show C-2" in again["hint"]
    for _ in range(2):
        assert cli("perk", "claim", "mug", "--member", "C-1").exit_code == 0
    third = cli("perk", "claim", "mug", "--member", "C-1", "--json").json["error"]
    assert "twice" in third["message"]
    for _ in range(2):
        assert cli("promo", "redeem", "spring5", "--member", "C-1").exit_code == 0
    promo = cli("promo", "redeem", "spring5", "--member", "C-1", "--json").json["error"]
    assert promo["message"] == (
        "Member C-1 already redeemed campaign spring twice, the most allowed."
    )


def test_a_hint_names_the_perk_or_campaign_refused(cli, program):
    assert cli("perk", "disable", "mug").exit_code == 0
    disabled = cli("perk", "claim", "mug", "--member", "C-1")
    assert "loyaltyctl perk enable mug" in flat(disabled.stderr)
    assert cli("promo", "pause", "spring").exit_code == 0
    paused = cli("promo", "redeem", "SPRING5", "--member", "C-1")
    assert "loyaltyctl promo resume spring" in flat(paused.stderr)
    low = cli("points", "write-off", "C-2", "5", "--reason", "x")
    assert "loyaltyctl points balance C-2" in flat(low.stderr)


def test_a_prize_claim_says_which_redemption_it_came_from(cli, keys, tmp_path):
    program = write(
        tmp_path / "prize.toml",
        '[[perk]]\nslug = "cup"\nname = "Cup"\nprice = 30\n'
        '[[campaign]]\nslug = "fair"\nname = "Fair"\nperks = ["cup"]\n'
        '[[campaign.code]]\ncode = "FAIR1"\n',
    )
    assert cli("apply", str(program)).exit_code == 0
    add_member(cli, "C-7", "Seven")
    redeemed = cli("promo", "redeem", "fair1", "--member", "C-7", "--json").json
    claim_id = redeemed["perks"][0]["claim_id"]
    shown = cli("claim", "show", claim_id, "--json").json
    assert shown["prize_of"] == redeemed["redemption_id"]
    human = cli("claim", "show", claim_id)
    assert f"promo redemption {redeemed['redemption_id']}" in human.stdout
