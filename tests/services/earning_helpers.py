"""Events and program files shared by the earning tests (tests/services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Amsterdam")

ORDER_RULE = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 1
rounding = "down"
"""


def at(days_before_now: float = 0, hours: float = 0) -> str:
    return (NOW - timedelta(days=days_before_now, hours=hours)).isoformat().replace("+00:00", "Z")


def order(event_id, order_id, items, *, member="C-1", discount=None, when=None, **extra):
    event = {
        "id": event_id,
        "type": "order.paid",
        "at": when or at(30),
        "member": member,
        "order_id": order_id,
        "currency": "USD",
        "items": [{"sku": sku, "price": price, "quantity": qty} for sku, price, qty in items],
        **extra,
    }
    if discount is not None:
        event["discount"] = discount
    return event


def refund(event_id, order_id, *, items=None, amount=None, when=None):
    event = {"id": event_id, "type": "order.refunded", "at": when or at(20), "order_id": order_id}
    if items is not None:
        event["items"] = [{"sku": sku, "quantity": qty} for sku, qty in items]
    if amount is not None:
        event["amount"] = amount
    return event


WORKED_ORDER = order("e2", "1001", [("P1", "10.00", 1), ("P2", "20.00", 1)], discount="6.00")


TIERS = """
[[tier]]
slug = "silver"
name = "Silver"
threshold = 100
period = "12 months"
multiplier = 1.5

[[tier]]
slug = "gold"
name = "Gold"
threshold = 300
period = "12 months"
multiplier = 2
overrides = { "order-points" = 3 }
"""
