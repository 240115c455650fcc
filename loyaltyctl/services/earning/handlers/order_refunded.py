"""order.refunded: takes back the share of the order's earned points that the refund
returns (`domain.refunds`), from the pending lot while it is pending. The refund that
completes the order (one naming neither items nor amount, or refunds so far covering
every item or all that was paid for the items) gives the order's coupons back and
revokes the discounts granted by the order."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from loyaltyctl.domain import events
from loyaltyctl.domain.events import EventProblem
from loyaltyctl.domain.refunds import Refunded, refund_share, reversals
from loyaltyctl.services.coupons.orders import give_back
from loyaltyctl.services.discounts.lifecycle import order_reversed
from loyaltyctl.services.earning.handlers.base import Chunk, Handler, Outcome


class OrderRefundedHandler(Handler):
    event_type = events.ORDER_REFUNDED
    reads_order = True
    takes_back = True
    reversal = "refund"  # the ledger entries' reason: "refund of order 1001"
    coupons_why = "refunded in full"

    def gives_coupons_back(self, before: Fraction, share: Fraction) -> bool:
        """The refund that completes the order gives its coupons back (seed: "any rewards
        used are fully returned"); a partial one does not."""
        return share > 0 and before + share >= 1

    def apply(self, chunk: Chunk, event: events.OrderRefunded) -> Outcome:
        paid = chunk.paid.get(event.order_id)
        if paid is None:
            raise EventProblem(
                f"order {event.order_id} is not known: no order.paid event was ingested for it"
            )
        earner = chunk.earner
        m = earner.members[paid.member_id]
        if event.member is not None and event.member != m.state.external_id:
            raise EventProblem(
                f"order {event.order_id} belongs to member {m.state.external_id},"
                f" not {event.member}"
            )
        refunded = _refunded(chunk.refunds.get(event.order_id, []))
        order = paid.details
        share = refund_share(
            event,
            total=Fraction(Decimal(order["total"])),
            value=Fraction(Decimal(order["value"])),
            items=order["items"],
            refunded=refunded,
            paid=_paid_in_all(order),
        )
        reversed_ = []
        for slug, due, lot_id in reversals(order["awards"], refunded.share + share, refunded):
            taken = earner.reverse(
                m,
                slug,
                due,
                lot_id=lot_id,
                at=event.at,
                event_id=event.id,
                order_id=event.order_id,
                reason=f"{self.reversal} of order {event.order_id}",
            )
            reversed_.append([slug, due, taken])
        details = {
            "share": f"{share.numerator}/{share.denominator}",
            "items": event.items,
            "amount": None if event.amount is None else str(event.amount),
            "reversed": reversed_,
        }
        if event.gross is not None:
            details["gross"] = str(event.gross)
        if share == 0:
            details["notes"] = [f"order {event.order_id} was refunded in full already"]
        elif event.gross is not None:
            items_part = (share * Fraction(Decimal(order["value"]))).limit_denominator(10**6)
            rest = Fraction(event.gross) - items_part
            details["notes"] = [
                f"{event.gross} refunded for order {event.order_id}:"
                f" {float(items_part):.2f} of it for items (points reversed),"
                f" {float(rest):.2f} shipping and tax (nothing reversed)"
            ]
        shortfall = sum(due - taken for _slug, due, taken in reversed_)
        if shortfall:
            details["shortfall"] = shortfall
        if self.gives_coupons_back(refunded.share, share):
            returned = give_back(
                chunk.session,
                order_id=event.order_id,
                now=chunk.now,
                operator=chunk.operator,
                event_id=event.id,
                why=self.coupons_why,
            )
            if returned:
                details["coupons_returned"] = returned
            revoked = order_reversed(
                chunk.session, order_id=event.order_id, at=event.at, why=self.coupons_why
            )
            if revoked:
                details["grants_revoked"] = revoked
        chunk.refunds.setdefault(event.order_id, []).append(details)
        if reversed_:
            earner.review_soon(m, event.at)
        return -sum(taken for _slug, _due, taken in reversed_), details, m.state.id


def _paid_in_all(order: dict) -> Fraction:
    """What the order was paid in all: items after discounts, shipping and tax (orders
    ingested before tax was read count none)."""
    return sum(
        (Fraction(Decimal(order.get(key) or "0")) for key in ("value", "shipping", "tax")),
        Fraction(0),
    )


def _refunded(refunds: list[dict]) -> Refunded:
    """What an order's refunds took, from their recorded details."""
    done = Refunded()
    for refund in refunds:
        done.share += Fraction(refund["share"])
        for sku, quantity in (refund.get("items") or {}).items():
            done.items[sku] = done.items.get(sku, 0) + quantity
        for slug, due, _taken in refund["reversed"]:
            done.due[slug] = done.due.get(slug, 0) + due
    return done
