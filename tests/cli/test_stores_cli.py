"""Stores' own formats through the CLI, on SQLite and PostgreSQL: `events ingest
--format shopify|woocommerce|stripe` and `events map` on payloads in the platforms'
documented shape (fixtures/stores), held refunds, and the rules of issue 15:

- a platform's order and refund give exactly the points of the same order in our format;
- minor units are never read as whole units;
- replays and resends never apply twice;
- a bad payload names the platform's field, exits 3 and changes nothing under --strict.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.cli.helpers import add_member, balance, history, write

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stores"
RULES = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 1
"""


def jsonl(*documents) -> str:
    return "".join(json.dumps(d) + "\n" for d in documents)


def fixture_lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


@pytest.fixture
def program(cli, tmp_path):
    result = cli("apply", str(write(tmp_path / "rules.toml", RULES)), "--json")
    assert result.exit_code == 0, result.stderr


def ingest(cli, path, *extra):
    return cli("events", "ingest", str(path), *extra, "--json")


def points(cli, member: str) -> int:
    return balance(cli, member)["balance"]


# --- the same points as our own format -------------------------------------------------------


def test_a_shopify_order_and_refund_earn_what_the_same_order_in_our_format_earns(
    cli, program, tmp_path
):
    shopify = fixture_lines("shopify.jsonl")
    order, refund = shopify[1], shopify[3]
    add_member(cli, "207119551", "Bob Norman", "--email", "bob.norman@example.com")
    add_member(cli, "OWN-1", "Our format")
    result = ingest(cli, write(tmp_path / "s.jsonl", jsonl(order, refund)), "--format", "shopify")
    assert result.exit_code == 0, result.stderr
    assert result.json["applied"] == 2
    ours = [
        {
            "id": "o1",
            "type": "order.paid",
            "at": "2026-11-02T17:29:04Z",
            "member": "OWN-1",
            "order_id": "own-1001",
            "items": [
                {"sku": "IPOD2008BLACK", "price": "199.00", "quantity": 1},
                {"sku": "SHIRT-M", "price": "25.50", "quantity": 2},
            ],
            "discount": "10.00",
            "shipping": "5.00",
        },
        {
            "id": "r1",
            "type": "order.refunded",
            "at": "2026-11-05T16:04:04Z",
            "order_id": "own-1001",
            "items": [{"sku": "SHIRT-M", "quantity": 1}],
        },
    ]
    assert ingest(cli, write(tmp_path / "o.jsonl", jsonl(*ours))).exit_code == 0
    assert points(cli, "207119551") == points(cli, "OWN-1") == 240 - 24
    amounts = [e["amount"] for e in history(cli, "207119551")]
    assert amounts == [e["amount"] for e in history(cli, "OWN-1")] == [-24, 240]


def test_a_woocommerce_order_and_refunds_earn_what_our_format_earns(cli, program, tmp_path):
    woo = json.loads((FIXTURES / "woocommerce.json").read_text())
    add_member(cli, "W-1", "John Doe", "--email", "john.doe@example.com")
    add_member(cli, "OWN-2", "Our format")
    result = ingest(cli, FIXTURES / "woocommerce.json", "--format", "woocommerce")
    assert result.exit_code == 0, result.stderr
    # the pending order and the refund of shipping only are reported, not applied
    assert [n["line"] for n in result.json["notes"]][:1] == [143]
    assert any("shipping only: nothing to reverse" in n["message"] for n in result.json["notes"])
    ours = [
        {
            "id": "o2",
            "type": "order.paid",
            "at": "2026-11-02T19:28:03Z",
            "member": "OWN-2",
            "order_id": "own-727",
            "items": [
                {"sku": "WOO-ALBUM", "price": "18.00", "quantity": 2},
                # 50.00 for 3: 16.67 + 16.67 + 16.66, as the store's subtotal says
                {"sku": "WOO-CAP", "price": "16.67", "quantity": 2},
                {"sku": "WOO-CAP", "price": "16.66", "quantity": 1},
            ],
            "discount": "3.60",
            "shipping": "10.00",
            "tax": "4.00",
        },
        {"id": "r2", "type": "order.refunded", "at": "2026-11-05T15:00:00Z",
         "order_id": "own-727", "items": [{"sku": "WOO-CAP", "quantity": 1}]},
        {"id": "r3", "type": "order.refunded", "at": "2026-11-05T15:00:00Z",
         "order_id": "own-727", "gross": woo[3]["amount"]},
    ]  # fmt: skip
    assert ingest(cli, write(tmp_path / "o.jsonl", jsonl(*ours))).exit_code == 0
    assert points(cli, "W-1") == points(cli, "OWN-2") == 82 - 36
    assert [e["amount"] for e in history(cli, "W-1")] == [
        e["amount"] for e in history(cli, "OWN-2")
    ]


def test_a_stripe_checkout_and_its_cumulative_refunds_earn_what_our_format_earns(
    cli, program, tmp_path
):
    add_member(cli, "cus_Q1w2e3", "Bob Norman")
    add_member(cli, "OWN-3", "Our format")
    stripe = fixture_lines("stripe.jsonl")[:3]
    result = ingest(cli, write(tmp_path / "s.jsonl", jsonl(*stripe)), "--format", "stripe")
    assert result.exit_code == 0, result.stderr
    ours = [
        {
            "id": "o3", "type": "order.paid", "at": "2026-11-02T11:48:20Z", "member": "OWN-3",
            "order_id": "own-pi", "items": [{"sku": "checkout", "price": "25.00"}],
            "discount": "5.00", "shipping": "5.00",
        },
        {"id": "r4", "type": "order.refunded", "at": "2026-11-04T13:46:40Z",
         "order_id": "own-pi", "amount": "10.00"},
        {"id": "r5", "type": "order.refunded", "at": "2026-11-05T17:33:20Z", "order_id": "own-pi"},
    ]  # fmt: skip
    assert ingest(cli, write(tmp_path / "o.jsonl", jsonl(*ours))).exit_code == 0
    assert [e["amount"] for e in history(cli, "cus_Q1w2e3")] == [-10, -10, 20]
    assert [e["amount"] for e in history(cli, "OWN-3")] == [-10, -10, 20]


# --- minor units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "subtotal", "earned"),
    [("usd", 2500, 25), ("jpy", 2500, 2500), ("kwd", 2500, 2), ("USD", 1999, 19)],
)
def test_stripe_minor_units_are_read_with_the_currency_exponent(
    cli, program, tmp_path, currency, subtotal, earned
):
    add_member(cli, "cus_Q1w2e3", "Bob Norman")
    session = copy.deepcopy(fixture_lines("stripe.jsonl")[0])
    body = session["data"]["object"]
    body.update(currency=currency, amount_subtotal=subtotal, total_details=None)
    result = ingest(cli, write(tmp_path / "s.jsonl", jsonl(session)), "--format", "stripe")
    assert result.exit_code == 0, result.stderr
    assert points(cli, "cus_Q1w2e3") == earned


# --- replays, resends, updates ----------------------------------------------------------------


def test_resends_replay_and_an_update_after_it_was_applied_is_reported(cli, program, tmp_path):
    add_member(cli, "207119551", "Bob Norman", "--email", "bob.norman@example.com")
    shopify = FIXTURES / "shopify.jsonl"
    first = ingest(cli, shopify, "--format", "shopify")
    assert first.exit_code == 0, first.stderr
    again = ingest(cli, shopify, "--format", "shopify")
    assert (again.json["applied"], again.json["replayed"]) == (0, 3)
    order = fixture_lines("shopify.jsonl")[1]
    # a resend with fields the tool does not read changed, and an orders/updated
    resent = dict(order, updated_at="2026-11-09T00:00:00Z", note="gift", tags="vip")
    resent["line_items"][0]["fulfillment_status"] = "fulfilled"
    edited = copy.deepcopy(order)
    edited["line_items"][1]["quantity"] = 3
    result = ingest(cli, write(tmp_path / "r.jsonl", jsonl(resent, edited)), "--format", "shopify")
    assert result.exit_code == 0, result.stderr
    assert (result.json["applied"], result.json["replayed"]) == (0, 2)
    assert any("changed after it was applied" in n["message"] for n in result.json["notes"])
    assert points(cli, "207119551") == 240 - 24
    # the pretty-printed order, as saved from the admin API, is the same order too
    pretty = ingest(cli, FIXTURES / "shopify-order.json", "--format", "shopify")
    assert (pretty.exit_code, pretty.json["replayed"]) == (0, 1)


def test_our_format_checks_only_the_fields_it_reads(cli, program, tmp_path):
    add_member(cli)
    order = {"id": "e1", "type": "order.paid", "at": "2026-11-02T10:00:00Z", "member": "C-1",
             "order_id": "1", "items": [{"sku": "P", "price": "10.00"}]}  # fmt: skip
    assert ingest(cli, write(tmp_path / "a.jsonl", jsonl(order))).exit_code == 0
    resent = dict(order, note="not read", items=[{"sku": "P", "price": "10.0", "name": "x"}])
    result = ingest(cli, write(tmp_path / "b.jsonl", jsonl(resent)))
    assert (result.exit_code, result.json["replayed"]) == (0, 1)
    changed = dict(order, items=[{"sku": "P", "price": "11.00"}])
    result = ingest(cli, write(tmp_path / "c.jsonl", jsonl(changed)))
    assert result.exit_code == 3
    assert "different content" in result.json["errors"][0]["message"]


# --- held refunds ------------------------------------------------------------------------------


def test_a_refund_before_its_order_is_held_and_applied_once_when_the_order_comes(
    cli, program, tmp_path
):
    add_member(cli, "207119551", "Bob Norman")
    shopify = fixture_lines("shopify.jsonl")
    refund_file = write(tmp_path / "refund.jsonl", jsonl(shopify[3]))
    held = ingest(cli, refund_file, "--format", "shopify")
    assert held.exit_code == 0, held.stderr
    assert (held.json["held"], held.json["applied"], held.json["skipped"]) == (1, 0, 0)
    resent = ingest(cli, refund_file, "--format", "shopify")
    assert (resent.json["held"], resent.json["replayed"]) == (0, 1)
    order = ingest(cli, write(tmp_path / "order.jsonl", jsonl(shopify[1])), "--format", "shopify")
    assert (order.json["applied"], order.json["held_applied"]) == (1, 1)
    assert points(cli, "207119551") == 240 - 24
    late = ingest(cli, refund_file, "--format", "shopify")  # after it was applied
    assert (late.json["replayed"], late.json["held"]) == (1, 0)
    assert points(cli, "207119551") == 240 - 24


def test_a_held_refund_is_not_applied_by_a_dry_run_nor_a_strict_run_that_fails(
    cli, program, tmp_path
):
    add_member(cli)
    refund = {"id": "r1", "type": "order.refunded", "at": "2026-11-05T10:00:00Z", "order_id": "9"}
    result = ingest(cli, write(tmp_path / "r.jsonl", jsonl(refund, "{bad")), "--strict")
    assert result.exit_code == 3 and result.json["held"] == 0
    order = {"id": "o9", "type": "order.paid", "at": "2026-11-02T10:00:00Z", "member": "C-1",
             "order_id": "9", "items": [{"sku": "P", "price": "10.00"}]}  # fmt: skip
    assert ingest(cli, write(tmp_path / "o.jsonl", jsonl(order))).json["held_applied"] == 0
    assert points(cli, "C-1") == 10


# --- bad payloads ------------------------------------------------------------------------------


def test_a_bad_payload_names_the_platform_field_and_strict_changes_nothing(cli, program, tmp_path):
    add_member(cli, "207119551", "Bob Norman", "--email", "bob.norman@example.com")
    shopify = fixture_lines("shopify.jsonl")
    bad = copy.deepcopy(shopify[1])
    bad["id"] = 1
    bad["line_items"].append(copy.deepcopy(bad["line_items"][0]))
    bad["line_items"][2]["price"] = "12,50"
    stripe_bad = fixture_lines("stripe.jsonl")[0]
    path = write(tmp_path / "bad.jsonl", jsonl(shopify[0], shopify[2], bad))
    result = ingest(cli, path, "--format", "shopify", "--strict")
    assert result.exit_code == 3
    assert result.json["errors"][0]["line"] == 3
    assert result.json["errors"][0]["message"].startswith("line_items[2].price: '12,50'")
    assert "line 3" in result.stderr or ":3: line_items[2].price" in result.stderr
    assert result.json["applied"] == 0
    found = cli("member", "show", "207119552", "--json")
    assert found.exit_code == 1  # the customer of line 1 was not added either
    stripe_bad["data"]["object"]["amount_subtotal"] = "25.00"
    result = ingest(cli, write(tmp_path / "s.jsonl", jsonl(stripe_bad)), "--format", "stripe")
    assert result.exit_code == 3
    assert result.json["errors"][0]["message"].startswith("data.object.amount_subtotal:")
    assert "minor units" in result.json["errors"][0]["message"]


def test_a_payload_whose_customer_is_no_member_is_a_bad_line(cli, program, tmp_path):
    order = fixture_lines("shopify.jsonl")[1]
    result = ingest(cli, write(tmp_path / "o.jsonl", jsonl(order)), "--format", "shopify")
    assert result.exit_code == 3
    assert "no member matches the payload's customer" in result.json["errors"][0]["message"]


def test_members_are_found_by_the_member_key(cli, program, tmp_path):
    add_member(cli, "M-EMAIL", "Bob", "--email", "Bob.Norman@example.com")
    add_member(cli, "M-PHONE", "Rob", "--phone", "+1 (613) 612-0707")
    order = fixture_lines("shopify.jsonl")[1]
    path = write(tmp_path / "o.jsonl", jsonl(order))
    mapped = cli("events", "map", "--format", "shopify", str(path), "--member-key", "phone")
    assert mapped.exit_code == 0, mapped.stderr
    assert json.loads(mapped.stdout.splitlines()[0])["member"] == "M-PHONE"
    result = ingest(cli, path, "--format", "shopify")  # id (no member), then email
    assert result.exit_code == 0, result.stderr
    assert points(cli, "M-EMAIL") == 240
    wrong = cli("events", "map", "--format", "shopify", str(path), "--member-key", "card")
    assert wrong.exit_code == 2


def test_events_map_prints_our_events_and_applies_nothing(cli, program, tmp_path):
    add_member(cli, "W-1", "John Doe", "--email", "john.doe@example.com")
    result = cli("events", "map", "--format", "woocommerce", str(FIXTURES / "woocommerce.json"))
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in events] == ["order.paid", "order.refunded", "order.refunded"]
    assert events[0]["member"] == "W-1"
    assert "order 728 is not paid yet" in result.stderr
    assert points(cli, "W-1") == 0
    # what map prints is our own format: ingesting it gives the same points
    ours = write(tmp_path / "mapped.jsonl", result.stdout)
    assert ingest(cli, ours).exit_code == 0
    assert points(cli, "W-1") == 82 - 36


def test_a_pretty_printed_document_given_as_json_lines_gets_one_hint(cli, program, tmp_path):
    result = ingest(cli, FIXTURES / "shopify-order.json")
    assert result.exit_code == 3
    assert "pretty-printed JSON document, not JSON lines" in result.stderr
    assert "jq -c" in result.stderr and "--format" in result.stderr
    assert result.stderr.count("\n") <= 3


def test_events_ingested_before_the_content_check_changed_still_replay(
    cli, program, tamper, tmp_path
):
    from loyaltyctl.domain.events import digest_of

    add_member(cli)
    order = {"id": "old-1", "type": "order.paid", "at": "2026-11-02T10:00:00Z", "member": "C-1",
             "order_id": "1", "items": [{"sku": "P", "price": "10.00"}], "note": "x"}  # fmt: skip
    path = write(tmp_path / "a.jsonl", jsonl(order))
    assert ingest(cli, path).exit_code == 0
    # as recorded before schema 0010: the digest of the whole line
    tamper(f"UPDATE ingested_event SET digest = '{digest_of(order)}' WHERE id = 'old-1'")
    again = ingest(cli, path)
    assert (again.exit_code, again.json["replayed"]) == (0, 1)
    assert points(cli, "C-1") == 10
