"""order.paid: the order rules, by the value paid for the items (pending for a rule's
wait days); what each rule awarded is recorded for the order's refunds. A discount
whose purchase trigger names one of its skus is granted (tied to the order), and the
discounts it names are recorded as used (services/discounts/lifecycle.py). The coupons
it names are recorded as used on the order (`services.coupons.orders`): a coupon that
cannot be (unknown, cancelled, another member's, used on another order, expired at the
event's time) makes the line bad before anything is applied."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.domain.earning import EarningRule, Tier, order_points
from loyaltyctl.domain.events import EventProblem
from loyaltyctl.services.coupons.orders import use_on_order
from loyaltyctl.services.discounts import lifecycle
from loyaltyctl.services.earning.handlers.base import Chunk, Outcome, Paid, RuleHandler
from loyaltyctl.services.earning.handlers.subscriptions import triggers


def _has_discounts(chunk: Chunk) -> bool:
    """Whether any discount has a purchase trigger (a big ingest of a program without
    any reads nothing more per order)."""
    return bool(triggers(chunk).purchase)


class OrderPaidHandler(RuleHandler):
    event_type = events.ORDER_PAID
    rule_kind = "order"
    keeps_lots = True
    reads_order = True  # an order is paid once

    def apply(self, chunk: Chunk, event: events.OrderPaid) -> Outcome:
        m = chunk.member(event)
        earlier = chunk.paid.get(event.order_id)
        if earlier is not None:
            raise EventProblem(
                f"order {event.order_id} was paid already (event {earlier.event_id});"
                " an order is paid once"
            )
        coupons = (
            use_on_order(
                chunk.session,
                chunk.keys(),
                codes=event.coupons,
                order_id=event.order_id,
                member=m.state.external_id,
                at=event.at,
                now=chunk.now,
                operator=chunk.operator,
                event_id=event.id,
            )
            if event.coupons
            else {}
        )
        points, details, member_id = self.earn(
            chunk, event, m, f"order {event.order_id}", event.order_id
        )
        details.update(coupons)
        if event.discounts or _has_discounts(chunk):
            details.update(
                lifecycle.order_paid(
                    chunk.session,
                    triggers(chunk),
                    member_id=member_id,
                    order_id=event.order_id,
                    skus=list(event.items),
                    used=event.discounts,
                    at=event.at,
                    event_id=event.id,
                    operator=chunk.operator,
                    now=chunk.now,
                    tz=chunk.tz,
                )
            )
        details.update(
            currency=event.currency,
            total=str(event.total),
            discount=str(event.discount),
            shipping=str(event.shipping),
            **({"tax": str(event.tax)} if event.tax else {}),
            value=str(event.value),
            items={sku: [qty, str(value)] for sku, (qty, value) in event.items.items()},
        )
        chunk.paid[event.order_id] = Paid(event.id, member_id, details)
        return points, details, member_id

    def points(self, event: events.OrderPaid, rule: EarningRule, tier: Tier | None) -> int:
        return order_points(rule, tier, event.value)
