"""Stripe's webhook events (the Event object: ``id``, ``type``, ``created``,
``data.object``, ``data.previous_attributes``). Amounts are in the currency's minor
units, converted with its ISO 4217 exponent (2000 USD is 20.00, 2000 JPY is 2000).

- checkout.session.completed (and async_payment_succeeded) of a payment: one order,
  found again by its ``payment_intent`` (the order id), with one item priced
  ``amount_subtotal``, ``total_details.amount_discount`` as its discount and
  ``amount_shipping`` as shipping; tax never earns. Not paid yet: reported, skipped.
- charge.refunded: Stripe's ``amount_refunded`` is cumulative, so the refund is the
  newest amount (``amount_refunded`` less ``previous_attributes.amount_refunded``), a
  gross amount of which the items' share is reversed. Each step of the cumulative
  amount is one refund (a resend of it is a replay).
- customer.subscription.created / updated / deleted and invoice.paid: the
  subscription.* events of the discounts' subscription triggers (package: the price's
  ``lookup_key``, else its product, else its id).
- customer.created: a member.joined.
Other types are reported and skipped.
"""

from __future__ import annotations

from loyaltyctl.domain.stores.base import (
    Customer,
    Fields,
    MappedEvent,
    Mapper,
    Mapping,
    PayloadProblem,
    joined,
    money_text,
)

SKU = "checkout"  # a checkout session is one item


def _session(event: Fields, session: Fields, mapping: Mapping) -> None:
    session_id = session.ref("id")
    if session.choice("mode") != "payment":
        mapping.notes.append(
            f"checkout session {session_id} is in {session.choice('mode')} mode: its"
            " payments are not orders (subscriptions come by their own events): skipped"
        )
        return
    if session.choice("payment_status") not in ("paid", "no_payment_required"):
        mapping.notes.append(
            f"checkout session {session_id} is not paid yet (payment_status:"
            f" {session.choice('payment_status')}): skipped"
        )
        return
    currency = session.currency("currency")
    order_id = session.ref("payment_intent")
    details = session.nested("total_details", required=False) or Fields(
        {}, f"{session.path}total_details."
    )
    subtotal = session.minor("amount_subtotal", currency)
    document = {
        "id": f"stripe:order:{order_id}",
        "type": "order.paid",
        "at": event.first_moment("created"),
        "order_id": order_id,
        "currency": currency,
        "items": [{"sku": SKU, "price": money_text(subtotal), "quantity": 1}],
        "discount": money_text(details.minor("amount_discount", currency, default=0)),
        "shipping": money_text(details.minor("amount_shipping", currency, default=0)),
        "tax": money_text(details.minor("amount_tax", currency, default=0)),
    }
    buyer = session.nested("customer_details", required=False)
    who = Customer(
        id=session.ref("customer", required=False),
        email=(buyer.text("email") if buyer else None) or session.text("customer_email"),
        phone=buyer.text("phone", limit=40) if buyer else None,
    )
    mapping.events.append(MappedEvent(document, who))


def _refund(event: Fields, charge: Fields, previous: Fields | None, mapping: Mapping) -> None:
    charge_id = charge.ref("id")
    currency = charge.currency("currency")
    order_id = charge.ref("payment_intent")
    cumulative = charge.document.get("amount_refunded")
    charge.minor("amount_refunded", currency)  # checks it
    before = 0
    if previous is not None and previous.has("amount_refunded"):
        previous.minor("amount_refunded", currency)
        before = previous.document["amount_refunded"]
    if cumulative <= before:
        mapping.notes.append(
            f"charge {charge_id}: amount_refunded did not grow ({before} to {cumulative}):"
            " nothing to reverse"
        )
        return
    newest = charge.minor("amount_refunded", currency) - (
        previous.minor("amount_refunded", currency) if before else 0
    )
    document = {
        "id": f"stripe:refund:{charge_id}:{cumulative}",
        "type": "order.refunded",
        "at": event.first_moment("created"),
        "order_id": order_id,
        "gross": money_text(newest),
    }
    mapping.events.append(MappedEvent(document))


def _package(subscription: Fields) -> str:
    items = subscription.nested("items").items("data")
    if not items:
        raise PayloadProblem(f"{subscription.path}items.data: the subscription has no item")
    price = items[0].nested("price")
    return (
        price.ref("lookup_key", required=False)
        or price.ref("product", required=False)
        or (price.ref("id"))
    )


def _renews_at(subscription: Fields) -> str:
    """The end of the paid period: ``current_period_end`` (on the item in newer API
    versions)."""
    if subscription.has("current_period_end"):
        return subscription.first_moment("current_period_end")
    items = subscription.nested("items").items("data")
    if items and items[0].has("current_period_end"):
        return items[0].first_moment("current_period_end")
    raise PayloadProblem(f"{subscription.path}current_period_end is missing")


def _subscription(event: Fields, kind: str, sub: Fields, previous: Fields | None, mapping):
    event_id, sub_id = event.ref("id"), sub.ref("id")
    base = {"at": event.first_moment("created"), "subscription_id": sub_id}
    if kind == "customer.subscription.created":
        document = {
            "id": f"stripe:subscription:{sub_id}:started",
            "type": "subscription.started",
            **base,
            "package": _package(sub),
            "renews_at": _renews_at(sub),
        }
        who = Customer(id=sub.ref("customer"))
        mapping.events.append(MappedEvent(document, who))
        return
    if kind == "customer.subscription.deleted":
        document = {"id": f"stripe:{event_id}", "type": "subscription.cancelled", **base}
        mapping.events.append(MappedEvent(document))
        return
    changed = previous.document if previous is not None else {}
    if "cancel_at_period_end" in changed and sub.flag("cancel_at_period_end"):
        document = {"id": f"stripe:{event_id}", "type": "subscription.cancelled", **base}
    elif "cancel_at_period_end" in changed:
        document = {"id": f"stripe:{event_id}", "type": "subscription.resumed", **base}
        document["renews_at"] = _renews_at(sub)
    elif "current_period_end" in changed or "items" in changed:
        document = {"id": f"stripe:{event_id}", "type": "subscription.renewed", **base}
        document["renews_at"] = _renews_at(sub)
    else:
        mapping.notes.append(
            f"subscription {sub_id}: nothing this tool reads changed ({', '.join(changed) or 'no'}"
            " fields): skipped"
        )
        return
    mapping.events.append(MappedEvent(document))


def _invoice(event: Fields, invoice: Fields, mapping: Mapping) -> None:
    invoice_id = invoice.ref("id")
    sub_id = invoice.ref("subscription", required=False)
    if sub_id is None or invoice.choice("billing_reason") != "subscription_cycle":
        mapping.notes.append(
            f"invoice {invoice_id} does not renew a subscription (billing_reason:"
            f" {invoice.choice('billing_reason')}): skipped"
        )
        return
    lines = invoice.nested("lines").items("data")
    if not lines:
        raise PayloadProblem(f"{invoice.path}lines.data: the invoice has no line")
    renews_at = lines[0].nested("period").first_moment("end")
    document = {
        "id": f"stripe:invoice:{invoice_id}",
        "type": "subscription.renewed",
        "at": event.first_moment("created"),
        "subscription_id": sub_id,
        "renews_at": renews_at,
    }
    mapping.events.append(MappedEvent(document))


def _customer(event: Fields, customer: Fields, mapping: Mapping) -> None:
    who = Customer(
        id=customer.ref("id"),
        email=customer.text("email"),
        phone=customer.text("phone", limit=40),
    )
    joined(mapping, "stripe", who, at=event.first_moment("created"), name=customer.text("name"))


class Stripe(Mapper):
    name = "stripe"
    description = (
        "Stripe events: checkout.session.completed, charge.refunded,"
        " customer.subscription.*, invoice.paid, customer.created"
    )

    def map(self, payload: dict) -> Mapping:
        mapping = Mapping()
        event = Fields(payload)
        if payload.get("object") not in (None, "event"):
            raise PayloadProblem(
                f"object: {payload.get('object')!r} is not a Stripe event; give the webhook's"
                " whole body (an Event, with data.object)"
            )
        kind = event.choice("type")
        data = event.nested("data")
        body = data.nested("object")
        previous = data.nested("previous_attributes", required=False)
        if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            _session(event, body, mapping)
        elif kind == "charge.refunded":
            _refund(event, body, previous, mapping)
        elif kind is not None and kind.startswith("customer.subscription."):
            if kind.rsplit(".", 1)[1] not in ("created", "updated", "deleted"):
                mapping.notes.append(f"Stripe event type {kind} is not read: skipped")
            else:
                _subscription(event, kind, body, previous, mapping)
        elif kind == "invoice.paid":
            _invoice(event, body, mapping)
        elif kind == "customer.created":
            _customer(event, body, mapping)
        elif kind is None:
            raise PayloadProblem("type is missing: give the webhook's whole body (an Event)")
        else:
            mapping.notes.append(f"Stripe event type {kind} is not read: skipped")
        return mapping
