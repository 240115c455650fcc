"""Did-you-mean for members, perks and campaigns: the commonest typos (case, dashes
left out) find the name, best first, at most three."""

from __future__ import annotations

from tests.cli.helpers import add_member, flat, write


def test_a_member_id_typed_without_its_dash_or_in_lower_case_is_found(cli):
    for external_id in ("M-1", "M-10", "M-11", "M-2", "X-9"):
        add_member(cli, external_id, "Someone")
    for typed in ("M1", "m-1", "M_1", "m1"):
        result = cli("points", "balance", typed, "--json")
        assert result.exit_code == 1
        assert result.json["error"]["hint"].startswith("Did you mean M-1"), typed
    ranked = cli("points", "balance", "M-12", "--json").json["error"]["hint"]
    assert ranked == "Did you mean M-1, M-2 or M-10?"


def test_perks_and_campaigns_suggest_the_closest_slug(cli, keys, tmp_path):
    program = write(
        tmp_path / "p.toml",
        '[[perk]]\nslug = "free-coffee"\nname = "C"\nprice = 1\n'
        '[[perk]]\nslug = "free-cookie"\nname = "K"\nprice = 1\n'
        '[[campaign]]\nslug = "summer-2026"\nname = "S"\npoints = 5\n',
    )
    assert cli("apply", str(program)).exit_code == 0
    perk = cli("perk", "show", "FreeCoffee", "--json")
    assert perk.exit_code == 1
    assert "Did you mean free-coffee" in perk.json["error"]["message"]
    campaign = cli("promo", "show", "summer2026")
    assert campaign.exit_code == 1
    assert "Did you mean summer-2026?" in flat(campaign.stderr)
