# ruff: noqa: E501 - carts written out whole
"""`quote` rule 8: the points a quote says the order would earn are what ingesting the
order.paid of that cart (its discount = the quote's discounts + coupons) earns, under
the member's tier, the rules' rounding, multipliers, limits and wait days; both
databases."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from loyaltyctl.domain.cart import parse_cart
from loyaltyctl.domain.values import utcnow
from loyaltyctl.program.files import read_program_files
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.discounts.grants import grant_discount
from loyaltyctl.services.discounts.quoting import quote_cart
from loyaltyctl.services.earning.ingest import ingest_events
from loyaltyctl.store.tables import LedgerEntry
from tests.discount_helpers import PROGRAM

TZ = ZoneInfo("UTC")
# within the rules' wait: the points of an order ingested now are pending
AT = (utcnow() - timedelta(hours=2)).replace(second=0, microsecond=0)
RULES = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 3
rounding = "nearest"
wait_days = 14
limit = { count = 2, per = "day" }

[[earning_rule]]
slug = "gold-bonus"
kind = "order"
points_per_unit = 1
tiers = ["gold"]

[[tier]]
slug = "gold"
name = "Gold"
threshold = 1000000
period = "lifetime"
multiplier = 1.5
"""
CARTS = [
    {"items": [{"sku": "BEANS", "category": "coffee", "price": "12.35", "quantity": 3}]},
    {
        "items": [
            {"sku": "MUG", "price": "8.99", "quantity": 1, "sale": True},
            {"sku": "BEANS", "category": "coffee", "price": "0.07", "quantity": 1},
        ],
        "shipping": "4.90",
    },
    {
        "items": [
            {"sku": "A", "price": "33.33", "quantity": 2},
            {"sku": "B", "price": "0.01", "quantity": 7},
        ]
    },
]


@pytest.fixture
def program(db, member, tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM + RULES, encoding="utf-8")
    files = read_program_files([path], env={}, tz=TZ)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="t"))
    member("C-1", tier="gold")
    member("C-2")
    for slug in ("diamond-10", "coffee-club", "night-owl"):
        for who in ("C-1", "C-2"):
            db.run(
                lambda s, slug=slug, who=who: grant_discount(
                    session=s, slug=slug, member=who, operator="t", now=AT - timedelta(days=1)
                )
            )


def _ingest(db, tmp_path, name: str, event: dict) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text(json.dumps(event) + "\n", encoding="utf-8")
    result = ingest_events(database=db, path=path, tz=TZ, operator="t")
    assert result.errors_total == 0, result.errors
    return result.points_awarded


def _pending_until(db, event_id: str):
    """When the last of the points the event earned mature (None: none are pending)."""
    return db.run(
        lambda s: s.execute(
            select(func.max(LedgerEntry.pending_until)).where(LedgerEntry.event_id == event_id)
        ).scalar_one(),
        write=False,
    )


@pytest.mark.parametrize("who", ["C-1", "C-2"])
def test_quote_earns_what_ingesting_its_order_earns(db, program, tmp_path, who):
    pending = []
    for number, doc in enumerate(CARTS * 2):  # the third and later orders of a day: limit
        cart = parse_cart(json.dumps(doc))
        at = AT + timedelta(minutes=number)
        quoted = db.run(
            lambda s, cart=cart, at=at: quote_cart(session=s, member=who, cart=cart, tz=TZ, at=at),
            write=False,
        )
        totals = quoted.quote.totals
        taken = totals.discounts + totals.coupons
        assert taken > 0 or number % 3 == 1  # discounts did apply (the sale line excepted)
        event = {
            "id": f"{who}-{number}",
            "type": "order.paid",
            "at": at.isoformat(),
            "member": who,
            "order_id": f"{who}-{number}",
            "items": doc["items"],
            "discount": str(taken),
        }
        earned = _ingest(db, tmp_path, f"{who}-{number}", event)
        assert quoted.points.earn == earned, (number, doc)
        assert quoted.points.pending_until == _pending_until(db, event["id"])
        pending.append(quoted.points.pending_until)
        assert (
            quoted.quote.points_basis
            == sum((Decimal(i["price"]) * i["quantity"] for i in doc["items"]), Decimal(0)) - taken
        )
    if who == "C-1":  # past the limit a gold member still earns gold-bonus, at once
        assert AT + timedelta(days=14) in pending and None in pending
