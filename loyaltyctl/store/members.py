"""Member queries: lookups, labels (groups and tags), search and listing."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session

from loyaltyctl.domain import models
from loyaltyctl.domain.errors import UnknownMember
from loyaltyctl.store.driver import select_in
from loyaltyctl.store.lookups import ids_by_external as ids_by_external  # (moved: driver-only)
from loyaltyctl.store.lookups import labels, suggestions
from loyaltyctl.store.tables import LedgerEntry, Member, MemberLabel

GROUP, TAG = "group", "tag"


def get_row(session: Session, external_id: str) -> Member | None:
    return session.execute(
        select(Member).where(Member.external_id == external_id)
    ).scalar_one_or_none()


def require_row(session: Session, external_id: str) -> Member:
    row = get_row(session, external_id)
    if row is None:
        raise UnknownMember(
            f"No member has the id {external_id!r}.",
            member=external_id,
            candidates=suggestions(session, external_id),
        )
    return row


def rows_by_external(session: Session, external_ids: list[str]) -> dict[str, dict]:
    """Member rows as plain dicts, by external id."""
    wanted = sorted(set(external_ids))
    found: dict[str, dict] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        for row in session.execute(
            select(Member.__table__).where(Member.external_id.in_(chunk))
        ).mappings():
            found[row["external_id"]] = dict(row)
    return found


def insert_rows(session: Session, rows: list[dict]) -> None:
    """New members in bulk; every dict has the same keys (columns)."""
    if rows:
        session.execute(insert(Member), rows)


def update_rows(session: Session, rows: list[dict]) -> None:
    """Write member columns in bulk; every dict has the same keys, one of them ``id``.
    Member objects of those rows already loaded in the session are read again when
    next used."""
    if not rows:
        return
    table = Member.__table__
    columns = [k for k in rows[0] if k != "id"]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam(f"_{c}") for c in columns})
    )
    session.execute(stmt, [{f"_{k}": v for k, v in row.items()} for row in rows])
    changed = {row["id"] for row in rows}
    for key, loaded in list(session.identity_map.items()):
        if key[0] is Member and key[1][0] in changed:
            session.expire(loaded)


def replace_labels(session: Session, labels: dict[int, tuple[list[str], list[str]]]) -> None:
    """Set members' groups and tags: {member id: (groups, tags)}."""
    ids = sorted(labels)
    for start in range(0, len(ids), 900):
        session.execute(
            delete(MemberLabel).where(MemberLabel.member_id.in_(ids[start : start + 900]))
        )
    rows = [
        {"member_id": member_id, "kind": kind, "value": value}
        for member_id, (groups, tags) in labels.items()
        for kind, values in ((GROUP, groups), (TAG, tags))
        for value in sorted(set(values))
    ]
    if rows:
        session.execute(insert(MemberLabel), rows)


def to_domain(row: Member, groups: list[str], tags: list[str]) -> models.Member:
    return models.Member(
        external_id=row.external_id,
        name=row.name,
        phone=row.phone,
        email=row.email,
        birthday=row.birthday,
        plan=row.plan,
        tier=row.tier,
        tier_manual=row.tier_manual,
        groups=tuple(groups),
        tags=tuple(tags),
        balance=row.balance,
        pending=row.pending,
        created_at=row.created_at,
        updated_at=row.updated_at,
        forgotten_at=row.forgotten_at,
    )


def with_labels(session: Session, rows: list[Member]) -> list[models.Member]:
    by_id = labels(session, [r.id for r in rows])
    return [to_domain(r, *by_id[r.id]) for r in rows]


def listing(
    session: Session,
    *,
    tier: str | None,
    tag: str | None,
    group: str | None,
    limit: int | None,
) -> list[Member]:
    stmt = select(Member)
    if tier:
        stmt = stmt.where(Member.tier == tier)
    for kind, value in ((TAG, tag), (GROUP, group)):
        if value:
            stmt = stmt.where(
                Member.id.in_(
                    select(MemberLabel.member_id).where(
                        MemberLabel.kind == kind, MemberLabel.value == value
                    )
                )
            )
    stmt = stmt.order_by(Member.external_id)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


def program_summary(session: Session, top: int = 5) -> dict:
    """Members, spendable and pending points, ledger size and the biggest balances."""
    members, balance, pending = session.execute(
        select(
            func.count(Member.id),
            func.coalesce(func.sum(Member.balance), 0),
            func.coalesce(func.sum(Member.pending), 0),
        )
    ).one()
    entries = session.execute(select(func.count(LedgerEntry.id))).scalar_one()
    leaders = session.execute(
        select(Member.external_id, Member.name, Member.balance)
        .order_by(Member.balance.desc(), Member.external_id)
        .limit(top)
    ).all()
    return {
        "members": members,
        "balance": int(balance),
        "pending": int(pending),
        "ledger_entries": entries,
        "top_balances": [{"member": m, "name": n, "balance": b} for m, n, b in leaders],
    }


_CONTACT_COLUMNS = {"external_id": "external_id", "email": "email", "phone": "phone_rev"}


def external_ids_by(session: Session, key: str, values: Iterable[str]) -> dict[str, list[str]]:
    """value -> the external ids of the members whose ``key`` (external_id, email, or
    phone given by its digits reversed) is that value (a contact may be shared)."""
    column = _CONTACT_COLUMNS[key]
    wanted = sorted(set(values))
    found: dict[str, list[str]] = {}
    sql = f"SELECT {column}, external_id FROM member WHERE {column} {{in_list}}"
    for value, external_id in select_in(session, sql, wanted):
        found.setdefault(value, []).append(external_id)
    return found
