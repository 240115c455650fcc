"""Members: add, update, find, show and list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from loyaltyctl.domain import models
from loyaltyctl.domain.errors import MemberExists, UsageProblem
from loyaltyctl.domain.values import phone_digits, utcnow
from loyaltyctl.services.ledger import balance_of, recent_entries
from loyaltyctl.store import audit
from loyaltyctl.store import members as store
from loyaltyctl.store.tables import Member

PROFILE_FIELDS = ("name", "phone", "email", "birthday", "plan", "tier")


@dataclass(frozen=True)
class MemberFields:
    """Validated profile values; None means "not given" (unchanged on update)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birthday: str | None = None
    plan: str | None = None
    tier: str | None = None


def _phone_rev(phone: str | None) -> str | None:
    digits = phone_digits(phone)
    return digits[::-1] if digits else None


def add_member(
    *,
    session: Session,
    external_id: str,
    fields: MemberFields,
    groups: list[str],
    tags: list[str],
    operator: str,
    now: datetime | None = None,
) -> models.Member:
    now = now or utcnow()
    if not fields.name:
        raise UsageProblem("A member needs a name (--name).")
    if store.get_row(session, external_id) is not None:
        raise MemberExists(f"A member with the id {external_id!r} already exists.")
    values = {name: getattr(fields, name) for name in PROFILE_FIELDS}
    member_id = session.execute(
        insert(Member)
        .values(
            external_id=external_id,
            **values,
            phone_rev=_phone_rev(fields.phone),
            tier_manual=fields.tier is not None,
            created_at=now,
            updated_at=now,
        )
        .returning(Member.id)
    ).scalar_one()
    store.set_labels(session, member_id, store.GROUP, groups)
    store.set_labels(session, member_id, store.TAG, tags)
    audit.append_event(
        session,
        subject=f"member:{external_id}",
        action="member.add",
        operator=operator,
        at=now,
        details={
            **{k: v for k, v in values.items() if v is not None},
            "groups": sorted(set(groups)),
            "tags": sorted(set(tags)),
        },
    )
    row = store.require_row(session, external_id)
    return store.to_domain(row, sorted(set(groups)), sorted(set(tags)))


def update_member(
    *,
    session: Session,
    external_id: str,
    fields: MemberFields,
    operator: str,
    add_groups: list[str] = (),
    remove_groups: list[str] = (),
    add_tags: list[str] = (),
    remove_tags: list[str] = (),
    groups: list[str] | None = None,
    tags: list[str] | None = None,
    now: datetime | None = None,
) -> tuple[models.Member, list[str]]:
    """Apply the given changes; returns the member and the names of changed fields.

    ``groups``/``tags`` replace the member's labels; the add/remove lists edit them.
    """
    now = now or utcnow()
    row = store.require_row(session, external_id)
    current_groups, current_tags = store.labels(session, [row.id])[row.id]
    changed: dict[str, object] = {}
    for name in PROFILE_FIELDS:
        value = getattr(fields, name)
        if value is not None and value != getattr(row, name):
            changed[name] = value
    if "phone" in changed:
        row.phone_rev = _phone_rev(fields.phone)
    if fields.tier is not None:
        row.tier_manual = True  # a tier set by hand stays until changed by hand
    base_groups = current_groups if groups is None else groups
    base_tags = current_tags if tags is None else tags
    new_groups = sorted((set(base_groups) | set(add_groups)) - set(remove_groups))
    new_tags = sorted((set(base_tags) | set(add_tags)) - set(remove_tags))
    if new_groups != current_groups:
        store.set_labels(session, row.id, store.GROUP, new_groups)
        changed["groups"] = new_groups
    if new_tags != current_tags:
        store.set_labels(session, row.id, store.TAG, new_tags)
        changed["tags"] = new_tags
    if changed:
        for name, value in changed.items():
            if name in PROFILE_FIELDS:
                setattr(row, name, value)
        row.updated_at = now
        session.add(row)
        session.flush()
        audit.append_event(
            session,
            subject=f"member:{external_id}",
            action="member.update",
            operator=operator,
            at=now,
            details=changed,
        )
    return store.to_domain(row, new_groups, new_tags), sorted(changed)


def find_members(*, session: Session, query: str, limit: int = 20) -> list[models.Member]:
    if len(query.strip()) < 2:
        raise UsageProblem("Give at least 2 characters, or the last 4-6 digits of a phone.")
    return store.with_labels(session, store.search(session, query, limit=limit))


def list_members(
    *,
    session: Session,
    tier: str | None = None,
    tag: str | None = None,
    group: str | None = None,
    limit: int | None = None,
) -> list[models.Member]:
    rows = store.listing(session, tier=tier, tag=tag, group=group, limit=limit)
    return store.with_labels(session, rows)


def show_member(
    *,
    session: Session,
    external_id: str,
    soon_days: int = 30,
    recent: int = 10,
    now: datetime | None = None,
) -> models.MemberProfile:
    now = now or utcnow()
    row = store.require_row(session, external_id)
    member = store.with_labels(session, [row])[0]
    return models.MemberProfile(
        member=member,
        balance=balance_of(session, row, soon_days=soon_days, now=now),
        recent=tuple(recent_entries(session, row, limit=recent)),
    )
