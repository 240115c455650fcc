"""`coupon check | use | release | show | list | export` through the CLI: the spec's JSON,
exit codes, messages that say what to do, bad carts with every position, codes that
never reach the database, the audit log, messages or stderr in clear."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from loyaltyctl.domain.values import utcnow
from loyaltyctl.store.db import Database
from tests.cli.helpers import add_member, flat, write
from tests.coupon_helpers import apply_coupon_perks, issue

CART = {
    "items": [
        {"sku": "HAT", "price": "30.00", "quantity": 1, "collections": ["summer"]},
        {"sku": "LIPSTICK-RED", "price": "12.00", "quantity": 2},
    ],
    "shipping": "4.90",
}


@pytest.fixture
def shop(cli, keys, tmp_path):
    """Two members, the coupon perks, and a cart file; returns (database, keys, cart)."""
    add_member(cli, "C-1001")
    add_member(cli, "C-1002", "Bob")
    db = Database(cli.url)
    apply_coupon_perks(db, tmp_path)
    yield db, keys, write(tmp_path / "cart.json", json.dumps(CART))
    db.dispose()


def test_check_prints_what_the_coupon_takes_off(cli, shop):
    db, keys, cart = shop
    coupon = issue(db, keys, perk="ten-off", member="C-1001")
    result = cli("coupon", "check", coupon.code, "--cart", cart, "--member", "C-1001", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert {k: doc[k] for k in ("coupon", "kind", "applies", "amount", "shipping_discount")} == {
        "coupon": coupon.masked,
        "kind": "fixed",
        "applies": True,
        "amount": "10.00",
        "shipping_discount": "0.00",
    }
    assert (doc["order"], doc["replayed"]) == (None, False)
    assert [line["amount"] for line in doc["lines"]] == ["5.56", "4.44"]  # 30 : 24
    human = cli("coupon", "check", coupon.code.lower(), "--cart", cart)
    assert human.exit_code == 0 and coupon.masked in human.stdout and "10.00" in human.stdout
    assert coupon.code not in human.stdout + human.stderr


def test_a_refusal_exits_1_with_its_reason_only(cli, shop):
    db, keys, cart = shop
    convert = issue(db, keys, perk="convert", member="C-1001", points=200)
    small = write(
        cart.parent / "small.json", '{"items": [{"sku": "A", "price": "49.99", "quantity": 1}]}'
    )
    result = cli("coupon", "check", convert.code, "--cart", small, "--json")
    assert result.exit_code == 1
    error = result.json["error"]
    assert error["code"] == "min_purchase"
    assert "50.00" in error["message"] and "49.99" in error["message"]
    assert "0.01 more" in error["hint"]
    assert set(result.json) == {"error"}
    assert "50.00" in flat(result.stderr)
    wrong = cli("coupon", "use", convert.code, "--order", "1", "--cart", cart, "--member", "C-1002")
    assert wrong.exit_code == 1 and "issued to another member" in flat(wrong.stderr)
    unknown = cli("coupon", "check", "ZZZZ", "--cart", cart, "--json")
    assert unknown.exit_code == 1 and unknown.json["error"]["code"] == "unknown_coupon"


def test_use_replays_the_same_order_and_refuses_another(cli, shop):
    db, keys, cart = shop
    coupon = issue(db, keys, perk="ten-off", member="C-1001")
    first = cli("coupon", "use", coupon.code, "--order", "1001", "--cart", cart, "--json")
    assert first.exit_code == 0, first.stderr
    assert (first.json["order"], first.json["replayed"]) == ("1001", False)
    again = cli(
        "coupon",
        "use",
        coupon.code,
        "--order",
        "1001",
        "--cart",
        "-",
        "--json",
        input=json.dumps(CART),
    )
    assert again.exit_code == 0 and again.json["replayed"] is True
    other = cli("coupon", "use", coupon.code, "--order", "1002", "--cart", cart, "--json")
    assert other.exit_code == 1
    assert other.json["error"]["code"] == "coupon_used"
    assert other.json["error"]["order_id"] == "1001"
    assert "coupon release" in other.json["error"]["hint"]
    shown = cli("coupon", "show", coupon.code, "--json").json
    assert (shown["status"], shown["order_id"]) == ("used", "1001")


def test_release_then_show(cli, shop):
    db, keys, cart = shop
    coupon = issue(db, keys, perk="ten-off", member="C-1001")
    cli("coupon", "use", coupon.code, "--order", "1001", "--cart", cart)
    other = cli("coupon", "release", coupon.code, "--order", "1002", "--reason", "x", "--json")
    assert other.exit_code == 1 and other.json["error"]["code"] == "used_on_another_order"
    assert "--order 1001" in other.json["error"]["hint"]
    done = cli("coupon", "release", coupon.code, "--order", "1001", "--reason", "Order cancelled")
    assert done.exit_code == 0, done.stderr
    assert "active" in done.stdout
    again = cli("coupon", "release", coupon.code, "--order", "1001", "--reason", "x", "--json")
    assert again.exit_code == 1 and again.json["error"]["code"] == "coupon_not_used"
    missing_reason = cli("coupon", "release", coupon.code, "--order", "1001")
    assert missing_reason.exit_code == 2
    log = cli("audit", "log", "--json").stdout
    assert "coupon.release" in log and "Order cancelled" in log


def test_a_bad_cart_exits_3_with_every_field_and_position(cli, shop):
    db, keys, cart = shop
    coupon = issue(db, keys, perk="ten-off", member="C-1001")
    bad = write(
        cart.parent / "bad-cart.json",
        '{"items": [\n {"sku": "A", "price": 1.005, "quantity": 0},\n {"price": "2"}\n],\n'
        ' "shipping": -1}',
    )
    result = cli("coupon", "check", coupon.code, "--cart", bad, "--json")
    assert result.exit_code == 3
    problems = [(p["line"], p["column"], p["field"]) for p in result.json["error"]["problems"]]
    assert problems == [
        (2, 24, "items[0].price"),
        (2, 43, "items[0].quantity"),
        (3, 2, "items[1].sku"),
        (3, 2, "items[1].quantity"),
        (5, 14, "shipping"),
    ]
    assert f"{bad}:2:24: items[0].price" in result.stderr
    for text in ("", "[]", "{", "\x00", '{"items": []}'):
        assert cli("coupon", "check", coupon.code, "--cart", "-", input=text).exit_code == 3
    assert cli("coupon", "check", coupon.code, "--cart", "nope.json").exit_code == 2


def test_list_masks_codes_unless_revealed_and_takes_csv(cli, shop, monkeypatch):
    db, keys, cart = shop
    a = issue(db, keys, perk="ten-off", member="C-1001")
    b = issue(db, keys, perk="free-lipstick", member="C-1002")
    issue(db, keys, perk="ten-off", member="C-1002", expires_at=utcnow() - timedelta(days=1))
    listed = cli("coupon", "list", "--json").json
    assert [c["coupon"] for c in listed][1:] == [b.masked, a.masked]
    assert all("code" not in c for c in listed)
    assert cli("coupon", "list", "--status", "expired", "--json").json[0]["status"] == "expired"
    revealed = cli(
        "coupon", "list", "--member", "C-1002", "--status", "active", "--reveal", "--json"
    )
    assert [c["code"] for c in revealed.json] == [b.code]
    table = cli("coupon", "list")
    assert a.masked in table.stdout and a.code not in table.stdout
    rows = list(
        csv.DictReader(
            cli("coupon", "list", "--csv", "--perk", "free-lipstick").stdout.splitlines()
        )
    )
    assert rows[0]["variants"] == "LIPSTICK-RED;LIPSTICK-PINK" and "code" not in rows[0]
    assert cli("coupon", "list", "--limit", "1").stderr.count("Showing the newest 1 of 3") == 1
    assert cli("coupon", "list", "--status", "lost").exit_code == 2
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(cart.parent / "no-keys.toml"))
    assert cli("coupon", "list").exit_code == 0  # masked: no key file needed
    assert cli("coupon", "list", "--reveal").exit_code == 4


def test_export_writes_codes_and_terms_with_mode_0600(cli, shop, tmp_path):
    db, keys, cart = shop
    a = issue(db, keys, perk="ten-off", member="C-1001")
    b = issue(db, keys, perk="free-lipstick", member="C-1002")
    cli("coupon", "use", a.code, "--order", "1001", "--cart", cart)
    out = tmp_path / "coupons.csv"
    result = cli("coupon", "export", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json == {"count": 2, "perk": None, "status": None, "out": str(out)}
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    lines = out.read_text().splitlines()
    assert lines[0] == (
        "code,kind,amount,percent,min_purchase,max_shipping,product,variants,collections,"
        "expires_at,member"
    )
    assert lines[1:] == [
        f"{a.code},fixed,10.00,,25.00,,,,,,C-1001",
        f"{b.code},free_product,,,,,LIPSTICK,LIPSTICK-RED;LIPSTICK-PINK,,,C-1002",
    ]
    active = cli("coupon", "export", "--status", "active", "--out", out)
    assert active.exit_code == 0 and "Wrote 1 active coupon" in flat(active.stderr + active.stdout)
    assert out.read_text().splitlines()[1:] == [lines[2]]
    assert cli("coupon", "export").exit_code == 2  # --out is required


def test_stats_overview_shows_coupons(cli, shop):
    db, keys, cart = shop
    issue(db, keys, perk="ten-off", member="C-1001")
    doc = cli("stats", "overview", "--json").json
    assert doc["coupons"] == {"issued": 1, "active": 1, "used": 0, "expired": 0, "cancelled": 0}
    assert "Coupons issued" in cli("stats", "overview").stdout


@pytest.mark.slow  # starts pg_dump
def test_codes_never_reach_the_database_the_audit_log_or_messages_in_clear(cli, shop, db_url):
    db, keys, cart = shop
    coupons = [issue(db, keys, perk="ten-off", member="C-1001") for _ in range(3)]
    seen = []
    for coupon in coupons[:2]:
        seen.append(cli("coupon", "use", coupon.code, "--order", "1001", "--cart", cart))
    seen.append(cli("coupon", "use", coupons[0].code, "--order", "1002", "--cart", cart))
    seen.append(cli("coupon", "release", coupons[1].code, "--order", "1001", "--reason", "r"))
    seen.append(cli("coupon", "check", coupons[2].code, "--cart", cart, "--member", "C-1002"))
    seen.append(cli("coupon", "show", coupons[2].code))
    seen.append(cli("coupon", "list", "--json"))
    events = write(
        cart.parent / "events.jsonl",
        json.dumps(
            {
                "id": "e1",
                "type": "order.paid",
                "at": utcnow().isoformat(),
                "member": "C-1001",
                "order_id": "2001",
                "items": [{"sku": "A", "price": "30.00", "quantity": 1}],
                "coupons": [coupons[2].code, coupons[0].code],
            }
        )
        + "\n",
    )
    seen.append(cli("events", "ingest", events, "--json"))
    seen.append(cli("audit", "log", "--json"))
    seen.append(cli("audit", "verify", "--json"))
    assert seen[-1].exit_code == 0, seen[-1].stdout
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
    from loyaltyctl.domain.promo import normalize

    for coupon in coupons:
        for needle in (coupon.code, normalize(coupon.code), coupon.code.lower()):
            assert needle.encode() not in raw
            assert needle not in dump
            for result in seen:
                assert needle not in result.stdout and needle not in result.stderr
