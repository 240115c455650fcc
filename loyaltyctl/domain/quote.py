"""`quote`: a member's cart priced and explained (spec §7 "`quote`", rules 1–7; the
points of rule 8 are the earning rules' business, on `Quote.points_basis`).

Pure: no I/O. The caller gives the discounts the member holds (with their grants), the
coupons with what their stored state says (or why they are unknown), the moment and the
program time zone; everything else is decided here, deterministically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltyctl.domain import coupons as coupon_rules
from loyaltyctl.domain import discounts as rules
from loyaltyctl.domain.cart import Cart, CartLine
from loyaltyctl.domain.coupons import CouponTerms, Refusal
from loyaltyctl.domain.discounts import Applied, DiscountSpec, Grant, NotApplied
from loyaltyctl.domain.money import ZERO

FREE_PRODUCT_REPLACED = "free_product_replaced"  # a later free-product coupon applies instead


@dataclass(frozen=True, slots=True)
class Held:
    """A discount the member holds, with every grant of it (any state)."""

    spec: DiscountSpec
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class CouponInput:
    """A coupon given with the cart: its masked code, its terms when it is known, and why
    it cannot be used whatever the cart (unknown, used, expired, cancelled, wrong member)."""

    code: str  # masked
    terms: CouponTerms | None
    refusal: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class CouponOutcome:
    code: str
    kind: str | None
    applied: bool
    amount: Decimal  # taken off the items
    shipping_discount: Decimal
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteLine:
    sku: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    discounts: tuple[Applied, ...]
    coupons: tuple[tuple[str, Decimal], ...]  # (masked code, amount)
    not_applied: tuple[NotApplied, ...]

    @property
    def pay(self) -> Decimal:
        taken = sum((a.amount for a in self.discounts), ZERO)
        taken += sum((amount for _, amount in self.coupons), ZERO)
        return self.amount - taken


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal
    discounts: Decimal
    coupons: Decimal
    shipping: Decimal
    shipping_discount: Decimal

    @property
    def total(self) -> Decimal:
        items = self.subtotal - self.discounts - self.coupons
        return items + self.shipping - self.shipping_discount


@dataclass(frozen=True, slots=True)
class Quote:
    at: datetime
    lines: tuple[QuoteLine, ...]
    coupons: tuple[CouponOutcome, ...]
    totals: Totals

    @property
    def points_basis(self) -> Decimal:
        """What the order would earn on: the items after discounts and coupons."""
        return self.totals.subtotal - self.totals.discounts - self.totals.coupons


def _candidates(
    held: Sequence[Held], at: datetime, tz: ZoneInfo
) -> tuple[list[DiscountSpec], list[tuple[DiscountSpec, NotApplied]]]:
    """Rule 1: the held discounts that may apply at ``at``, and why the others do not."""
    kept, left_out = [], []
    for item in held:
        spec = item.spec
        if not spec.enabled:
            why = (rules.DISABLED, "is disabled")
        elif spec.dormant:
            why = (rules.DORMANT, "has no scope or no trigger, so it never applies")
        elif not any(grant.active_at(at) for grant in item.grants):
            why = (rules.GRANT_ENDED, "no grant of it is active at this time")
        elif not spec.schedule.open_at(at, tz):
            why = (rules.OUTSIDE_SCHEDULE, "its schedule is closed at this time")
        else:
            kept.append(spec)
            continue
        left_out.append((spec, NotApplied(spec.slug, *why)))
    return kept, left_out


def _usable_coupons(coupons: Sequence[CouponInput], cart: Cart) -> dict[int, Refusal | None]:
    """index -> None when the coupon applies to the cart, else why not. Of the
    free-product coupons that apply, only the last given does (a cart takes one)."""
    verdict: dict[int, Refusal | None] = {}
    for index, coupon in enumerate(coupons):
        if coupon.refusal is not None:
            verdict[index] = Refusal(coupon.refusal, coupon.message or coupon.refusal)
        else:
            verdict[index] = coupon_rules.cart_refusal(coupon.terms, cart)
    free = [
        i for i, c in enumerate(coupons) if verdict[i] is None and c.terms.kind == "free_product"
    ]
    for index in free[:-1]:
        verdict[index] = Refusal(
            FREE_PRODUCT_REPLACED,
            f"a cart takes one free-product coupon: {coupons[free[-1]].code}, given later, "
            "applies; this one stays unused",
        )
    return verdict


def _line_discounts(
    line: CartLine,
    candidates: list[DiscountSpec],
    left_out: list[tuple[DiscountSpec, NotApplied]],
    present: tuple[str, ...],
    chains: dict,
) -> rules.LineDiscounts:
    """The line's discounts; ``chains`` keeps what was decided for a line of the same
    sku, category and types present (only the amounts differ)."""
    key = (line.sku, line.category, present)
    found = chains.get(key)
    if found is None:
        applied, skipped = rules.chain_on_line(
            candidates, sku=line.sku, category=line.category, present=present
        )
        listed = tuple(
            why for spec, why in left_out if spec.dormant or spec.covers(line.sku, line.category)
        )
        found = chains[key] = (applied, listed + skipped)
    return rules.LineDiscounts(rules.amounts(found[0], line.amount), found[1])


def price_cart(
    cart: Cart,
    *,
    held: Sequence[Held],
    coupons: Sequence[CouponInput],
    at: datetime,
    tz: ZoneInfo,
) -> Quote:
    """Rules 1–7 of `quote`: discounts per line, then coupons on what they leave."""
    candidates, left_out = _candidates(held, at, tz)
    verdict = _usable_coupons(coupons, cart)
    flags = [("giftcard", cart.giftcard), ("cumulative", cart.cumulative)]
    any_coupon = any(v is None for v in verdict.values())
    per_line = {}
    chains: dict = {}
    for line in cart.lines:
        present = tuple(
            kind for kind, on in (("sale", line.sale), ("coupon", any_coupon), *flags) if on
        )
        per_line[line.position] = _line_discounts(line, candidates, left_out, present, chains)
    remainders = {
        line.position: line.amount - per_line[line.position].amount for line in cart.lines
    }
    outcomes, taken = _apply_coupons(cart, coupons, verdict, remainders)
    lines = tuple(
        QuoteLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.price,
            amount=line.amount,
            discounts=per_line[line.position].applied,
            coupons=tuple(taken.get(line.position, ())),
            not_applied=per_line[line.position].not_applied,
        )
        for line in cart.lines
    )
    totals = Totals(
        subtotal=cart.subtotal,
        discounts=sum((per_line[p].amount for p in per_line), ZERO),
        coupons=sum((o.amount for o in outcomes), ZERO),
        shipping=cart.shipping,
        shipping_discount=sum((o.shipping_discount for o in outcomes), ZERO),
    )
    return Quote(at, lines, tuple(outcomes), totals)


def _apply_coupons(
    cart: Cart,
    coupons: Sequence[CouponInput],
    verdict: dict[int, Refusal | None],
    remainders: dict[int, Decimal],
) -> tuple[list[CouponOutcome], dict[int, list[tuple[str, Decimal]]]]:
    """Rule 7: each coupon that applies, in the order given, on what each line still
    costs after discounts and earlier coupons; free shipping on what is left of it."""
    outcomes: list[CouponOutcome] = []
    taken: dict[int, list[tuple[str, Decimal]]] = {}
    shipping_left = cart.shipping
    for index, coupon in enumerate(coupons):
        kind = coupon.terms.kind if coupon.terms else None
        refused = verdict[index]
        if refused is not None:
            outcomes.append(
                CouponOutcome(coupon.code, kind, False, ZERO, ZERO, refused.code, refused.message)
            )
            continue
        effect = coupon_rules.effect(coupon.terms, cart, remainders)
        shipping = min(effect.shipping_discount, shipping_left)
        shipping_left -= shipping
        for position, amount in effect.lines.items():
            remainders[position] -= amount
            taken.setdefault(position, []).append((coupon.code, amount))
        outcomes.append(CouponOutcome(coupon.code, kind, True, effect.amount, shipping))
    return outcomes, taken
