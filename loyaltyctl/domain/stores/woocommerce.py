"""WooCommerce's webhook bodies: orders (order.created / order.updated, once paid),
order refunds (the REST API's refund object) and customers (customer.created).

The shape tells them apart: a refund has ``amount`` and ``refunded_by`` (or an ``up``
link to its order), an order ``line_items`` and a ``status``, a customer an email and
no lines. Amounts are decimal strings in the store's currency; dates ending ``_gmt``
are UTC without an offset.

- Order: paid when its status is processing, completed or refunded (others are
  reported and skipped). Items are ``line_items`` at their pre-discount ``subtotal``
  (the line's total, spread over its units to the smallest unit), the discount
  ``discount_total``, shipping ``shipping_total``; tax never earns. A refunded order
  also refunds what is left of it.
- Refund: its order is ``order_id`` or ``parent_id``, else the ``up`` link. By its
  ``line_items`` (quantities are negative) when it names any, else by its ``amount``:
  a gross amount, of which the items' share is reversed (the rest, shipping and tax, is
  reported).
  A refund of shipping only reverses nothing.
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
    spread_items,
)

PAID = ("processing", "completed", "refunded")
_GMT = ("date_paid_gmt", "date_created_gmt", "date_modified_gmt")


def _sku(line: Fields) -> str:
    product = line.document.get("variation_id") or line.document.get("product_id")
    fallback = f"product-{product}" if product else f"line-{line.ref('id')}"
    return line.sku("sku", fallback)


def _customer(order: Fields) -> Customer:
    billing = order.nested("billing", required=False)
    customer_id = order.ref("customer_id", required=False)
    return Customer(
        id=None if customer_id in (None, "0") else customer_id,  # 0: a guest
        email=billing.text("email") if billing else None,
        phone=billing.text("phone", limit=40) if billing else None,
    )


def map_order(order: Fields, mapping: Mapping) -> None:
    order_id = order.ref("id")
    status = order.choice("status")
    if status not in PAID:
        mapping.notes.append(f"order {order_id} is not paid yet (status: {status}): skipped")
        return
    items = []
    for line in order.items("line_items"):
        quantity = line.count("quantity")
        items.extend(spread_items(_sku(line), quantity, line.amount("subtotal")))
    if not items:
        raise PayloadProblem("line_items: the order has no line item with a quantity")
    document = {
        "id": f"woocommerce:order:{order_id}",
        "type": "order.paid",
        "at": order.first_moment("date_paid_gmt", "date_created_gmt", "date_paid", naive_utc=_GMT),
        "order_id": order_id,
        "currency": order.currency("currency", required=False),
        "items": items,
        "discount": money_text(order.amount("discount_total", default="0")),
        "shipping": money_text(order.amount("shipping_total", default="0")),
        "tax": money_text(order.amount("total_tax", default="0")),
    }
    mapping.events.append(MappedEvent(document, _customer(order)))
    if status == "refunded":
        full = {
            "id": f"woocommerce:order:{order_id}:refunded",
            "type": "order.refunded",
            "at": order.first_moment("date_modified_gmt", "date_paid_gmt", naive_utc=_GMT),
            "order_id": order_id,
        }
        mapping.events.append(MappedEvent(full))


def _refund_order(refund: Fields) -> str:
    for key in ("order_id", "parent_id"):
        if refund.document.get(key) not in (None, 0, "0", ""):
            return refund.ref(key)
    links = refund.nested("_links", required=False)
    up = links.items("up", required=False) if links else []
    if not up:
        raise PayloadProblem("_links.up is missing: the refund names no order")
    href = up[0].text("href", limit=2000) or ""
    order_id = href.rstrip("/").rsplit("/", 1)[-1]
    if not order_id or not order_id.isdigit():
        raise PayloadProblem(f"_links.up[0].href: {href!r} does not end with an order id")
    return order_id


def map_refund(refund: Fields, mapping: Mapping) -> None:
    refund_id = refund.ref("id")
    order_id = _refund_order(refund)
    document = {
        "id": f"woocommerce:refund:{refund_id}",
        "type": "order.refunded",
        "at": refund.first_moment("date_created_gmt", "date_created", naive_utc=_GMT),
        "order_id": order_id,
    }
    items = []
    for line in refund.items("line_items", required=False):
        quantity = line.count("quantity", signed=True)
        if quantity:
            items.append({"sku": _sku(line), "quantity": quantity})
    if items:
        document["items"] = items
        mapping.events.append(MappedEvent(document))
        return
    amount = refund.amount("amount", signed=True)
    shipping = sum(
        (
            line.amount("total", signed=True) + line.amount("total_tax", default="0", signed=True)
            for line in refund.items("shipping_lines", required=False)
        ),
        Decimal(0),
    )
    if amount == 0 or (shipping and amount <= shipping):
        what = "shipping only" if shipping else "nothing"
        mapping.notes.append(
            f"refund {refund_id} of order {order_id} refunds {what}: nothing to reverse"
        )
        return
    document["gross"] = money_text(amount)  # the items' share is taken of all of it
    if shipping:
        document["reported"] = {"shipping": money_text(shipping)}
    mapping.events.append(MappedEvent(document))


def map_customer(customer: Fields, mapping: Mapping) -> None:
    billing = customer.nested("billing", required=False)
    who = Customer(
        id=customer.ref("id"),
        email=customer.text("email"),
        phone=billing.text("phone", limit=40) if billing else None,
    )
    at = customer.first_moment("date_created_gmt", "date_created", naive_utc=_GMT)
    name = full_name(customer.text("first_name"), customer.text("last_name"))
    joined(mapping, "woocommerce", who, at=at, name=name)


class WooCommerce(Mapper):
    name = "woocommerce"
    description = "WooCommerce webhooks: order created/updated, order refunds, customer created"

    def map(self, payload: dict) -> Mapping:
        mapping = Mapping()
        body = Fields(payload)
        if "refunded_by" in payload or ("amount" in payload and "status" not in payload):
            map_refund(body, mapping)
        elif "line_items" in payload:
            map_order(body, mapping)
        elif "email" in payload and any(k in payload for k in ("username", "role", "first_name")):
            map_customer(body, mapping)
        else:
            raise PayloadProblem(
                "not a WooCommerce order, refund or customer (no line_items, amount or email)"
            )
        return mapping
