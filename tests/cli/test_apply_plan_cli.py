"""`apply`'s plan shows values, not only field names: old → new for every changed field
(secrets masked), in --json as {"field", "old", "new"} beside `fields`."""

from __future__ import annotations

import pytest

from tests.cli.helpers import flat, write

FIRST = """\
[[perk]]
slug = "coffee"
name = "Coffee"
price = 200
max_supply = 500
valid_until = 2030-01-31T12:00:00Z
audience = { tiers = ["gold"] }
tier_prices = { gold = 150 }

[perk.redemption]
type = "code"
value = "COFFEE-ONE"

[[perk]]
slug = "five-off"
name = "Five off"
price = 100

[perk.redemption]
type = "coupon"

[perk.coupon]
kind = "fixed"
amount = "5.00"

[[campaign]]
slug = "spring"
name = "Spring"
points = 10
share = { title = "Spring codes" }

[[campaign.code]]
code = "SPRING10"
inventory = 5

[[earning_rule]]
slug = "orders"
kind = "order"
points_per_unit = 1

[[tier]]
slug = "gold"
name = "Gold"
threshold = 1000
multiplier = 1.5
"""

SECOND = (
    FIRST.replace("price = 200", "price = 250")
    .replace("max_supply = 500", "max_supply = 400")
    .replace("2030-01-31T12:00:00Z", "2030-02-28T12:00:00Z")
    .replace('tiers = ["gold"]', 'tiers = ["gold", "silver"]')
    .replace("gold = 150", "gold = 120")
    .replace("COFFEE-ONE", "COFFEE-TWO")
    .replace('amount = "5.00"', 'amount = "7.50"')
    .replace('title = "Spring codes"', 'title = "Spring codes!"')
    .replace("inventory = 5", "inventory = 9")
    .replace("points_per_unit = 1", "points_per_unit = 2")
    .replace("multiplier = 1.5", "multiplier = 2")
)


@pytest.fixture
def applied(cli, keys, tmp_path):
    path = write(tmp_path / "program.toml", FIRST)
    result = cli("apply", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    return path


def _by_slug(doc) -> dict:
    return {c["slug"]: c for c in doc["changes"]}


def test_an_update_shows_old_and_new_values_as_json_values(cli, applied):
    applied.write_text(SECOND)
    result = cli("apply", str(applied), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    changes = _by_slug(result.json)
    coffee = {c["field"]: (c["old"], c["new"]) for c in changes["coffee"]["changes"]}
    assert coffee == {
        "price": (200, 250),
        "max_supply": (500, 400),
        "valid_until": ("2030-01-31T12:00:00Z", "2030-02-28T12:00:00Z"),
        "audience": (
            {"groups": [], "plans": [], "tags": [], "tiers": ["gold"]},
            {"groups": [], "plans": [], "tags": [], "tiers": ["gold", "silver"]},
        ),
        "tier_prices": ({"gold": 150}, {"gold": 120}),
        "value": ("***", "***"),
    }
    assert sorted(changes["coffee"]["fields"]) == sorted(coffee)
    [coupon] = changes["five-off"]["changes"]
    assert coupon["field"] == "coupon"
    assert (coupon["old"]["amount"], coupon["new"]["amount"]) == ("5.00", "7.50")
    spring = {c["field"]: (c["old"], c["new"]) for c in changes["spring"]["changes"]}
    assert spring == {
        "share": ({"title": "Spring codes"}, {"title": "Spring codes!"}),
        "codes": (None, {"added": 0, "restocked": 1}),  # which code: never
    }
    assert changes["orders"]["changes"] == [{"field": "points_per_unit", "old": 1, "new": 2}]
    assert changes["gold"]["changes"] == [{"field": "multiplier", "old": 1.5, "new": 2}]
    assert "COFFEE" not in result.stdout + result.stderr
    assert "SPRING10" not in result.stdout + result.stderr


def test_a_create_lists_every_value_with_no_old_one(cli, keys, tmp_path):
    path = write(tmp_path / "program.toml", FIRST)
    doc = cli("apply", str(path), "--dry-run", "--json").json
    coffee = {c["field"]: c for c in _by_slug(doc)["coffee"]["changes"]}
    assert coffee["price"] == {"field": "price", "old": None, "new": 200}
    assert coffee["value"] == {"field": "value", "old": None, "new": "***"}
    assert all(c["old"] is None for c in coffee.values())
    created = cli("apply", str(path), "--json").json
    assert created["created"] == 5
    again = cli("apply", str(path), "--json").json
    assert all(c["changes"] == [] for c in again["changes"])


def test_the_human_plan_shows_old_to_new_at_80_columns(cli, applied, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    applied.write_text(SECOND)
    result = cli("apply", str(applied), "--dry-run")
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert "price: 200 → 250" in text
    assert "max_supply: 500 → 400" in text
    assert "value: *** → ***" in text
    assert 'share: {"title": "Spring codes"} → {"title": "Spring codes!"}' in text
    assert "multiplier: 1.5 → 2" in text
    assert "COFFEE-TWO" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "Dry run" in text and "Nothing was changed" in text


def test_prune_shows_what_it_turns_off(cli, applied, tmp_path):
    other = write(tmp_path / "other.toml", '[[perk]]\nslug = "x"\nname = "X"\nprice = 1\n')
    doc = cli("apply", str(other), "--prune", "--dry-run", "--json").json
    changes = _by_slug(doc)
    assert changes["coffee"]["changes"] == [{"field": "active", "old": True, "new": False}]
    assert changes["spring"]["changes"] == [{"field": "status", "old": "active", "new": "paused"}]
