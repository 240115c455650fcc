"""`discount list` and `discount show`: definitions with their active grants and members."""

from __future__ import annotations

from datetime import datetime

from loyaltyctl.domain.discount_grants import DiscountDetail, DiscountSummary, GrantRecord
from loyaltyctl.domain.discounts import DiscountSpec, spec_from_stored
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import discounts as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import Discount

SHOWN_GRANTS = 50  # the members holding it, newest first, in `discount show`


def spec_of(row: Discount) -> DiscountSpec:
    return spec_from_stored(
        row.slug,
        row.name,
        row.percent,
        row.enabled,
        row.schedule,
        row.scopes,
        row.triggers,
        row.stack_with,
        row.priority,
        row.exclusive_group,
        row.description,
    )


def list_discounts(
    *, session: Session, include_disabled: bool = False, now: datetime | None = None
) -> list[DiscountSummary]:
    """Discounts by slug (enabled ones unless ``include_disabled``), each with its active
    grants and the members holding it now."""
    now = now or utcnow()
    counts = store.active_counts(session, now)
    return [
        DiscountSummary(spec_of(row), *counts.get(row.id, (0, 0)))
        for row in store.discounts(session, include_disabled=include_disabled)
    ]


def show_discount(*, session: Session, slug: str, now: datetime | None = None) -> DiscountDetail:
    now = now or utcnow()
    row = store.require(session, slug)
    grants, members = store.active_counts(session, now).get(row.id, (0, 0))
    held = grant_records(
        store.grant_rows(session, now=now, discount_id=row.id, limit=SHOWN_GRANTS), now
    )
    return DiscountDetail(DiscountSummary(spec_of(row), grants, members), tuple(held))


def grant_records(rows: list[tuple], now: datetime) -> list[GrantRecord]:
    """GrantRecords of `store.grant_rows` (its GRANT_COLUMNS), each with its status at
    ``now``."""
    from loyaltyctl.domain.discount_grants import grant_status

    return [
        GrantRecord(
            *row[:12],
            grant_status(now, since=row[8], until=row[9], revoke_at=row[10], revoked_at=row[11]),
            *row[12:14],
        )
        for row in rows
    ]
