"""Claims of coupon perks through the CLI: `perk claim [--points]`, `claim show --reveal`,
`claim cancel`, `perk show | list`, `member show`; codes never at rest in clear."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import flat

PROGRAM = """\
[[perk]]
slug = "ten-off"
name = "$10 off your next order"
price = 100
category = "discount"
tier_prices = { gold = 80, platinum = "0.5x" }

[perk.redemption]
type = "coupon"
instructions = "Enter the code at checkout."

[perk.coupon]
kind = "fixed"
amount = "10.00"
min_purchase = "25.00"
collections = ["summer"]
expires_after_days = 30

[[perk]]
slug = "convert-points"
name = "Convert your points"
price = 0
category = "discount"

[perk.redemption]
type = "coupon"

[perk.coupon]
kind = "convert"
points = 100
amount = "10.00"
min_purchase = "25.00"
min_points = 100
max_points = 1000
"""

COUPON_KEYS = {
    "kind",
    "amount",
    "percent",
    "min_purchase",
    "max_shipping",
    "product",
    "variants",
    "collections",
    "expires_at",
}
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
def program(cli, keys, tmp_path):
    path = tmp_path / "perks.toml"
    path.write_text(PROGRAM)
    applied = cli("apply", str(path))
    assert applied.exit_code == 0, applied.stderr
    for external_id, tier in (("C-1", None), ("C-GOLD", "gold")):
        extra = ("--tier", tier) if tier else ()
        assert cli("member", "add", external_id, "--name", "A Member", *extra).exit_code == 0
        assert cli("points", "credit", external_id, "1000", "--reason", "seed").exit_code == 0
    return path


def _claim(cli, *args):
    result = cli("perk", "claim", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json


def _state(cli) -> list:
    """What a refusal must leave as it was (through the CLI's own listings)."""
    return [cli("member", "show", who, "--json").json for who in ("C-1", "C-GOLD")] + [
        cli("perk", "show", slug, "--json").json for slug in ("ten-off", "convert-points")
    ]


def test_a_coupon_claim_prints_the_code_once_in_a_panel_at_80_columns(cli, program, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("perk", "claim", "ten-off", "--member", "C-GOLD")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    (code,) = re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", text)
    assert CODE.match(code)
    flat_text = flat(text)
    for expected in (
        "Points spent 80",  # the gold price
        "Balance after 920",
        "Coupon code",
        "10.00 off",
        "a purchase of at least 25.00; items in summer",
        "Enter the code at checkout.",
        "--reveal",
    ):
        assert expected in flat_text, expected


def test_the_claims_json_has_the_specs_coupon_object(cli, program):
    result = _claim(cli, "convert-points", "--member", "C-1", "--points", "200")
    assert result["points_spent"] == 200 and result["balance"] == 800
    redemption = result["redemption"]
    assert {"type", "value", "instructions", "coupon"} <= set(redemption)
    assert redemption["type"] == "coupon" and CODE.match(redemption["value"])
    assert set(redemption["coupon"]) == COUPON_KEYS
    assert redemption["coupon"] == {
        "kind": "convert",
        "amount": "20.00",
        "percent": None,
        "min_purchase": "50.00",
        "max_shipping": None,
        "product": None,
        "variants": None,
        "collections": [],
        "expires_at": None,
    }
    fixed = _claim(cli, "ten-off", "--member", "C-1")["redemption"]["coupon"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fixed["expires_at"])


def test_points_usage_and_bounds(cli, program):
    before = _state(cli)
    missing = cli("perk", "claim", "convert-points", "--member", "C-1", "--json")
    assert missing.exit_code == 2 and missing.json["error"]["code"] == "usage"
    assert "--points" in missing.stderr and "at least 100, at most 1,000" in flat(missing.stderr)
    extra = cli("perk", "claim", "ten-off", "--member", "C-1", "--points", "100")
    assert extra.exit_code == 2 and "--points is only for" in flat(extra.stderr)
    for wrong in ("99", "1001", "0", "-3"):
        out = cli("perk", "claim", "convert-points", "--member", "C-1", "--points", wrong, "--json")
        assert out.exit_code == 1, out.stderr
        error = out.json["error"]
        assert error["code"] == "points_out_of_range"
        assert (error["min_points"], error["max_points"], error["points"]) == (
            100,
            1000,
            int(wrong),
        )
    not_a_number = cli("perk", "claim", "convert-points", "--member", "C-1", "--points", "ten")
    assert not_a_number.exit_code == 2
    assert _state(cli) == before


def test_claim_show_masks_the_code_and_reveal_shows_it_again(cli, program):
    claimed = _claim(cli, "ten-off", "--member", "C-1", "--key", "web-9")
    code = claimed["redemption"]["value"]
    masked = cli("claim", "show", claimed["claim_id"], "--json").json
    assert masked["redemption"] is None
    assert masked["coupon"]["code"] == "****-****-" + code[-4:]
    assert masked["coupon"]["status"] == "active"
    human = cli("claim", "show", claimed["claim_id"])
    assert code not in human.stdout and "****-****-" + code[-4:] in human.stdout
    revealed = cli("claim", "show", claimed["claim_id"], "--reveal", "--json").json
    assert revealed["redemption"]["value"] == code
    assert revealed["redemption"]["coupon"] == claimed["redemption"]["coupon"]
    assert code in cli("claim", "show", claimed["claim_id"], "--reveal").stdout
    replay = cli("perk", "claim", "ten-off", "--member", "C-1", "--key", "web-9", "--json").json
    assert replay["replayed"] and replay["redemption"]["value"] == code


def _mark_used(db_url, claim_id):
    """The store's `coupon use` (another command) as the database records it."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from loyaltyctl.store.db import Database
    from loyaltyctl.store.tables import Coupon

    db = Database(db_url)
    now = datetime.now(UTC)
    with db.transaction() as s:
        s.execute(
            update(Coupon)
            .where(Coupon.claim_id == claim_id)
            .values(status="used", order_id="1001", used_at=now, updated_at=now)
        )
    db.dispose()


def test_cancel_refunds_an_unused_coupon_and_refuses_a_used_one(cli, program, db_url):
    unused = _claim(cli, "ten-off", "--member", "C-1")
    cancelled = cli("claim", "cancel", unused["claim_id"], "--reason", "changed mind")
    assert cancelled.exit_code == 0, cancelled.stderr
    assert "100 points back" in flat(cancelled.stdout) and "coupon" in cancelled.stdout
    assert cli("points", "balance", "C-1", "--json").json["balance"] == 1000
    used = _claim(cli, "convert-points", "--member", "C-1", "--points", "300")
    _mark_used(db_url, used["claim_id"])
    before = _state(cli)
    refused = cli("claim", "cancel", used["claim_id"], "--reason", "r", "--json")
    assert refused.exit_code == 1 and refused.json["error"]["code"] == "coupon_used"
    assert "order 1001" in refused.stderr
    assert used["redemption"]["value"] not in refused.stderr + refused.stdout
    assert _state(cli) == before


def test_perk_show_and_list_give_tier_prices_and_coupon_terms(cli, program):
    shown = cli("perk", "show", "ten-off", "--json").json
    assert shown["tier_prices"] == {"gold": 80, "platinum": "0.5x"}
    assert shown["coupon"]["kind"] == "fixed" and shown["coupon"]["amount"] == "10.00"
    assert shown["coupon"]["expires_after_days"] == 30
    assert {"slug", "name", "price", "active", "max_supply", "supply_left", "claims"} <= set(shown)
    human = flat(cli("perk", "show", "ten-off").stdout)
    assert "gold 80 points, platinum 0.5x price" in human and "10.00 off" in human
    convert = flat(cli("perk", "show", "convert-points").stdout)
    assert "100 points = 10.00 off" in convert and "100 to 1,000" in convert
    listed = {p["slug"]: p for p in cli("perk", "list", "--json").json}
    assert listed["ten-off"]["tier_prices"] == {"gold": 80, "platinum": "0.5x"}
    mine = {p["slug"]: p for p in cli("perk", "list", "--member", "C-GOLD", "--json").json}
    assert mine["ten-off"]["member_price"] == 80 and mine["ten-off"]["price"] == 100
    assert mine["convert-points"]["member_price"] is None
    table = cli("perk", "list", "--member", "C-GOLD").stdout
    assert "they choose" in table and re.search(r"\b80\b", table)


def test_member_show_lists_coupons_masked(cli, program):
    first = _claim(cli, "ten-off", "--member", "C-1")
    _claim(cli, "convert-points", "--member", "C-1", "--points", "100")
    shown = cli("member", "show", "C-1", "--json").json
    assert [c["perk"] for c in shown["coupons"]] == ["convert-points", "ten-off"]
    coupon = shown["coupons"][1]
    assert coupon["code"] == "****-****-" + first["redemption"]["value"][-4:]
    assert (coupon["status"], coupon["kind"]) == ("active", "fixed")
    assert coupon["expires_at"] == first["redemption"]["coupon"]["expires_at"]
    human = cli("member", "show", "C-1").stdout
    assert "Coupons" in human and "****-****-" + first["redemption"]["value"][-4:] in human
    assert first["redemption"]["value"] not in human


@pytest.mark.slow  # starts pg_dump
def test_coupon_codes_never_reach_the_database_or_audit_log_in_clear(cli, program, db_url):
    codes = [
        _claim(cli, "ten-off", "--member", "C-1")["redemption"]["value"],
        _claim(cli, "convert-points", "--member", "C-1", "--points", "150")["redemption"]["value"],
    ]
    needles = [form for code in codes for form in (code, code.replace("-", ""))]
    audit = cli("audit", "log", "--json").stdout + cli("member", "show", "C-1", "--json").stdout
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
    assert "coupon" in dump  # the dump holds the coupon rows...
    for needle in needles:  # ...but not their codes, in either form
        assert needle.encode() not in raw and needle.lower().encode() not in raw
        assert needle not in dump
        assert needle not in audit
