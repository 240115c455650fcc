"""Coupons: the terms a coupon perk gives, the terms frozen on each coupon when it is
issued, whether a coupon applies to a cart, and what it takes off (spec §7 "Coupons").

Pure: no I/O. Money is `Decimal` (see `domain.money`): a computed amount is rounded half up
once, an amount spread over lines adds up to the cent, nothing goes below 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltyctl.domain.cart import Cart, CartLine
from loyaltyctl.domain.coupon_specs import (
    MASK as MASK,
)
from loyaltyctl.domain.coupon_specs import (
    CouponRecord as CouponRecord,
)
from loyaltyctl.domain.coupon_specs import (
    CouponSpec as CouponSpec,
)
from loyaltyctl.domain.coupon_specs import (
    CouponState as CouponState,
)
from loyaltyctl.domain.coupon_specs import (
    CouponTerms as CouponTerms,
)
from loyaltyctl.domain.coupon_specs import (
    code_binding as code_binding,
)
from loyaltyctl.domain.coupon_specs import (
    masked as masked,
)
from loyaltyctl.domain.coupon_specs import (
    prize_points as prize_points,
)
from loyaltyctl.domain.money import (
    ZERO,
    money_text,
    percent_of,
    spread_over_lines,
)

KINDS = ("fixed", "percent", "convert", "free_shipping", "free_product")
STATUSES = ("active", "used", "expired", "cancelled")

# why a coupon does not apply (stable codes: scripts and stores read them)
UNKNOWN = "unknown_coupon"
USED = "coupon_used"
EXPIRED = "coupon_expired"
CANCELLED = "coupon_cancelled"
WRONG_MEMBER = "wrong_member"
MIN_PURCHASE = "min_purchase"
NO_ELIGIBLE_ITEMS = "no_eligible_items"
PRODUCT_NOT_IN_CART = "product_not_in_cart"


def state_refusal(
    state: CouponState, *, at: datetime, member: str | None, order_id: str | None = None
) -> str | None:
    """Why this coupon cannot be used now, whatever the cart; None when it can. A coupon
    already used on ``order_id`` is not refused (the caller replays the use)."""
    if state.status == "cancelled":
        return CANCELLED
    if state.status == "used" and (order_id is None or state.order_id != order_id):
        return USED
    if state.status == "active" and state.status_at(at) == "expired":
        return EXPIRED
    if member is not None and member != state.member:
        return WRONG_MEMBER
    return None


@dataclass(frozen=True, slots=True)
class CouponEffect:
    """What a coupon takes off a cart: from the items (spread per line, by position) and
    from the shipping."""

    amount: Decimal
    shipping_discount: Decimal
    lines: dict[int, Decimal]


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


def _eligible(terms: CouponTerms, lines: tuple[CartLine, ...]) -> list[CartLine]:
    if not terms.collections:
        return list(lines)
    wanted = set(terms.collections)
    return [line for line in lines if wanted.intersection(line.collections)]


def _products(terms: CouponTerms, lines: list[CartLine]) -> list[CartLine]:
    skus = {terms.product, *terms.variants}
    return [line for line in lines if line.sku in skus]


def cart_refusal(terms: CouponTerms, cart: Cart) -> Refusal | None:
    """Why these terms do not apply to this cart, or None."""
    if terms.min_purchase is not None and cart.subtotal < terms.min_purchase:
        return Refusal(
            MIN_PURCHASE,
            f"this coupon needs a purchase of at least {money_text(terms.min_purchase)} "
            f"(items before discounts, shipping excluded); the cart has "
            f"{money_text(cart.subtotal)}",
        )
    if terms.kind == "free_product" and not _products(terms, list(cart.lines)):
        names = ", ".join([terms.product, *terms.variants])
        return Refusal(PRODUCT_NOT_IN_CART, f"the cart has no {names} to make free")
    eligible = _eligible(terms, cart.lines)
    if terms.kind == "free_product":
        eligible = _products(terms, eligible)
    if not eligible:
        return Refusal(
            NO_ELIGIBLE_ITEMS,
            f"the cart has no item in {', '.join(terms.collections)}, the collections "
            "this coupon is for",
        )
    return None


def effect(
    terms: CouponTerms, cart: Cart, remainders: dict[int, Decimal] | None = None
) -> CouponEffect:
    """What the coupon takes off, on what each line still costs (``remainders`` by line
    position; the lines' amounts when not given). The caller has checked `cart_refusal`."""
    left = remainders or {line.position: line.amount for line in cart.lines}
    eligible = [line for line in _eligible(terms, cart.lines) if left[line.position] > 0]
    if terms.kind == "free_shipping":
        return CouponEffect(ZERO, min(cart.shipping, terms.max_shipping), {})
    if terms.kind == "free_product":
        products = _products(terms, eligible)
        if not products:
            return CouponEffect(ZERO, ZERO, {})
        cheapest = min(products, key=lambda line: (line.price, line.sku, line.position))
        taken = min(cheapest.price, left[cheapest.position])
        return CouponEffect(taken, ZERO, {cheapest.position: taken})
    available = sum((left[line.position] for line in eligible), ZERO)
    if terms.kind == "percent":
        total = percent_of(available, terms.percent)
    else:  # fixed, convert
        total = min(terms.amount, available)
    parts = spread_over_lines(
        total, [(left[line.position], line.sku, line.position) for line in eligible]
    )
    spread = {line.position: part for line, part in zip(eligible, parts, strict=True)}
    return CouponEffect(total, ZERO, {k: v for k, v in spread.items() if v})


# --- issued by claims --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCoupon:
    """One of a member's coupons as `member show` lists it: the code masked."""

    claim_id: str
    perk: str
    kind: str
    status: str  # active | used | expired | cancelled, judged at the time of asking
    issued_at: datetime
    expires_at: datetime | None
    code: str  # masked: ****-****-HP3C


# --- coupons as stored, and what the checkout gets back -------------------------------------

# why a coupon cannot be released (given back from the order it was used on)
NOT_USED = "coupon_not_used"
OTHER_ORDER = "used_on_another_order"


@dataclass(frozen=True, slots=True)
class CouponApplied:
    """A coupon that applies to a cart (`coupon check`), or whose use on an order was
    recorded (`coupon use`: ``order``; ``replayed`` when it was recorded before)."""

    coupon: str  # masked
    kind: str
    member: str
    claim_id: str
    amount: Decimal  # off the items
    shipping_discount: Decimal
    lines: tuple[tuple[int, str, Decimal], ...]  # (position, sku, amount off) per line
    order: str | None = None
    replayed: bool = False

    def as_json(self) -> dict:
        return {
            "coupon": self.coupon,
            "kind": self.kind,
            "applies": True,
            "amount": money_text(self.amount),
            "shipping_discount": money_text(self.shipping_discount),
            "order": self.order,
            "replayed": self.replayed,
            "member": self.member,
            "claim_id": self.claim_id,
            "lines": [
                {"position": position, "sku": sku, "amount": money_text(amount)}
                for position, sku, amount in self.lines
            ],
        }


def applied(record: CouponRecord, cart: Cart, *, order: str | None, replayed: bool):
    """What the coupon takes off this cart (the caller has found no refusal)."""
    taken = effect(record.terms, cart)
    skus = {line.position: line.sku for line in cart.lines}
    return CouponApplied(
        coupon=record.coupon,
        kind=record.terms.kind,
        member=record.member,
        claim_id=record.claim_id,
        amount=taken.amount,
        shipping_discount=taken.shipping_discount,
        lines=tuple((p, skus[p], amount) for p, amount in sorted(taken.lines.items())),
        order=order,
        replayed=replayed,
    )


def state_message(code: str, record: CouponRecord, *, member: str | None) -> str:
    """The sentence of a refusal that needs no cart (`state_refusal`'s codes)."""
    name = f"Coupon {record.coupon}"
    if code == USED:
        return f"{name} was used on order {record.order_id} already; a coupon is used once."
    if code == EXPIRED:
        return f"{name} expired at {_moment(record.expires_at)}."
    if code == CANCELLED:
        return f"{name} was cancelled: its claim {record.claim_id} was cancelled."
    if code == WRONG_MEMBER:
        return f"{name} was issued to another member, not {member}."
    raise ValueError(f"not a state refusal: {code}")


def _moment(at: datetime | None) -> str:
    return "never" if at is None else at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")


def release_refusal(record: CouponRecord, order_id: str) -> str | None:
    """Why the coupon cannot be given back from ``order_id``, or None."""
    if record.status != "used":
        return NOT_USED
    if record.order_id != order_id:
        return OTHER_ORDER
    return None
