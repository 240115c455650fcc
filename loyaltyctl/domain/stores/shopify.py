"""Shopify's webhook bodies: orders (orders/paid, orders/create, orders/updated),
refunds (refunds/create) and customers (customers/create).

A body does not say its topic (Shopify sends it in a header), so the shape does: a
refund has ``refund_line_items``, an order ``line_items``, a customer a name and no
lines. Amounts are decimal strings in the shop's currency.

- Order: items are ``line_items`` (``price`` x ``quantity``), the discount
  ``total_discounts``, shipping the sum of ``shipping_lines[].price``; tax never earns.
  Paid when ``financial_status`` is paid, partially_refunded or refunded (others are
  reported and skipped). Its event id is the order's, whatever topic brought it, so a
  resend or another topic of an unchanged order is a replay. The refunds an order
  carries (``refunds``) are mapped as refunds/create would be.
- Refund: reverses by ``refund_line_items``; its ``transactions`` are only reported.
  One with no line items (shipping only, or an amount alone) reverses nothing.
- Customer: a member.joined; the customer's id becomes the member's id when no member
  matches.
"""

from __future__ import annotations

from decimal import Decimal

from loyaltyctl.domain.stores.base import (
    Customer,
    Fields,
    MappedEvent,
    Mapper,
    Mapping,
    PayloadProblem,
    full_name,
    joined,
    money_text,
)

PAID = ("paid", "partially_refunded", "refunded")


def _sku(line: Fields) -> str:
    """A line item's sku; a line without one is known by its id (``line-123``)."""
    return line.sku("sku", f"line-{line.ref('id')}")


def _customer(order: Fields) -> Customer:
    person = order.nested("customer", required=False)
    return Customer(
        id=person.ref("id", required=False) if person else None,
        email=(person.text("email") if person else None) or order.text("email"),
        phone=(person.text("phone", limit=40) if person else None) or order.text("phone", limit=40),
    )


def map_order(order: Fields, mapping: Mapping) -> None:
    order_id = order.ref("id")
    status = order.choice("financial_status")
    if status not in PAID:
        mapping.notes.append(
            f"order {order_id} is not paid yet (financial_status: {status or 'none'}): skipped"
        )
        return
    currency = order.currency("currency", required=False)
    items = []
    for line in order.items("line_items"):
        quantity = line.count("quantity")
        if quantity:
            price = line.amount("price")
            items.append({"sku": _sku(line), "price": money_text(price), "quantity": quantity})
    if not items:
        raise PayloadProblem("line_items: the order has no line item with a quantity")
    shipping = sum(
        (line.amount("price") for line in order.items("shipping_lines", required=False)),
        Decimal(0),
    )
    document = {
        "id": f"shopify:order:{order_id}",
        "type": "order.paid",
        "at": order.first_moment("processed_at", "created_at"),
        "order_id": order_id,
        "currency": currency,
        "items": items,
        "discount": money_text(order.amount("total_discounts", default="0")),
        "shipping": money_text(shipping),
        "tax": money_text(order.amount("total_tax", default="0")),
    }
    mapping.events.append(MappedEvent(document, _customer(order)))
    for refund in order.items("refunds", required=False):
        map_refund(refund, mapping, order_id=order_id)


def map_refund(refund: Fields, mapping: Mapping, *, order_id: str | None = None) -> None:
    refund_id = refund.ref("id")
    order_id = refund.ref("order_id") if order_id is None else order_id
    items = []
    for line in refund.items("refund_line_items"):
        quantity = line.count("quantity")
        if not quantity:
            continue
        item = line.nested("line_item", required=False)
        if item is None:
            item_id = line.ref("line_item_id")
            sku = f"line-{item_id}"
        else:
            sku = _sku(item)
        items.append({"sku": sku, "quantity": quantity})
    paid_back = sum(
        (
            t.amount("amount")
            for t in refund.items("transactions", required=False)
            if t.choice("kind") == "refund" and t.choice("status") in (None, "success")
        ),
        Decimal(0),
    )
    if not items:
        shipping_only = refund.items("refund_shipping_lines", required=False) or any(
            a.choice("kind") == "shipping_refund"
            for a in refund.items("order_adjustments", required=False)
        )
        what = "shipping only" if shipping_only else "no line item"
        mapping.notes.append(
            f"refund {refund_id} of order {order_id} refunds {what}"
            f" ({money_text(paid_back)} in its transactions): nothing to reverse"
        )
        return
    document = {
        "id": f"shopify:refund:{refund_id}",
        "type": "order.refunded",
        "at": refund.first_moment("processed_at", "created_at"),
        "order_id": order_id,
        "items": items,
        "reported": {"transactions": money_text(paid_back)},
    }
    mapping.events.append(MappedEvent(document))


def map_customer(customer: Fields, mapping: Mapping) -> None:
    who = Customer(
        id=customer.ref("id"),
        email=customer.text("email"),
        phone=customer.text("phone", limit=40),
    )
    name = full_name(customer.text("first_name"), customer.text("last_name"))
    joined(mapping, "shopify", who, at=customer.first_moment("created_at"), name=name)


class Shopify(Mapper):
    name = "shopify"
    description = "Shopify webhooks: orders/paid, refunds/create, customers/create"

    def map(self, payload: dict) -> Mapping:
        mapping = Mapping()
        body = Fields(payload)
        if "refund_line_items" in payload:
            map_refund(body, mapping)
        elif "line_items" in payload:
            map_order(body, mapping)
        elif any(key in payload for key in ("first_name", "last_name", "default_address")):
            map_customer(body, mapping)
        else:
            raise PayloadProblem(
                "not a Shopify order, refund or customer (no line_items, refund_line_items"
                " or first_name)"
            )
        return mapping
