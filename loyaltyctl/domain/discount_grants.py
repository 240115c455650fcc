"""Discounts and their grants as the commands show them (spec §7 "Discounts" JSON).

Pure: no I/O. A grant's status is judged at a moment: ``revoked`` (revoked at or before
it), ``ended`` (past its end), ``scheduled`` (active, a revoke pending), ``active``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyaltyctl.domain.discounts import DiscountSpec

SOURCES = ("order", "subscription", "admin")
STATUSES = ("active", "scheduled", "ended", "revoked")
NOTE_MAX = 2000
_DAYS = re.compile(r"([1-9][0-9]{0,4}) days?")


def grant_status(
    at: datetime,
    *,
    since: datetime,
    until: datetime | None,
    revoke_at: datetime | None,
    revoked_at: datetime | None,
) -> str:
    if revoked_at is not None and revoked_at <= at:
        return "revoked"
    if revoke_at is not None and revoke_at <= at:
        return "revoked"  # due: maintain run records it, quote already judges it so
    if until is not None and until <= at:
        return "ended"
    if revoke_at is not None:
        return "scheduled"
    return "active"


def trigger_days(duration: str | None) -> int | None:
    """The days of an "N days" duration; None for permanent and while_active."""
    match = _DAYS.fullmatch(duration or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class GrantRecord:
    id: int
    discount: str
    member: str
    source: str  # order | subscription | admin
    order_id: str | None
    subscription_id: str | None
    operator: str
    note: str | None
    since: datetime
    until: datetime | None
    revoke_at: datetime | None
    revoked_at: datetime | None
    status: str
    duration: str | None = None
    revoke_reason: str | None = None
    replayed: bool = False

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "discount": self.discount,
            "member": self.member,
            "source": {
                "type": self.source,
                "order_id": self.order_id,
                "subscription_id": self.subscription_id,
                "operator": self.operator,
                "note": self.note,
            },
            "since": self.since,
            "until": self.until,
            "revoke_at": self.revoke_at,
            "status": self.status,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True, slots=True)
class DiscountSummary:
    """One discount as `discount list` shows it (and `discount show`, with its spec)."""

    spec: DiscountSpec
    active_grants: int
    members: int

    def as_json(self) -> dict:
        return {
            "slug": self.spec.slug,
            "name": self.spec.name,
            "percent": self.spec.percent,
            "enabled": self.spec.enabled,
            "dormant": self.spec.dormant,
            "active_grants": self.active_grants,
            "members": self.members,
        }


@dataclass(frozen=True, slots=True)
class DiscountDetail:
    """`discount show`: the definition, its counts and the members holding it now."""

    summary: DiscountSummary
    grants: tuple[GrantRecord, ...]  # active and scheduled, newest first (a page)

    def as_json(self) -> dict:
        from loyaltyctl.domain.discounts import schedule_dict

        spec = self.summary.spec
        data = self.summary.as_json()
        data.update(
            description=spec.description,
            schedule=schedule_dict(spec.schedule) or None,
            scopes=[
                {"type": s.type, **({s.type: s.value} if s.value else {})} for s in spec.scopes
            ],
            triggers=[
                {
                    k: v
                    for k, v in (("type", t.type), ("package", t.package), ("duration", t.duration))
                    if v
                }
                for t in spec.triggers
            ],
            stack_with=sorted(spec.stack_with),
            priority=spec.priority,
            exclusive_group=spec.exclusive_group,
            grants=[grant.as_json() for grant in self.grants],
        )
        return data


@dataclass(frozen=True, slots=True)
class RevokeResult:
    discount: str
    member: str
    revoked: tuple[int, ...]  # grant ids
    reason: str

    def as_json(self) -> dict:
        return {
            "discount": self.discount,
            "member": self.member,
            "revoked": list(self.revoked),
            "reason": self.reason,
        }


def percent_text(percent: Decimal) -> str:
    """10 -> "10", 12.50 -> "12.5"."""
    text = f"{percent.normalize():f}"
    return text
