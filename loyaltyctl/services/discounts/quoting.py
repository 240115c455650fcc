"""`quote`: a member's cart priced and explained (spec §7 "`quote`"). Changes nothing.

The member's grants and their discounts are one statement; the coupons given are found
and judged by the coupon checkout's own checks (`services.coupons.checkout.find`,
`domain.coupons.state_refusal`; the cart's conditions in `domain.quote`); the rules of
application are `domain.quote.price_cart`; the points are the order rules' preview.
All of it reads through the driver alone (`store.quoting`, `store.coupons`): the CLI runs
it on a `driver.RawSession` and starts without SQLAlchemy (tests/cli/test_startup.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loyaltyctl.domain import code_alphabet
from loyaltyctl.domain import coupons as coupon_rules
from loyaltyctl.domain.cart import Cart
from loyaltyctl.domain.discounts import Grant, spec_from_stored
from loyaltyctl.domain.errors import UnknownCoupon
from loyaltyctl.domain.quote import CouponInput, Held, Quote, price_cart
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.coupons.checkout import find
from loyaltyctl.services.earning.preview import PointsPreview, order_preview
from loyaltyctl.store import lookups
from loyaltyctl.store import quoting as store

if TYPE_CHECKING:
    from loyaltyctl.store.db import Session


@dataclass(frozen=True, slots=True)
class MemberQuote:
    member: str
    quote: Quote
    points: PointsPreview


def coupon_codes(cart: Cart, extra: Sequence[str]) -> list[str]:
    """The cart's coupons, then the extra codes, duplicates (as typed codes compare)
    left out."""
    seen: dict[str, str] = {}
    for code in (*cart.coupons, *extra):
        seen.setdefault(code_alphabet.normalize(code), code)
    return list(seen.values())


def held_discounts(rows) -> list[Held]:
    """The discounts a member holds (`store.held_by`'s rows), each with every grant of it
    (any state)."""
    by_slug: dict[str, tuple] = {}
    grants: dict[str, list[Grant]] = {}
    for row in rows:
        slug = row.discount[0]
        by_slug.setdefault(slug, row.discount)
        grants.setdefault(slug, []).append(
            Grant(slug, row.since, row.until, row.revoke_at, row.revoked_at)
        )
    return [Held(spec_from_stored(*by_slug[slug]), tuple(grants[slug])) for slug in sorted(by_slug)]


def _coupon(session: Session, keys, code: str, *, at: datetime, member: str) -> CouponInput:
    """A code as quote takes it: its terms, or why it cannot be used whatever the cart."""
    try:
        record = find(session, keys, code, at)
    except UnknownCoupon as refused:
        tail = code_alphabet.normalize(code)[-4:]
        return CouponInput(coupon_rules.masked(tail), None, refused.code, refused.message)
    why = coupon_rules.state_refusal(record.state, at=at, member=member)
    if why is None:
        return CouponInput(record.coupon, record.terms)
    message = coupon_rules.state_message(why, record, member=member)
    return CouponInput(record.coupon, record.terms, why, message)


def quote_cart(
    *,
    session: Session,
    member: str,
    cart: Cart,
    tz: ZoneInfo,
    coupons: Sequence[str] = (),
    keys: Callable | None = None,
    at: datetime | None = None,
) -> MemberQuote:
    """Price the cart for the member at ``at`` (default now). ``keys`` loads the key ring,
    asked for only when a coupon is given."""
    now = utcnow()
    at = at or now
    row, grants = store.held_by(session, member)
    if row is None:
        lookups.require_member(session, member)  # UnknownMember, with close ids
    codes = coupon_codes(cart, coupons)
    ring = keys() if codes and keys is not None else None
    given = [_coupon(session, ring, code, at=at, member=row.external_id) for code in codes]
    quote = price_cart(cart, held=held_discounts(grants), coupons=given, at=at, tz=tz)
    points = order_preview(
        session,
        member_id=row.id,
        tier_label=row.tier,
        value=quote.points_basis,
        at=at,
        tz=tz,
        now=now,
    )
    return MemberQuote(row.external_id, quote, points)
