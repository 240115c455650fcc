"""order.chargeback: the payment was taken back. Reverses what is left of the order's
earned points as a full refund does, and gives the order's coupons back (active again
unless expired), whatever refunds came before."""

from __future__ import annotations

from fractions import Fraction

from loyaltyctl.domain import events
from loyaltyctl.services.earning.handlers.order_refunded import OrderRefundedHandler


class OrderChargebackHandler(OrderRefundedHandler):
    event_type = events.ORDER_CHARGEBACK
    reversal = "chargeback"
    coupons_why = "charged back"

    def gives_coupons_back(self, before: Fraction, share: Fraction) -> bool:
        return True
