"""Coupons: the terms a coupon perk gives, the terms frozen on each coupon when it is
issued, whether a coupon applies to a cart, and what it takes off (spec §7 "Coupons").

Pure: no I/O. Money is `Decimal` (see `domain.money`): a computed amount is rounded half up
once, an amount spread over lines adds up to the cent, nothing goes below 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltyctl.domain.cart import Cart, CartLine
from loyaltyctl.domain.money import (
    ZERO,
    money_text,
    percent_of,
    round_down,
    round_up,
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


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What one coupon is worth and on what; frozen when it is issued."""

    kind: str
    amount: Decimal | None = None  # fixed and convert (convert: the converted value)
    percent: Decimal | None = None
    min_purchase: Decimal | None = None  # items subtotal before any discount, no shipping
    max_shipping: Decimal | None = None
    product: str | None = None
    variants: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """The JSON `coupon` object's terms (money as "10.00", null where not applicable)."""
        return {
            "kind": self.kind,
            "amount": _money(self.amount),
            "percent": self.percent,
            "min_purchase": _money(self.min_purchase),
            "max_shipping": _money(self.max_shipping),
            "product": self.product,
            "variants": list(self.variants) if self.kind == "free_product" else None,
            "collections": list(self.collections),
        }


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)


@dataclass(frozen=True, slots=True)
class CouponSpec:
    """A coupon perk's `[perk.coupon]` table: the terms every claim's coupon gets, and for
    a convert coupon the rate (``points`` points are worth ``amount``) and its bounds."""

    kind: str
    amount: Decimal | None = None
    percent: Decimal | None = None
    min_purchase: Decimal | None = None
    max_shipping: Decimal | None = None
    product: str | None = None
    variants: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    expires_after_days: int | None = None
    points: int | None = None  # convert: the rate's points
    min_points: int | None = None
    max_points: int | None = None

    def as_json(self) -> dict:
        """The spec as stored on the perk (money as "10.00"; only what is set)."""
        data = {
            "kind": self.kind,
            "amount": _money(self.amount),
            "percent": None if self.percent is None else f"{self.percent:f}",
            "min_purchase": _money(self.min_purchase),
            "max_shipping": _money(self.max_shipping),
            "product": self.product,
            "variants": list(self.variants) or None,
            "collections": list(self.collections) or None,
            "expires_after_days": self.expires_after_days,
            "points": self.points,
            "min_points": self.min_points,
            "max_points": self.max_points,
        }
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict) -> CouponSpec:
        def money(key: str) -> Decimal | None:
            return Decimal(data[key]) if data.get(key) is not None else None

        return cls(
            kind=data["kind"],
            amount=money("amount"),
            percent=money("percent"),
            min_purchase=money("min_purchase"),
            max_shipping=money("max_shipping"),
            product=data.get("product"),
            variants=tuple(data.get("variants") or ()),
            collections=tuple(data.get("collections") or ()),
            expires_after_days=data.get("expires_after_days"),
            points=data.get("points"),
            min_points=data.get("min_points"),
            max_points=data.get("max_points"),
        )

    def points_refusal(self, chosen: int) -> str | None:
        """Why a convert claim of ``chosen`` points is refused, or None."""
        low, high = self.min_points or 1, self.max_points
        if chosen < low or (high is not None and chosen > high):
            upper = f" and at most {high:,}" if high is not None else ""
            return f"convert at least {low:,}{upper} points"
        return None

    def terms(self, chosen: int | None = None) -> CouponTerms:
        """The terms of a coupon issued now; a convert coupon's for the points chosen:
        worth chosen × amount / points rounded down to the cent, its minimum purchase
        scaled the same way and rounded up (100 points → $10 with $25 minimum; 200 → $20
        with $50)."""
        amount, min_purchase = self.amount, self.min_purchase
        if self.kind == "convert":
            if chosen is None:
                raise ValueError("a convert coupon needs the points chosen")
            amount = round_down(self.amount * chosen / self.points)
            if min_purchase is not None:
                min_purchase = round_up(min_purchase * chosen / self.points)
        return CouponTerms(
            kind=self.kind,
            amount=amount,
            percent=self.percent,
            min_purchase=min_purchase,
            max_shipping=self.max_shipping,
            product=self.product,
            variants=self.variants,
            collections=self.collections,
        )

    def expires_at(self, issued_at: datetime, tz: ZoneInfo) -> datetime | None:
        """The end of the N-th day after the day of issue, in the program time zone."""
        if self.expires_after_days is None:
            return None
        day = issued_at.astimezone(tz).date() + timedelta(days=self.expires_after_days + 1)
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(issued_at.tzinfo)


@dataclass(frozen=True, slots=True)
class CouponState:
    """A coupon as stored, for the checks that need no cart."""

    status: str  # active | used | cancelled (expired is judged from expires_at)
    member: str  # external id of the member it was issued to
    expires_at: datetime | None
    order_id: str | None = None

    def status_at(self, at: datetime) -> str:
        if self.status == "active" and self.expires_at is not None and at >= self.expires_at:
            return "expired"
        return self.status


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


def prize_points(spec: CouponSpec) -> int | None:
    """The points a convert coupon won as a campaign prize converts (the prize is free):
    the rate's ``points`` (100 points → $10 gives a $10 coupon), brought within
    min_points–max_points when the rate lies outside them. None for the other kinds."""
    if spec.kind != "convert":
        return None
    chosen = max(spec.points, spec.min_points or 1)
    return chosen if spec.max_points is None else min(chosen, spec.max_points)


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

MASK = "****-****-"  # a masked code: its last 4 symbols, as a card's last 4 digits

# why a coupon cannot be released (given back from the order it was used on)
NOT_USED = "coupon_not_used"
OTHER_ORDER = "used_on_another_order"


def masked(tail: str) -> str:
    """A code for people and logs: only its last 4 symbols (``****-****-HP3C``)."""
    return MASK + tail


def code_binding(claim_id: str) -> str:
    """What a coupon code's ciphertext is bound to (a copy to another row fails)."""
    return f"coupon:{claim_id}"


@dataclass(frozen=True, slots=True)
class CouponRecord:
    """One coupon as `coupon show` and `coupon list` give it. ``status`` is as of the
    command's time (an active coupon past its expiry is ``expired``); ``code`` only
    when revealed."""

    claim_id: str
    coupon: str  # masked
    perk: str | None  # the perk's slug (None where the checkout did not read it)
    member: str
    terms: CouponTerms
    status: str
    issued_at: datetime
    expires_at: datetime | None
    order_id: str | None
    used_at: datetime | None
    code: str | None = None

    @property
    def state(self) -> CouponState:
        stored = "active" if self.status == "expired" else self.status
        return CouponState(stored, self.member, self.expires_at, self.order_id)

    def as_json(self) -> dict:
        """The spec's `coupon show --json` fields (and perk, issued_at; code if revealed)."""
        data = {"coupon": self.coupon, **self.terms.as_dict()}
        data.update(
            status=self.status,
            member=self.member,
            perk=self.perk,
            claim_id=self.claim_id,
            order_id=self.order_id,
            used_at=self.used_at,
            issued_at=self.issued_at,
            expires_at=self.expires_at,
        )
        if self.code is not None:
            data["code"] = self.code
        return data


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
