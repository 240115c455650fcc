"""Refunds of paid orders: the share of the order a refund returns, and the points it
takes back.

Pure: no I/O. Shares add up: each refund works out what all the order's refunds so far
(its own included) take back of each award, rounded down, and takes the difference
from what the earlier ones took. So partial refunds never take back more than the
order earned, and the refund that completes the order takes exactly the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from loyaltyctl.domain.events import EventProblem, OrderRefunded


@dataclass
class Refunded:
    """What an order's earlier refunds returned, all together."""

    share: Fraction = Fraction(0)  # of the order
    items: dict[str, int] = field(default_factory=dict)  # sku -> quantity
    due: dict[str, int] = field(default_factory=dict)  # rule slug -> points due back


def refund_share(
    refund: OrderRefunded,
    *,
    total: Fraction,
    value: Fraction,
    items: dict[str, tuple[int, Decimal | str]],
    refunded: Refunded,
    paid: Fraction | None = None,
) -> Fraction:
    """The share of the order this refund returns: by the refunded items' value (their
    share of the discount goes with them), by an amount of what was paid for items, or
    all that is left. ``total`` is the items' value, ``value`` what was paid for them
    (after discounts), ``items`` sku -> (quantity, the line's value) as the order was
    paid, ``paid`` what the order was paid in all (items after discounts, shipping and
    tax: what a gross refund is a share of). Raises EventProblem for a refund beyond the
    order."""
    order = refund.order_id
    left = 1 - refunded.share
    if refund.items is not None:
        gross = Fraction(0)
        for sku, quantity in refund.items.items():
            if sku not in items:
                raise EventProblem(f"order {order} has no item {sku!r}")
            bought, line_value = items[sku]
            if quantity > bought - refunded.items.get(sku, 0):
                raise EventProblem(
                    f"order {order} has {bought} of {sku} and {refunded.items.get(sku, 0)}"
                    f" refunded already; this refund names {quantity}"
                )
            gross += Fraction(Decimal(line_value)) * quantity / bought
        share = gross / total if total else left
    elif refund.amount is not None:
        share = Fraction(refund.amount) / value if value else left
    elif refund.gross is not None:
        whole = value if paid is None else paid
        share = Fraction(refund.gross) / whole if whole else left
    else:
        share = left
    if share > left:
        if refund.gross is not None and paid:
            raise EventProblem(
                f"the refund is more than is left of order {order} ({float(left * paid):.2f}"
                f" of {float(paid):.2f} paid in all)"
            )
        remaining = float(left * value)
        raise EventProblem(
            f"the refund is more than is left of order {order} ({remaining:.2f} of"
            f" {float(value):.2f} paid for items)"
        )
    return share


def reversal_due(awarded: int, refunded_share: Fraction) -> int:
    """How many of an order's earned points a refund of this cumulative share of the
    order takes back in all (rounded down; the whole order takes back all of them)."""
    if refunded_share >= 1:
        return awarded
    return (awarded * refunded_share.numerator) // refunded_share.denominator


def reversals(
    awards: list[list], share: Fraction, refunded: Refunded
) -> list[tuple[str, int, int | None]]:
    """(rule slug, points due back now, the award's pending lot) for each of the order's
    awards ([slug, points, lot id]) that the cumulative ``share`` (this refund's
    included) takes more of than the earlier refunds did."""
    due_now = []
    for slug, points, lot_id in awards:
        due = reversal_due(points, share) - refunded.due.get(slug, 0)
        if due > 0:
            due_now.append((slug, due, lot_id))
    return due_now
