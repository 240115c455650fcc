"""Coupons: issued by claims of coupon perks, checked and used at a store's checkout.

Codes are found by their keyed hash (`code_hash`, UNIQUE), never decrypted to be found.
A coupon's status moves only by conditional UPDATEs, so a coupon is used at most once
under any number of concurrent writers.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from loyaltyctl.store.driver import insert_row, run, stamp
from loyaltyctl.store.tables import Coupon

ACTIVE, USED, CANCELLED = "active", "used", "cancelled"


def insert_coupon(session: Session, row: dict) -> None:
    """A coupon issued by a claim (``row``: the coupon table's columns)."""
    insert_row(session, "coupon", row)


def coupon_of_claim(session: Session, claim_id: str) -> Coupon | None:
    return session.execute(select(Coupon).where(Coupon.claim_id == claim_id)).scalar_one_or_none()


def cancel_coupon(session: Session, claim_id: str, now) -> bool:
    """Cancel an unused coupon (its claim is cancelled); False when it is not active."""
    return (
        run(
            session,
            "UPDATE coupon SET status = 'cancelled', updated_at = {p} "
            "WHERE claim_id = {p} AND status = 'active'",
            (stamp(session, now), claim_id),
        )
        == 1
    )
