"""`coupon check | use | release | show`: whether a coupon applies to a cart, recording
its use on an order (at most once), giving it back, and showing it.

The hot path (check, use) is: the code's keyed hash, one statement to find the coupon
with its member and perk, the rules in `domain.coupons`, and for a use one conditional
UPDATE and the audit event. A use that lost a race to another use (the UPDATE found the
coupon used) is retried from the start by `Database.run`, and then replays (same order)
or is refused (`coupon_used`).

All of it is the driver's alone (`store.coupons`, `store.audit`): the CLI runs these on
a `driver.RawSession`, so a checkout starts without SQLAlchemy (tests/cli/test_startup.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from loyaltyctl import crash
from loyaltyctl.domain import code_alphabet
from loyaltyctl.domain import coupons as domain
from loyaltyctl.domain.cart import BadCart, Cart, parse_cart
from loyaltyctl.domain.coupons import CouponApplied, CouponRecord
from loyaltyctl.domain.errors import (
    COUPON_REFUSALS,
    Argument,
    BadInputFile,
    Problem,
    UnknownCoupon,
    UsageProblem,
)
from loyaltyctl.domain.money import money_text
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import coupons as store
from loyaltyctl.store.db import ConcurrentChange

if TYPE_CHECKING:
    from loyaltyctl.crypto import KeyRing
    from loyaltyctl.store.db import Session

ORDER_MAX = 100  # the coupon table's order_id
_ORDER_RE = re.compile(r"[^\x00-\x1f\x7f]+")


def read_cart(text: str, source: str) -> Cart:
    """The cart a store sent (JSON); a bad one lists every problem with its position."""
    try:
        return parse_cart(text)
    except BadCart as bad:
        raise BadInputFile(
            [Problem(source, p.line, p.field or None, p.message, p.column) for p in bad.problems]
        ) from None


def order_ref(order_id: str) -> str:
    """An order id as given: one line of at most 100 characters."""
    order = order_id.strip()
    if not order or len(order) > ORDER_MAX or not _ORDER_RE.fullmatch(order):
        raise UsageProblem(
            Argument("order"),
            f" must be the store's order id: one line of 1-{ORDER_MAX} characters.",
        )
    return order


def find(
    session: Session, keys: KeyRing, code: str, now: datetime, *, with_perk: bool = False
) -> CouponRecord:
    """The coupon a typed code names (case, spaces and dashes ignored), or UnknownCoupon;
    the message never repeats the code and says nothing of which codes exist."""
    normalized = code_alphabet.normalize(code)
    code_hash = keys.lookup_hash(normalized)
    record = store.by_hash(session, code_hash, now, with_perk=with_perk) if normalized else None
    if record is None:
        # one sentence for every unknown code, as for promo codes (a check symbol that
        # does not match is data: mistyped); the code is named by its last 4 symbols only
        tail = f" ending {normalized[-4:]}" if len(normalized) >= 8 else ""
        raise UnknownCoupon(
            f"No coupon has the code{tail}; check it for a typo and type it again.",
            mistyped=code_alphabet.looks_mistyped(normalized),
        )
    return record


def refuse_state(
    record: CouponRecord, *, at: datetime, member: str | None, order_id: str | None = None
) -> None:
    """Raise why the coupon cannot be used at ``at``, whatever the cart (a use on
    ``order_id`` it was used on already is not refused: it replays)."""
    code = domain.state_refusal(record.state, at=at, member=member, order_id=order_id)
    if code is None:
        return
    data: dict = {"coupon": record.coupon}
    if code == domain.USED:
        data["order_id"] = record.order_id
    elif code == domain.EXPIRED:
        data["expires_at"] = record.expires_at
    elif code == domain.WRONG_MEMBER:
        data["member"] = member
    raise COUPON_REFUSALS[code](domain.state_message(code, record, member=member), **data)


def refuse_cart(record: CouponRecord, cart: Cart) -> None:
    """Raise why the coupon's terms do not apply to this cart."""
    refusal = domain.cart_refusal(record.terms, cart)
    if refusal is None:
        return
    terms = record.terms
    data: dict = {"coupon": record.coupon}
    if refusal.code == domain.MIN_PURCHASE:
        data.update(min_purchase=money_text(terms.min_purchase), subtotal=money_text(cart.subtotal))
    elif refusal.code == domain.NO_ELIGIBLE_ITEMS:
        data["collections"] = list(terms.collections)
    elif refusal.code == domain.PRODUCT_NOT_IN_CART:
        data.update(product=terms.product, variants=list(terms.variants))
    sentence = refusal.message
    if sentence.startswith("this coupon "):
        sentence = f"Coupon {record.coupon} {sentence.removeprefix('this coupon ')}."
    else:
        sentence = f"Coupon {record.coupon} does not apply: {sentence}."
    raise COUPON_REFUSALS[refusal.code](sentence, **data)


def check_coupon(
    *,
    session: Session,
    keys: KeyRing,
    code: str,
    cart: Cart,
    member: str | None = None,
    now: datetime | None = None,
) -> CouponApplied:
    """`coupon check`: what the coupon takes off this cart now, or why it does not apply.
    Changes nothing."""
    now = now or utcnow()
    record = find(session, keys, code, now)
    refuse_state(record, at=now, member=member)
    refuse_cart(record, cart)
    return domain.applied(record, cart, order=None, replayed=False)


def use_coupon(
    *,
    session: Session,
    keys: KeyRing,
    code: str,
    order_id: str,
    cart: Cart,
    operator: str,
    member: str | None = None,
    now: datetime | None = None,
) -> CouponApplied:
    """`coupon use`: record the use on the order, at most once. The same order again is a
    replay (``replayed``); another order is refused (`coupon_used`)."""
    now = now or utcnow()
    order_id = order_ref(order_id)
    record = find(session, keys, code, now)
    refuse_state(record, at=now, member=member, order_id=order_id)
    refuse_cart(record, cart)
    if record.status == store.USED:  # on this order: refuse_state let only that through
        return domain.applied(record, cart, order=order_id, replayed=True)
    result = domain.applied(record, cart, order=order_id, replayed=False)
    if not store.mark_used(session, record.claim_id, order_id, now):
        # used (or expired) since it was read: the rerun replays or refuses it
        raise ConcurrentChange(f"coupon of claim {record.claim_id} moved")
    from loyaltyctl.store import audit  # the writes only: `check` and `quote` start faster

    audit.append_event(
        session,
        subject=subject(record.claim_id),
        action="coupon.use",
        operator=operator,
        at=now,
        reason=f"used on order {order_id}",
        details={
            "order_id": order_id,
            "member": record.member,
            "coupon": record.coupon,
            "amount": money_text(result.amount),
            "shipping_discount": money_text(result.shipping_discount),
        },
    )
    crash.reached("coupon-use-before-commit")
    return result


def release_coupon(
    *,
    session: Session,
    keys: KeyRing,
    code: str,
    order_id: str,
    reason: str,
    operator: str,
    now: datetime | None = None,
) -> CouponRecord:
    """`coupon release`: a coupon used on ``order_id`` (cancelled before it was paid) is
    usable again (unless it expired meanwhile)."""
    now = now or utcnow()
    order_id = order_ref(order_id)
    record = find(session, keys, code, now, with_perk=True)
    why = domain.release_refusal(record, order_id)
    if why == domain.NOT_USED:
        raise COUPON_REFUSALS[why](
            f"Coupon {record.coupon} is not used on any order (it is {record.status}).",
            coupon=record.coupon,
        )
    if why == domain.OTHER_ORDER:
        raise COUPON_REFUSALS[why](
            f"Coupon {record.coupon} was used on order {record.order_id}, not {order_id}.",
            coupon=record.coupon,
            order_id=record.order_id,
        )
    if not store.release(session, record.claim_id, order_id, now):
        raise ConcurrentChange(f"coupon of claim {record.claim_id} moved")
    from loyaltyctl.store import audit  # the writes only: `check` and `quote` start faster

    audit.append_event(
        session,
        subject=subject(record.claim_id),
        action="coupon.release",
        operator=operator,
        at=now,
        reason=reason,
        details={"order_id": order_id, "member": record.member, "coupon": record.coupon},
    )
    expired = record.expires_at is not None and now >= record.expires_at
    return replace(
        record, status="expired" if expired else store.ACTIVE, order_id=None, used_at=None
    )


def show_coupon(
    *, session: Session, keys: KeyRing, code: str, now: datetime | None = None
) -> CouponRecord:
    """`coupon show`: terms, status now, member, perk, claim, order."""
    return find(session, keys, code, now or utcnow(), with_perk=True)


def subject(claim_id: str) -> str:
    """A coupon's audit chain (by its claim: the code never reaches the audit log)."""
    return f"coupon:{claim_id}"
