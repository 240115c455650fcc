"""A coupon's terms and spec, its stored state and record, masking and binding: what a
claim (`perk claim` issuing a coupon) and the coupon store need, without the cart.

Pure: no I/O. Split from domain/coupons.py (which re-exports every name, and keeps what
applies a coupon to a cart) so that a claim does not import the cart rules
(tests/cli/test_startup.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltyctl.domain.money import money_text, round_down, round_up


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


def prize_points(spec: CouponSpec) -> int | None:
    """The points a convert coupon won as a campaign prize converts (the prize is free):
    the rate's ``points`` (100 points → $10 gives a $10 coupon), brought within
    min_points–max_points when the rate lies outside them. None for the other kinds."""
    if spec.kind != "convert":
        return None
    chosen = max(spec.points, spec.min_points or 1)
    return chosen if spec.max_points is None else min(chosen, spec.max_points)


MASK = "****-****-"  # a masked code: its last 4 symbols, as a card's last 4 digits


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
