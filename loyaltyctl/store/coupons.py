"""Coupons: issued by claims of coupon perks, checked and used at a store's checkout.

Codes are found by their keyed hash (`code_hash`, UNIQUE), never decrypted to be found.
A coupon's status moves only by conditional UPDATEs, so a coupon is used at most once
under any number of concurrent writers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, insert, or_, select, update
from sqlmodel import Session

from loyaltyctl.store.driver import run, stamp
from loyaltyctl.store.tables import Coupon, Perk

ACTIVE, USED, CANCELLED = "active", "used", "cancelled"


def insert_coupon(session: Session, row: dict) -> None:
    """A coupon issued by a claim (``row``: the coupon table's columns). Through the
    table's types: money is NUMERIC on PostgreSQL and text on SQLite (tables.Money)."""
    session.execute(insert(Coupon.__table__).values(**row))


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


# --- issuing (claims) ----------------------------------------------------------------


def code_hash_taken(session: Session, code_hash: str) -> bool:
    """Whether a coupon has this code (by its keyed hash): a new draw is made if so."""
    return (
        session.execute(select(Coupon.claim_id).where(Coupon.code_hash == code_hash)).first()
        is not None
    )


def coupon_status(session: Session, claim_id: str) -> str | None:
    """The stored status of a claim's coupon (active | used | cancelled); None: it has none."""
    return session.execute(
        select(Coupon.status).where(Coupon.claim_id == claim_id)
    ).scalar_one_or_none()


def coupons_of_member(
    session: Session, member_id: int, *, now: datetime, limit: int
) -> list[tuple[Coupon, str]]:
    """(coupon, perk slug): the usable ones first (active, not expired at ``now``), then
    the others; newest first within each."""
    usable = case(
        (
            (Coupon.status == ACTIVE) & or_(Coupon.expires_at.is_(None), Coupon.expires_at > now),
            0,
        ),
        else_=1,
    )
    stmt = (
        select(Coupon, Perk.slug)
        .join(Perk, Perk.id == Coupon.perk_id)
        .where(Coupon.member_id == member_id)
        .order_by(usable, Coupon.issued_at.desc(), Coupon.claim_id)
        .limit(limit)
    )
    return [(coupon, slug) for coupon, slug in session.execute(stmt)]


# --- secrets (for `keys rotate`) ------------------------------------------------------


def coupon_secrets(session: Session, *, after: str, size: int) -> list[tuple[str, str]]:
    """(claim id, code_enc) of coupons in claim id order, a page at a time."""
    rows = session.execute(
        select(Coupon.claim_id, Coupon.code_enc)
        .where(Coupon.claim_id > after)
        .order_by(Coupon.claim_id)
        .limit(size)
    )
    return [tuple(r) for r in rows]


def set_coupon_secrets(session: Session, values: list[tuple[str, str]]) -> None:
    if values:
        table = Coupon.__table__
        session.execute(
            update(table)
            .where(table.c.claim_id == bindparam("claim"))
            .values(code_enc=bindparam("secret")),
            [{"claim": i, "secret": s} for i, s in values],
        )
