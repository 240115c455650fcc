# ruff: noqa: E501 - events written out whole, as a store sends them
"""Discounts members hold, from outside: grants by hand and from store events, their
lifecycle (refunds, chargebacks, subscriptions with their grace period, maintain run),
`member show`, and `quote` with the seed's example, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from loyaltyctl.store.db import Database
from tests.cli.helpers import add_member, flat, write
from tests.coupon_helpers import apply_coupon_perks, issue
from tests.discount_helpers import PROGRAM, without_group

CART = {
    "items": [
        {"sku": "BEANS", "category": "coffee", "price": "12.00", "quantity": 2},
        {"sku": "MUG", "price": "8.00", "quantity": 1},
    ],
    "shipping": "4.90",
}


@pytest.fixture
def shop(cli, tmp_path, monkeypatch):
    """The discount program applied, members C-1 and C-2, a cart file; the clock fixed."""
    monkeypatch.setenv("LOYALTYCTL_CLOCK", "2026-12-04T12:00:00Z")  # a Friday
    result = cli("apply", write(tmp_path / "discounts.toml", PROGRAM))
    assert result.exit_code == 0, result.stderr
    add_member(cli, "C-1")
    add_member(cli, "C-2", "Bob")
    return write(tmp_path / "cart.json", json.dumps(CART))


def ingest(cli, tmp_path, *events: dict, name: str = "events.jsonl"):
    path = write(tmp_path / name, "".join(json.dumps(e) + "\n" for e in events))
    result = cli("events", "ingest", path, "--json")
    assert result.exit_code in (0, 3), result.stderr  # 3: bad lines, listed
    return result


def later(monkeypatch, moment: str = "2026-12-04T12:00:01Z") -> None:
    """Each command starts the test clock again: one that follows a grant by hand moves
    it on (else it would run before the grant)."""
    monkeypatch.setenv("LOYALTYCTL_CLOCK", moment)


def started(
    event_id, sub, package, member="C-1", at="2026-11-01T10:00:00Z", renews="2026-12-10T10:00:00Z"
):
    return {
        "id": event_id,
        "type": "subscription.started",
        "at": at,
        "member": member,
        "subscription_id": sub,
        "package": package,
        "renews_at": renews,
    }


def paid(event_id, order, skus, member="C-1", at="2026-11-20T10:00:00Z", **extra):
    items = [{"sku": sku, "price": "10.00", "quantity": 1} for sku in skus]
    return {
        "id": event_id,
        "type": "order.paid",
        "at": at,
        "member": member,
        "order_id": order,
        "items": items,
        **extra,
    }


def grants(cli, *args) -> list[dict]:
    result = cli("discount", "grants", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json


def quote(cli, cart, *args) -> dict:
    result = cli("quote", "--member", "C-1", "--cart", cart, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json


def test_the_seeds_example_in_one_exclusive_group_gives_15_percent(cli, shop, tmp_path):
    ingest(
        cli,
        tmp_path,
        started("s1", "SUB-D", "DIAMOND"),
        started("s2", "SUB-E", "EMERALD"),
    )
    doc = quote(cli, shop)
    mug = doc["lines"][1]
    assert [(d["slug"], d["percent"], d["amount"]) for d in mug["discounts"]] == [
        ("emerald-15", 15, "1.20")
    ]
    assert mug["not_applied"][0]["slug"] == "diamond-10"
    assert mug["not_applied"][0]["reason"] == "exclusive_group"
    assert "emerald-15" in mug["not_applied"][0]["message"]
    assert mug["pay"] == "6.80"


def test_the_seeds_example_without_a_group_gives_25_percent(cli, shop, tmp_path):
    cli("apply", write(tmp_path / "discounts.toml", without_group()))
    ingest(cli, tmp_path, started("s1", "SUB-D", "DIAMOND"), started("s2", "SUB-E", "EMERALD"))
    doc = quote(cli, shop)
    mug = doc["lines"][1]
    # same priority: the higher percent first; 15 + 10 of 8.00
    assert [(d["slug"], d["amount"]) for d in mug["discounts"]] == [
        ("emerald-15", "1.20"),
        ("diamond-10", "0.80"),
    ]
    assert mug["pay"] == "6.00"
    totals = doc["totals"]
    assert totals == {
        "subtotal": "32.00",
        "discounts": "8.00",
        "coupons": "0.00",
        "shipping": "4.90",
        "shipping_discount": "0.00",
        "total": "28.90",
    }
    assert set(doc) == {"member", "at", "lines", "coupons", "totals", "points"}
    assert set(mug) == {
        "sku",
        "quantity",
        "unit_price",
        "amount",
        "discounts",
        "coupons",
        "not_applied",
        "pay",
    }


def test_a_purchase_grants_for_its_days_and_a_full_refund_revokes(cli, shop, tmp_path):
    ingest(
        cli,
        tmp_path,
        paid("o1", "1001", ["CLUB-1M"]),
        paid("o2", "1002", ["CLUB-1M"], member="C-2"),
    )
    held = grants(cli, "coffee-club", "--all")
    mine = next(g for g in held if g["member"] == "C-1")
    assert mine["source"]["type"] == "order" and mine["source"]["order_id"] == "1001"
    assert (mine["since"], mine["until"]) == ("2026-11-20T10:00:00Z", "2026-12-20T10:00:00Z")
    beans = quote(cli, shop)["lines"][0]
    assert [d["slug"] for d in beans["discounts"]] == ["coffee-club"]
    # replayed: no second grant; a partial refund keeps it; the full refund revokes it
    ingest(cli, tmp_path, paid("o1", "1001", ["CLUB-1M"]))
    partial = {
        "id": "r1",
        "type": "order.refunded",
        "at": "2026-11-21T10:00:00Z",
        "order_id": "1001",
        "amount": "1.00",
    }
    ingest(cli, tmp_path, partial, name="r1.jsonl")
    assert [g["status"] for g in grants(cli, "--member", "C-1", "--all")] == ["active"]
    full = {"id": "r2", "type": "order.refunded", "at": "2026-11-22T10:00:00Z", "order_id": "1001"}
    ingest(cli, tmp_path, full, name="r2.jsonl")
    mine = grants(cli, "--member", "C-1", "--all")
    assert [(g["status"], g["revoked_at"]) for g in mine] == [("revoked", "2026-11-22T10:00:00Z")]
    assert grants(cli, "--member", "C-2")[0]["status"] == "active"  # the other order's stays
    beans = quote(cli, shop)["lines"][0]
    assert beans["discounts"] == []
    assert beans["not_applied"][0]["reason"] == "grant_ended"


def test_a_chargeback_revokes_only_its_own_orders_grants(cli, shop, tmp_path):
    ingest(
        cli,
        tmp_path,
        paid("o1", "1001", ["CLUB-1M"]),
        paid("o2", "1002", ["CLUB-1M"], at="2026-11-21T10:00:00Z"),
    )
    back = {
        "id": "c1",
        "type": "order.chargeback",
        "at": "2026-11-25T10:00:00Z",
        "order_id": "1002",
    }
    ingest(cli, tmp_path, back, name="c.jsonl")
    ingest(cli, tmp_path, back, name="c.jsonl")  # replayed: nothing more
    by_order = {g["source"]["order_id"]: g["status"] for g in grants(cli, "--all")}
    assert by_order == {"1001": "active", "1002": "revoked"}


def test_a_cancelled_subscription_keeps_its_grant_until_the_renewal_date(
    cli, shop, tmp_path, monkeypatch
):
    cancel = {
        "id": "x1",
        "type": "subscription.cancelled",
        "at": "2026-11-15T10:00:00Z",
        "subscription_id": "SUB-D",
    }
    ingest(cli, tmp_path, started("s1", "SUB-D", "DIAMOND"), cancel)
    (grant,) = grants(cli)
    assert (grant["status"], grant["revoke_at"]) == ("scheduled", "2026-12-10T10:00:00Z")
    assert quote(cli, shop)["lines"][1]["discounts"][0]["slug"] == "diamond-10"
    after = quote(cli, shop, "--at", "2026-12-10T10:00:00Z")["lines"][1]
    assert after["discounts"] == [] and after["not_applied"][0]["reason"] == "grant_ended"
    monkeypatch.setenv("LOYALTYCTL_CLOCK", "2026-12-11T00:00:00Z")
    first = cli("maintain", "run", "--json")
    assert first.exit_code == 0, first.stderr
    assert (first.json["grants_revoked"], first.json["grants_ended"]) == (1, 0)
    assert cli("maintain", "run", "--json").json["grants_revoked"] == 0
    (grant,) = grants(cli, "--all")
    assert (grant["status"], grant["revoked_at"]) == ("revoked", "2026-12-10T10:00:00Z")
    # resumed after the revoke: granted again
    resumed = {
        "id": "x2",
        "type": "subscription.resumed",
        "at": "2026-12-10T12:00:00Z",
        "subscription_id": "SUB-D",
        "renews_at": "2027-01-10T12:00:00Z",
    }
    ingest(cli, tmp_path, resumed, name="resumed.jsonl")
    assert [g["status"] for g in grants(cli, "--all")] == ["active", "revoked"]


def test_resumed_within_the_grace_period_clears_the_revoke(cli, shop, tmp_path):
    cancel = {
        "id": "x1",
        "type": "subscription.cancelled",
        "at": "2026-11-15T10:00:00Z",
        "subscription_id": "SUB-D",
    }
    resumed = {
        "id": "x2",
        "type": "subscription.resumed",
        "at": "2026-11-20T10:00:00Z",
        "subscription_id": "SUB-D",
        "renews_at": "2026-12-10T10:00:00Z",
    }
    renewed = {
        "id": "x3",
        "type": "subscription.renewed",
        "at": "2026-11-21T10:00:00Z",
        "subscription_id": "SUB-D",
        "renews_at": "2027-01-10T10:00:00Z",
    }
    result = ingest(cli, tmp_path, started("s1", "SUB-D", "DIAMOND"), cancel, resumed, renewed)
    assert result.json["applied"] == 4
    (grant,) = grants(cli, "--all")
    assert (grant["status"], grant["revoke_at"]) == ("active", None)


def test_a_subscription_event_of_an_unknown_subscription_is_a_bad_line(cli, shop, tmp_path):
    cancel = {
        "id": "x1",
        "type": "subscription.cancelled",
        "at": "2026-11-15T10:00:00Z",
        "subscription_id": "NOPE",
    }
    result = ingest(cli, tmp_path, cancel)
    assert result.exit_code == 3
    assert "subscription NOPE is not known" in result.json["errors"][0]["message"]


def test_an_order_names_the_discounts_it_used_and_an_unknown_one_is_a_bad_line(cli, shop, tmp_path):
    ok = paid("o1", "1001", ["MUG"], discounts=["diamond-10"])
    bad = paid("o2", "1002", ["MUG"], discounts=["diamnd-10"])
    result = ingest(cli, tmp_path, ok, bad)
    assert result.json["applied"] == 1
    assert "diamnd-10" in result.json["errors"][0]["message"]


def test_grant_by_hand_replays_with_its_key_and_revoke_is_audited(cli, shop, monkeypatch):
    first = cli(
        "discount",
        "grant",
        "night-owl",
        "--member",
        "C-1",
        "--expires-in",
        "30d",
        "--note",
        "VIP",
        "--key",
        "g-1",
        "--json",
    )
    assert first.exit_code == 0, first.stderr
    doc = first.json
    assert doc["source"] == {
        "type": "admin",
        "order_id": None,
        "subscription_id": None,
        "operator": "tester",
        "note": "VIP",
    }
    assert (doc["since"], doc["until"], doc["status"]) == (
        "2026-12-04T12:00:00Z",
        "2027-01-03T12:00:00Z",
        "active",
    )
    again = cli(
        "discount",
        "grant",
        "night-owl",
        "--member",
        "C-1",
        "--expires-in",
        "30d",
        "--note",
        "VIP",
        "--key",
        "g-1",
        "--json",
    )
    assert (again.json["id"], again.json["replayed"]) == (doc["id"], True)
    later(monkeypatch)
    assert len(grants(cli)) == 1
    revoked = cli(
        "discount", "revoke", "night-owl", "--member", "C-1", "--reason", "mistake", "--json"
    )
    assert revoked.exit_code == 0 and revoked.json["revoked"] == [doc["id"]]
    none = cli("discount", "revoke", "night-owl", "--member", "C-1", "--reason", "again", "--json")
    assert none.exit_code == 1 and none.json["error"]["code"] == "not_held"
    log = cli("audit", "log", "--json").json
    actions = [e["action"] for e in (log["events"] if isinstance(log, dict) else log)]
    assert "discount.grant" in actions and "discount.revoke" in actions


def test_refusals_say_what_to_do(cli, shop):
    unknown = cli("discount", "grant", "diamnd-10", "--member", "C-1")
    assert unknown.exit_code == 1 and "diamond-10" in flat(unknown.stderr)
    member = cli("discount", "grant", "diamond-10", "--member", "C-9")
    assert member.exit_code == 1 and "C-9" in flat(member.stderr)
    both = cli(
        "discount",
        "grant",
        "diamond-10",
        "--member",
        "C-1",
        "--expires",
        "2027-01-01",
        "--expires-in",
        "3d",
    )
    assert both.exit_code == 2
    past = cli("discount", "grant", "diamond-10", "--member", "C-1", "--expires", "2026-01-01")
    assert past.exit_code == 2 and "future" in flat(past.stderr)
    assert grants(cli, "--all") == []


def test_member_show_lists_held_discounts_and_list_marks_dormant(cli, shop, monkeypatch):
    cli("discount", "grant", "diamond-10", "--member", "C-1")
    later(monkeypatch)
    shown = cli("member", "show", "C-1")
    assert "Discounts held" in shown.stdout and "diamond-10" in shown.stdout
    doc = cli("member", "show", "C-1", "--json").json
    assert [d["discount"] for d in doc["discounts"]] == ["diamond-10"]
    listed = {d["slug"]: d for d in cli("discount", "list", "--json").json}
    assert listed["sleepy"]["dormant"] is True and listed["diamond-10"]["dormant"] is False
    assert (listed["diamond-10"]["active_grants"], listed["diamond-10"]["members"]) == (1, 1)
    assert "dormant" in cli("discount", "list").stdout
    show = cli("discount", "show", "diamond-10", "--json").json
    assert show["grants"][0]["member"] == "C-1" and show["exclusive_group"] == "subscription_tier"


def test_quote_schedules_in_the_program_time_zone(cli, shop, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_TIMEZONE", "Europe/Amsterdam")
    cli("discount", "grant", "night-owl", "--member", "C-1", "--json")
    # Friday 2026-12-04 23:30 in Amsterdam is 22:30 UTC; Saturday 01:30 still Friday's
    inside = quote(cli, shop, "--at", "2026-12-04T23:30:00")["lines"][1]
    assert [d["slug"] for d in inside["discounts"]] == ["night-owl"]
    late = quote(cli, shop, "--at", "2026-12-05T01:30:00+01:00")["lines"][1]
    assert [d["slug"] for d in late["discounts"]] == ["night-owl"]
    closed = quote(cli, shop, "--at", "2026-12-05T02:00:00")["lines"][1]
    assert closed["not_applied"][0]["reason"] == "outside_schedule"


def test_quote_changes_nothing_and_needs_no_key_file_without_coupons(
    cli, shop, tmp_path, monkeypatch
):
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(tmp_path / "missing" / "keys.toml"))
    cli("discount", "grant", "diamond-10", "--member", "C-1")
    later(monkeypatch)
    before = cli("audit", "log", "--json").stdout
    human = cli("quote", "--member", "C-1", "--cart", shop)
    assert human.exit_code == 0, human.stderr
    assert "diamond-10" in human.stdout and "33.70" in human.stdout
    assert all(len(line) <= 80 for line in human.stdout.splitlines())
    assert cli("audit", "log", "--json").stdout == before
    stdin = cli("quote", "--member", "C-1", "--cart", "-", "--json", input=json.dumps(CART))
    assert stdin.exit_code == 0 and stdin.json["totals"]["total"] == "33.70"
    needs_keys = cli("quote", "--member", "C-1", "--cart", shop, "--coupon", "7KQ4-M2XA-HP3C")
    assert needs_keys.exit_code == 4


def test_quote_applies_coupons_after_discounts_with_the_coupon_checks(
    cli, shop, keys, tmp_path, monkeypatch
):
    db = Database(cli.url)
    try:
        apply_coupon_perks(db, tmp_path)
        ten = issue(db, keys, perk="ten-off", member="C-1")
        other = issue(db, keys, perk="free-shipping", member="C-2")
    finally:
        db.dispose()
    cli("discount", "grant", "diamond-10", "--member", "C-1")
    later(monkeypatch)
    doc = quote(
        cli, shop, "--coupon", ten.code, "--coupon", other.code, "--coupon", ten.code.lower()
    )
    assert [(c["code"], c["applied"], c["reason"]) for c in doc["coupons"]] == [
        (ten.masked, True, None),
        (other.masked, False, "wrong_member"),
    ]
    # 32.00 - 3.20 (10%) = 28.80 left; 10.00 spread 21.60 : 7.20 -> 7.50 : 2.50
    assert [[c["amount"] for c in line["coupons"]] for line in doc["lines"]] == [["7.50"], ["2.50"]]
    assert doc["totals"]["coupons"] == "10.00" and doc["totals"]["total"] == "23.70"
    assert ten.code not in json.dumps(doc)
    # nothing was used
    assert cli("coupon", "show", ten.code, "--json").json["status"] == "active"


def test_a_bad_cart_lists_every_problem(cli, shop, tmp_path):
    bad = write(tmp_path / "bad.json", '{"items": [{"sku": "A", "price": "1.001", "quantity": 0}]}')
    result = cli("quote", "--member", "C-1", "--cart", bad)
    assert result.exit_code == 3
    text = flat(result.stderr)
    assert "price" in text and "quantity" in text and "bad.json:1:" in text


def test_stats_discounts_counts_grants_members_and_uses_with_a_chart(cli, shop, tmp_path):
    ingest(
        cli,
        tmp_path,
        started("s1", "SUB-D", "DIAMOND"),
        paid("o1", "1001", ["MUG"], discounts=["diamond-10"], at="2026-11-20T10:00:00Z"),
        paid("o2", "1002", ["MUG"], discounts=["diamond-10"], at="2026-11-22T10:00:00Z"),
        paid(
            "o3",
            "1003",
            ["MUG"],
            member="C-2",
            discounts=["diamond-10", "coffee-club"],
            at="2026-11-22T11:00:00Z",
        ),
    )
    doc = cli("stats", "discounts", "--json").json
    diamond = next(d for d in doc["discounts"] if d["slug"] == "diamond-10")
    assert (diamond["active_grants"], diamond["members_holding"]) == (1, 1)
    assert (diamond["uses"], diamond["members_used"]) == (3, 2)
    assert doc["series"] == [
        {"period": "2026-11-20", "uses": 1},
        {"period": "2026-11-21", "uses": 0},
        {"period": "2026-11-22", "uses": 3},
    ]
    one = cli(
        "stats", "discounts", "diamond-10", "--since", "2026-11-21", "--by", "week", "--json"
    ).json
    assert [d["slug"] for d in one["discounts"]] == ["diamond-10"]
    assert one["discounts"][0]["uses"] == 2
    assert one["series"] == [{"period": "2026-11-16", "uses": 2}]
    human = cli("stats", "discounts")
    assert "Uses per period" in human.stdout and "█" in human.stdout
    unknown = cli("stats", "discounts", "diamnd-10")
    assert unknown.exit_code == 1 and "diamond-10" in flat(unknown.stderr)
