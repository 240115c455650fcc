"""`quote`'s reads, through the driver alone (a checkout's path: no SQLAlchemy, no table
classes; the CLI runs them on a `driver.RawSession`): the member with every grant they
hold and its discount in one statement, the active order rules, the member's tier and
the rules' limit counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from loyaltyctl.store.driver import fetch_one, query, stamp_reader

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True, slots=True)
class MemberRef:
    id: int
    external_id: str
    tier: str | None


@dataclass(frozen=True, slots=True)
class HeldRow:
    """A grant of the member's with its discount's stored columns (quote's read)."""

    discount: tuple  # slug, name, percent, enabled, schedule, scopes, triggers, stack_with,
    # priority, exclusive_group
    since: datetime
    until: datetime | None
    revoke_at: datetime | None
    revoked_at: datetime | None


def held_by(session: Session, external_id: str) -> tuple[MemberRef | None, list[HeldRow]]:
    """The member of this external id and every grant of theirs (any state) with its
    discount, in one statement (a checkout's path); (None, []) when there is no member."""
    rows = query(
        session,
        "SELECT m.id, m.external_id, m.tier, d.slug, d.name, d.percent, d.enabled, "
        "d.schedule, d.scopes, d.triggers, d.stack_with, d.priority, d.exclusive_group, "
        "g.since, g.until, g.revoke_at, g.revoked_at FROM member m "
        "LEFT JOIN discount_grant g ON g.member_id = m.id "
        "LEFT JOIN discount d ON d.id = g.discount_id "
        "WHERE m.external_id = {p} ORDER BY g.id",
        (external_id,),
    )
    if not rows:
        return None, []
    read = stamp_reader(session) or (lambda value: value)

    def moment(value):
        return None if value is None else read(value)

    member = MemberRef(*rows[0][:3])
    return member, [
        HeldRow(tuple(r[3:13]), read(r[13]), moment(r[14]), moment(r[15]), moment(r[16]))
        for r in rows
        if r[3] is not None
    ]


@dataclass(frozen=True, slots=True)
class RuleRow:
    """An earning rule's stored columns (as `services.earning.rules.rule_of` reads them)."""

    id: int
    slug: str
    kind: str
    name: str | None
    description: str | None
    active: bool
    tiers: str
    settings: str


@dataclass(frozen=True, slots=True)
class TierRow:
    slug: str
    name: str
    threshold: int
    period: str
    multiplier: str
    overrides: str
    downgrade: str
    active: bool
    description: str | None


def order_rules(session: Session) -> list[RuleRow]:
    """The active order rules, by slug."""
    return [
        RuleRow(*row)
        for row in query(
            session,
            "SELECT id, slug, kind, name, description, active, tiers, settings FROM earning_rule "
            "WHERE kind = 'order' AND active = {p} ORDER BY slug",
            (True,),
        )
    ]


def active_tier(session: Session, slug: str) -> TierRow | None:
    row = fetch_one(
        session,
        "SELECT slug, name, threshold, period, multiplier, overrides, downgrade, active, "
        "description FROM tier WHERE slug = {p} AND active = {p}",
        (slug, True),
    )
    return None if row is None else TierRow(*row)


def counter_uses(session: Session, rule_id: int, member_id: int, scope: str) -> int:
    row = fetch_one(
        session,
        "SELECT uses FROM earning_counter WHERE rule_id = {p} AND member_id = {p} AND scope = {p}",
        (rule_id, member_id, scope),
    )
    return 0 if row is None else row[0]
