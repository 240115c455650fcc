"""The coupons that claims issue (spec §7 "Coupons"): the points a convert claim chooses,
issuing a coupon in the claim's transaction, showing it again, cancelling it with its
claim. The driver's alone (`store.coupons`): a claim runs on a `driver.RawSession`.

A coupon's code is drawn at random (domain.coupon_codes) and stored only as its keyed
hash (UNIQUE) and a ciphertext bound to the claim; its terms are frozen from the perk's
`[perk.coupon]` when it is issued. A drawn code whose hash is taken is drawn again; a
concurrent writer that took the same hash first makes this transaction fail on the
UNIQUE index, and `Database.run` retries it with a new draw.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loyaltyctl.domain import coupon_codes as codes
from loyaltyctl.domain import coupon_specs as coupon_rules
from loyaltyctl.domain.claiming import Redemption
from loyaltyctl.domain.coupon_specs import CouponSpec, CouponState, CouponTerms
from loyaltyctl.domain.errors import Argument, CouponUsed, PointsOutOfRange, UsageProblem
from loyaltyctl.domain.money import MONEY_MAX, money_text
from loyaltyctl.store import coupons as store

if TYPE_CHECKING:  # the driver's alone: a claim runs it without SQLAlchemy
    from loyaltyctl.crypto import KeyRing
    from loyaltyctl.store.coupons import CouponRow as Coupon
    from loyaltyctl.store.db import Session
    from loyaltyctl.store.tables import Perk

CONVERT = "convert"


def chosen_points(perk: Perk, spec: CouponSpec | None, points: int | None) -> int | None:
    """The points a claim converts: required for a convert coupon and within its bounds,
    refused for any other perk (which costs its price)."""
    convert = spec is not None and spec.kind == CONVERT
    if points is None:
        if convert:
            raise UsageProblem(
                f"Perk {perk.slug} converts points into a coupon: say how many with ",
                Argument("points"),
                f" ({_bounds(spec)}).",
                perk=perk.slug,
            )
        return None
    if not convert:
        raise UsageProblem(
            Argument("points"),
            f" is only for perks that convert points into a coupon; perk {perk.slug} "
            "costs its price.",
            perk=perk.slug,
        )
    refusal = spec.points_refusal(points)
    if refusal is None and spec.terms(points).amount > MONEY_MAX:
        refusal = f"make a coupon worth at most {money_text(MONEY_MAX)}"
    if refusal is not None:
        raise PointsOutOfRange(
            f"Perk {perk.slug} can {refusal}, not {points:,}.",
            perk=perk.slug,
            points=points,
            min_points=spec.min_points or 1,
            max_points=spec.max_points,
        )
    return points


def _bounds(spec: CouponSpec) -> str:
    low = f"at least {spec.min_points or 1:,}"
    return low + (f", at most {spec.max_points:,}" if spec.max_points is not None else "")


# --- issue -------------------------------------------------------------------------------


def issue(
    session: Session,
    keys: KeyRing,
    perk: Perk,
    spec: CouponSpec,
    *,
    claim_id: str,
    member_id: int,
    points: int,
    chosen: int | None,
    now: datetime,
    tz: ZoneInfo,
) -> Redemption:
    """Issue the coupon of a claim already recorded (``points``: what the claim paid;
    ``chosen``: the points a convert coupon converts). Returns what the member sees."""
    terms = spec.terms(chosen)
    expires_at = spec.expires_at(now, tz)
    code, code_hash = _draw(session, keys)
    shown = codes.display(code)
    store.insert_coupon(
        session,
        {
            "claim_id": claim_id,
            "perk_id": perk.id,
            "member_id": member_id,
            "code_hash": code_hash,
            # the code as the member was shown it; found by the hash of its normalized form
            "code_enc": keys.encrypt(shown, bound_to=coupon_rules.code_binding(claim_id)),
            "code_tail": codes.tail(code),
            "kind": terms.kind,
            "amount": terms.amount,
            "percent": terms.percent,
            "min_purchase": terms.min_purchase,
            "max_shipping": terms.max_shipping,
            "product": terms.product,
            "variants": json.dumps(list(terms.variants)),
            "collections": json.dumps(list(terms.collections)),
            "points": points,
            "issued_at": now,
            "expires_at": expires_at,
            "status": store.ACTIVE,
            "updated_at": now,
        },
    )
    return _redemption(perk, shown, terms, expires_at)


def _draw(session: Session, keys: KeyRing) -> tuple[str, str]:
    """A code no coupon has (normalized) and its keyed hash."""
    while True:
        code = codes.new_code()
        code_hash = keys.lookup_hash(code)
        if not store.code_hash_taken(session, code_hash):
            return code, code_hash


def _redemption(perk: Perk, code: str, terms: CouponTerms, expires_at) -> Redemption:
    return Redemption(
        "coupon", code, perk.instructions, coupon={**terms.as_dict(), "expires_at": expires_at}
    )


def _terms(row: Coupon) -> CouponTerms:
    return CouponTerms(
        kind=row.kind,
        amount=row.amount,
        percent=row.percent,
        min_purchase=row.min_purchase,
        max_shipping=row.max_shipping,
        product=row.product,
        variants=tuple(json.loads(row.variants)),
        collections=tuple(json.loads(row.collections)),
    )


# --- read --------------------------------------------------------------------------------


def stored_redemption(session: Session, keys: KeyRing, claim_id: str, perk: Perk):
    """The coupon a claim issued, its code decrypted (a replay, `claim show --reveal`);
    None when the claim issued none."""
    row = store.coupon_of_claim(session, claim_id)
    if row is None:
        return None
    code = keys.decrypt(row.code_enc, bound_to=coupon_rules.code_binding(claim_id))
    return _redemption(perk, codes.display(codes.normalize(code)), _terms(row), row.expires_at)


def summary(session: Session, claim_id: str, *, now: datetime) -> dict | None:
    """The coupon a claim issued as `claim show` gives it without --reveal: the code
    masked, its status at ``now`` and its terms; None when it issued none."""
    row = store.coupon_of_claim(session, claim_id)
    if row is None:
        return None
    return {
        "code": coupon_rules.masked(row.code_tail),
        "status": status_at(row, now),
        **_terms(row).as_dict(),
        "expires_at": row.expires_at,
        "order_id": row.order_id,
    }


def status_at(row, now: datetime) -> str:
    """A coupon's status at ``now`` (an active one past its expiry is expired)."""
    return CouponState(status=row.status, member="", expires_at=row.expires_at).status_at(now)


# --- cancel ------------------------------------------------------------------------------


def cancel(session: Session, claim_id: str, *, now: datetime) -> bool:
    """Cancel the coupon of a claim being cancelled, in the same transaction; returns
    whether the claim had one. A used coupon refuses it (`coupon_used`): the conditional
    UPDATE is the authority, so a `coupon use` that commits first wins either way."""
    row = store.coupon_of_claim(session, claim_id)
    if row is None:
        return False
    if row.status == store.USED or not store.cancel_coupon(session, claim_id, now):
        row = store.coupon_of_claim(session, claim_id)  # as it stands now
        if row.status == store.USED:
            raise CouponUsed(
                f"The coupon of claim {claim_id} was used on order {row.order_id}, so the "
                "claim cannot be cancelled.",
                coupon=coupon_rules.masked(row.code_tail),
                order_id=row.order_id,
                claim_id=claim_id,
            )
    return True
