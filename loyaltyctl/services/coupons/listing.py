"""`coupon list`, `coupon export`, a member's coupons (`member show`) and the coupon
figures of `stats overview`.

Listings show codes masked to their last 4 symbols (no key file needed); `--reveal`
and the export decrypt them. The export streams: one page of coupons is held at a time,
so a million coupons take the memory of a few thousand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import coupons as domain
from loyaltyctl.domain.coupons import CouponRecord, MemberCoupon
from loyaltyctl.domain.errors import Argument, UsageProblem
from loyaltyctl.domain.money import money_text
from loyaltyctl.domain.values import iso_utc, utcnow
from loyaltyctl.services.claim_coupons import status_at
from loyaltyctl.store import coupon_rows, perk_rows
from loyaltyctl.store import coupons as store
from loyaltyctl.store import members as member_store
from loyaltyctl.store.db import Session

LIST_LIMIT = 1000
EXPORT_PAGE = 5000
EXPORT_COLUMNS = (
    "code",
    "kind",
    "amount",
    "percent",
    "min_purchase",
    "max_shipping",
    "product",
    "variants",
    "collections",
    "expires_at",
    "member",
)


@dataclass(frozen=True)
class CouponListing:
    coupons: tuple[CouponRecord, ...]  # the newest first
    total: int  # how many match (more than listed when the limit cut them)


def _check_status(status: str | None) -> None:
    if status is not None and status not in domain.STATUSES:
        raise UsageProblem(Argument("status"), f" must be one of {', '.join(domain.STATUSES)}.")


def list_coupons(
    *,
    session: Session,
    keys: KeyRing | None = None,
    member: str | None = None,
    perk: str | None = None,
    status: str | None = None,
    limit: int = LIST_LIMIT,
    now: datetime | None = None,
) -> CouponListing:
    """Coupons that match (status as of ``now``), newest first; their codes only when
    ``keys`` are given (`--reveal`)."""
    _check_status(status)
    member_id = member_store.require_row(session, member).id if member is not None else None
    perk_id = perk_rows.require(session, perk).id if perk is not None else None
    rows, total = store.listing(
        session,
        member_id=member_id,
        perk_id=perk_id,
        status=status,
        now=now or utcnow(),
        limit=limit,
    )
    if keys is None:
        return CouponListing(tuple(record for record, _ in rows), total)
    open_ = keys.opener()
    return CouponListing(
        tuple(
            replace(record, code=open_(sealed, domain.code_binding(record.claim_id)))
            for record, sealed in rows
        ),
        total,
    )


@dataclass(frozen=True, slots=True)
class ExportedCoupon:
    """One line of the export, as a store's discount system reads it."""

    code: str
    kind: str
    amount: str | None
    percent: str | None
    min_purchase: str | None
    max_shipping: str | None
    product: str | None
    variants: tuple[str, ...]
    collections: tuple[str, ...]
    expires_at: str | None
    member: str


@dataclass(frozen=True)
class ExportResult:
    count: int
    perk: str | None
    status: str | None


def export_coupons(
    *,
    session: Session,
    keys: KeyRing,
    emit: Callable[[Sequence[ExportedCoupon]], None],
    perk: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
    page_size: int = EXPORT_PAGE,
) -> ExportResult:
    """Hand the coupons that match, with their codes and terms, to ``emit`` a page at a
    time, in the order they were issued."""
    _check_status(status)
    perk_id = perk_rows.require(session, perk).id if perk is not None else None
    open_ = keys.opener()
    count = 0
    pages = coupon_rows.export_pages(
        session, perk_id=perk_id, status=status, now=now or utcnow(), page_size=page_size
    )
    for page in pages:
        coupons = [
            ExportedCoupon(
                code=open_(sealed, domain.code_binding(claim_id)),
                kind=kind,
                amount=_money(amount),
                percent=None if percent is None else f"{percent.normalize():f}",
                min_purchase=_money(min_purchase),
                max_shipping=_money(max_shipping),
                product=product,
                variants=tuple(json.loads(variants)),
                collections=tuple(json.loads(collections)),
                expires_at=iso_utc(expires_at),
                member=member,
            )
            for (
                claim_id,
                sealed,
                kind,
                amount,
                percent,
                min_purchase,
                max_shipping,
                product,
                variants,
                collections,
                expires_at,
                member,
            ) in page
        ]
        count += len(coupons)
        emit(coupons)
    return ExportResult(count=count, perk=perk, status=status)


def _money(amount) -> str | None:
    return None if amount is None else money_text(amount)


@dataclass(frozen=True)
class CouponFigures:
    issued: int  # every coupon ever issued (cancelled ones too)
    active: int  # usable now
    used: int
    expired: int
    cancelled: int


def coupon_figures(*, session: Session, now: datetime | None = None) -> CouponFigures:
    issued, used, expired, cancelled = store.figures(session, now or utcnow())
    return CouponFigures(
        issued=issued,
        active=issued - used - expired - cancelled,
        used=used,
        expired=expired,
        cancelled=cancelled,
    )


def member_coupons(
    session: Session, member_id: int, *, now: datetime, limit: int = 20
) -> list[MemberCoupon]:
    """A member's coupons, usable ones first, codes masked."""
    return [
        MemberCoupon(
            claim_id=row.claim_id,
            perk=slug,
            kind=row.kind,
            status=status_at(row, now),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            code=domain.masked(row.code_tail),
        )
        for row, slug in coupon_rows.coupons_of_member(session, member_id, now=now, limit=limit)
    ]
