"""What events do to coupons: an `order.paid` that names coupons records their use on
its order (a fact of the store: the cart's conditions are not checked again); the
refund that completes an order, or its chargeback, gives the order's coupons back.

Called by the event handlers inside a chunk's transaction. A coupon that cannot be
used raises EventProblem before anything changed (the line is bad, the event applies
nothing); a coupon that moved between the read and the conditional UPDATE raises
ConcurrentChange, and the chunk is retried.
"""

from __future__ import annotations

from datetime import datetime

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import coupons as domain
from loyaltyctl.domain import promo
from loyaltyctl.domain.coupons import CouponRecord
from loyaltyctl.domain.events import EventProblem
from loyaltyctl.services.coupons.checkout import subject
from loyaltyctl.store import audit
from loyaltyctl.store import coupons as store
from loyaltyctl.store.audit import NewEvent
from loyaltyctl.store.db import ConcurrentChange, Session


def use_on_order(
    session: Session,
    keys: KeyRing,
    *,
    codes: tuple[str, ...],
    order_id: str,
    member: str,
    at: datetime,
    now: datetime,
    operator: str,
    event_id: str,
) -> dict:
    """Record the coupons an order.paid names as used on its order, judged at the
    event's ``at``; returns what the event records of them (masked). Of several
    free-product coupons only the last one given applies; the others stay unused (the
    seed's lipstick and eyeliner)."""
    given = _given(codes, keys.lookup_hasher())
    found = store.by_hashes(session, list(given.values()), at) if given else {}
    records: list[CouponRecord] = []
    for index, code_hash in given.items():
        record = found.get(code_hash)
        if record is None:
            raise EventProblem(f"coupons[{index}]: no coupon has this code")
        refused = domain.state_refusal(record.state, at=at, member=member, order_id=order_id)
        if refused is not None:
            message = domain.state_message(refused, record, member=member)
            raise EventProblem(f"coupons[{index}]: {message[0].lower()}{message[1:].rstrip('.')}")
        records.append(record)
    free = [r for r in records if r.terms.kind == "free_product"]
    unused = {r.claim_id for r in free[:-1] if r.status != store.USED}
    used, events = [], []
    for record in records:
        if record.claim_id in unused:
            continue
        used.append(record.coupon)
        if record.status == store.USED:  # on this order already (`coupon use`)
            continue
        if not store.mark_used(session, record.claim_id, order_id, at):
            raise ConcurrentChange(f"coupon of claim {record.claim_id} moved")
        events.append(
            NewEvent(
                subject=subject(record.claim_id),
                action="coupon.use",
                operator=operator,
                at=now,
                reason=f"used on order {order_id} (event {event_id})",
                details={"order_id": order_id, "member": member, "coupon": record.coupon},
            )
        )
    audit.append_events(session, events)
    details: dict = {"coupons": used} if used else {}
    if unused:
        details["coupons_not_used"] = [r.coupon for r in records if r.claim_id in unused]
    return details


def _given(codes: tuple[str, ...], lookup_hash) -> dict[int, str]:
    """position in the event's list -> the code's keyed hash, repeats of a code (as
    typed codes compare: case, spaces and dashes ignored) left out."""
    seen: dict[str, int] = {}
    for index, code in enumerate(codes):
        seen.setdefault(promo.normalize(code), index)
    return {index: lookup_hash(normalized) for normalized, index in seen.items()}


def give_back(
    session: Session,
    *,
    order_id: str,
    now: datetime,
    operator: str,
    event_id: str,
    why: str,
) -> list[str]:
    """The order's coupons usable again (unless expired); the masked codes given back."""
    returned = store.give_back_order(session, order_id, now)
    audit.append_events(
        session,
        [
            NewEvent(
                subject=subject(claim_id),
                action="coupon.return",
                operator=operator,
                at=now,
                reason=f"order {order_id} {why} (event {event_id})",
                details={"order_id": order_id, "coupon": domain.masked(tail)},
            )
            for claim_id, tail in returned
        ],
    )
    return [domain.masked(tail) for _, tail in returned]
