"""Coupons read as table rows (SQLAlchemy): a member's coupons, the export's pages.
Issuing one with a claim, a claim's coupon, the checkout's reads and moves are
`store.coupons` (the driver alone).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import case, or_, select
from sqlmodel import Session

from loyaltyctl.store.coupons import ACTIVE, CANCELLED, USED
from loyaltyctl.store.tables import Coupon, Member, Perk


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


def export_pages(
    session: Session, *, perk_id: int | None, status: str | None, now: datetime, page_size: int
) -> Iterator[Sequence[tuple]]:
    """The coupons that match, in the order they were issued, ``page_size`` rows at a time
    from a server-side cursor: (claim_id, code_enc, kind, amount, percent, min_purchase,
    max_shipping, product, variants, collections, expires_at, member external id)."""
    stmt = (
        select(
            Coupon.claim_id,
            Coupon.code_enc,
            Coupon.kind,
            Coupon.amount,
            Coupon.percent,
            Coupon.min_purchase,
            Coupon.max_shipping,
            Coupon.product,
            Coupon.variants,
            Coupon.collections,
            Coupon.expires_at,
            Member.external_id,
        )
        .join(Member, Member.id == Coupon.member_id)
        .order_by(Coupon.issued_at, Coupon.claim_id)
    )
    if perk_id is not None:
        stmt = stmt.where(Coupon.perk_id == perk_id)
    if status in (USED, CANCELLED):
        stmt = stmt.where(Coupon.status == status)
    elif status == ACTIVE:
        stmt = stmt.where(
            Coupon.status == ACTIVE, (Coupon.expires_at.is_(None)) | (Coupon.expires_at > now)
        )
    elif status == "expired":
        stmt = stmt.where(Coupon.status == ACTIVE, Coupon.expires_at <= now)
    result = session.execute(stmt.execution_options(yield_per=page_size))
    yield from result.partitions()
