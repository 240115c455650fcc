"""Discounts members hold: definitions (written by `apply`), grants, the subscriptions
that grant them, and their uses on orders.

A grant is never deleted. Revokes and ends are conditional UPDATEs (``revoked_at IS
NULL``), so a grant is revoked or ended once under any number of writers; a grant from an
event is UNIQUE by (event, discount), so an event cannot grant twice.

Quote's path (a member's grants with their discounts) is one statement through the driver.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from loyaltyctl.domain.errors import NotFound
from loyaltyctl.store.driver import (
    insert_row,
    query,
    run,
    select_in,
    stamp,
    stamp_reader,
)
from loyaltyctl.store.perk_rows import close_matches
from loyaltyctl.store.tables import Discount, DiscountSubscription

# the grant is active at {p}: started, not past its end, no revoke due or done
ACTIVE_AT = (
    "g.since <= {p} AND (g.until IS NULL OR g.until > {p}) "
    "AND (g.revoke_at IS NULL OR g.revoke_at > {p}) "
    "AND (g.revoked_at IS NULL OR g.revoked_at > {p})"
)
GRANT_COLUMNS = (
    "g.id, d.slug, m.external_id, g.source, g.order_id, g.subscription_id, g.operator, "
    "g.note, g.since, g.until, g.revoke_at, g.revoked_at, g.duration, g.revoke_reason"
)


def active_at(session: Session, at: datetime) -> tuple:
    """The parameters of `ACTIVE_AT`."""
    value = stamp(session, at)
    return (value,) * 4


# --- definitions -------------------------------------------------------------------------


def discounts(session: Session, *, include_disabled: bool = False) -> list[Discount]:
    stmt = select(Discount).order_by(Discount.slug)
    if not include_disabled:
        stmt = stmt.where(Discount.enabled.is_(True))
    return list(session.execute(stmt).scalars())


def require(session: Session, slug: str) -> Discount:
    """The discount of this slug; NotFound (with close slugs) when there is none."""
    row = session.execute(select(Discount).where(Discount.slug == slug)).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"There is no discount {slug!r}.",
            slug=slug,
            candidates=close_matches(session, Discount.slug, slug),
        )
    return row


def disable(session: Session, slug: str, now: datetime) -> None:
    session.execute(
        update(Discount).where(Discount.slug == slug).values(enabled=False, updated_at=now)
    )


def enabled_slugs(session: Session) -> list[str]:
    return list(
        session.execute(
            select(Discount.slug).where(Discount.enabled.is_(True)).order_by(Discount.slug)
        ).scalars()
    )


# --- grants ------------------------------------------------------------------------------


def insert_grant(session: Session, row: dict) -> int:
    """A new grant (open: it counts in discount_member and discount_summary)."""
    grant_id = insert_row(session, "discount_grant", row, returning_id=True)
    move_figures(session, [(row["discount_id"], row["member_id"], 1, 0)])
    return grant_id


def grant_rows(
    session: Session,
    *,
    now: datetime,
    discount_id: int | None = None,
    member_id: int | None = None,
    include_all: bool = False,
    limit: int | None = None,
    grant_id: int | None = None,
) -> list[tuple]:
    """Grants with their discount's slug and member's external id (GRANT_COLUMNS):
    active and scheduled ones at ``now`` unless ``include_all``; newest first."""
    where, params = [], []
    if grant_id is not None:
        where.append("g.id = {p}")
        params.append(grant_id)
        include_all = True
    if discount_id is not None:
        where.append("g.discount_id = {p}")
        params.append(discount_id)
    if member_id is not None:
        where.append("g.member_id = {p}")
        params.append(member_id)
    if not include_all:
        where.append(ACTIVE_AT)
        params += active_at(session, now)
    sql = (
        f"SELECT {GRANT_COLUMNS} FROM discount_grant g "
        "JOIN discount d ON d.id = g.discount_id JOIN member m ON m.id = g.member_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY g.since DESC, g.id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    rows = query(session, sql, params)
    read = stamp_reader(session)
    if read is None:
        return rows
    return [
        tuple(read(v) if i in (8, 9, 10, 11) and v is not None else v for i, v in enumerate(r))
        for r in rows
    ]


def revoke_held(
    session: Session, *, discount_id: int, member_id: int, now: datetime, reason: str
) -> list[int]:
    """Revoke now every grant of this discount the member holds (not revoked, not past
    its end or its scheduled revoke; one starting later too)."""
    rows = query(
        session,
        "UPDATE discount_grant SET revoked_at = {p}, revoke_reason = {p} "
        "WHERE discount_id = {p} AND member_id = {p} AND revoked_at IS NULL "
        "AND (until IS NULL OR until > {p}) AND (revoke_at IS NULL OR revoke_at > {p}) "
        "RETURNING id, ended_at",
        (stamp(session, now), reason, discount_id, member_id, *active_at(session, now)[:2]),
    )
    _closed(session, [(discount_id, member_id, ended) for _id, ended in rows])
    return sorted(r[0] for r in rows)


def revoke_of_order(session: Session, order_id: str, at: datetime, reason: str) -> list[tuple]:
    """Revoke at ``at`` every grant tied to the order not revoked yet: (id, discount id,
    member id)."""
    rows = query(
        session,
        "UPDATE discount_grant SET revoked_at = {p}, revoke_reason = {p} "
        "WHERE order_id = {p} AND revoked_at IS NULL "
        "RETURNING id, discount_id, member_id, ended_at",
        (stamp(session, at), reason, order_id),
    )
    _closed(session, [(d, m, ended) for _id, d, m, ended in rows])
    return sorted(r[:3] for r in rows)


def _closed(session: Session, rows: list[tuple]) -> None:
    """Grants revoked or ended now ((discount id, member id, ended_at before)): those
    still open leave the kept figures."""
    move_figures(session, [(d, m, -1, 0) for d, m, ended in rows if ended is None])


# --- subscriptions -----------------------------------------------------------------------


def subscriptions(session: Session, ids: Iterable[str]) -> dict[str, DiscountSubscription]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    found = session.execute(
        select(DiscountSubscription).where(DiscountSubscription.subscription_id.in_(ids))
    ).scalars()
    return {row.subscription_id: row for row in found}


def subscription_members(session: Session, ids: Iterable[str]) -> set[int]:
    """The members of these subscriptions (to lock them with a chunk's others)."""
    return {
        member_id
        for (member_id,) in select_in(
            session,
            "SELECT member_id FROM discount_subscription WHERE subscription_id {in_list}",
            sorted(set(ids)),
        )
    }


def save_subscription(session: Session, row: dict) -> None:
    insert_row(session, "discount_subscription", row)


def update_subscription(session: Session, subscription_id: str, **values) -> None:
    session.execute(
        update(DiscountSubscription)
        .where(DiscountSubscription.subscription_id == subscription_id)
        .values(**values)
    )


def schedule_revoke(session: Session, subscription_id: str, revoke_at: datetime) -> int:
    """The subscription's while_active grants not revoked get their revoke at
    ``revoke_at`` (the renewal date: what the member paid for)."""
    return run(
        session,
        "UPDATE discount_grant SET revoke_at = {p} WHERE subscription_id = {p} "
        "AND duration = 'while_active' AND revoked_at IS NULL",
        (stamp(session, revoke_at), subscription_id),
    )


def clear_scheduled(session: Session, subscription_id: str, at: datetime) -> int:
    """A resume before the scheduled revoke: the revokes still to come are cleared."""
    return run(
        session,
        "UPDATE discount_grant SET revoke_at = NULL WHERE subscription_id = {p} "
        "AND revoked_at IS NULL AND revoke_at > {p}",
        (subscription_id, stamp(session, at)),
    )


def live_subscription_grants(session: Session, subscription_id: str, at: datetime) -> int:
    """How many of the subscription's grants are active at ``at`` (a resume grants again
    only when none is)."""
    row = query(
        session,
        "SELECT COUNT(*) FROM discount_grant g WHERE g.subscription_id = {p} AND " + ACTIVE_AT,
        (subscription_id, *active_at(session, at)),
    )
    return row[0][0]


# --- maintain run -------------------------------------------------------------------------


def revoke_due(session: Session, now: datetime) -> int:
    """Carry out the scheduled revokes due at ``now`` (at their scheduled time)."""
    rows = query(
        session,
        "UPDATE discount_grant SET revoked_at = revoke_at, "
        "revoke_reason = 'subscription cancelled: paid period over' "
        "WHERE revoked_at IS NULL AND revoke_at <= {p} RETURNING discount_id, member_id, ended_at",
        (stamp(session, now),),
    )
    _closed(session, rows)
    return len(rows)


def end_due(session: Session, now: datetime) -> int:
    """Mark the grants past their end at ``now`` ended (once each)."""
    rows = query(
        session,
        "UPDATE discount_grant SET ended_at = until "
        "WHERE ended_at IS NULL AND revoked_at IS NULL AND until <= {p} "
        "RETURNING discount_id, member_id",
        (stamp(session, now),),
    )
    _closed(session, [(d, m, None) for d, m in rows])
    return len(rows)


# --- kept figures -------------------------------------------------------------------------


def move_figures(session: Session, moves: list[tuple[int, int, int, int]]) -> None:
    """Keep discount_member and discount_summary with ``moves`` ((discount id, member id,
    open grants added, uses added) each), pairs and discounts in order (concurrent
    writers take the rows in one order)."""
    pairs: dict[tuple[int, int], list[int]] = {}
    for discount_id, member_id, grants, uses in moves:
        pair = pairs.setdefault((discount_id, member_id), [0, 0])
        pair[0] += grants
        pair[1] += uses
    summary: dict[int, list[int]] = {}
    for (discount_id, member_id), (grants, uses) in sorted(pairs.items()):
        if not grants and not uses:
            continue
        found = query(
            session,
            "UPDATE discount_member SET grants = grants + {p}, uses = uses + {p} "
            "WHERE discount_id = {p} AND member_id = {p} RETURNING grants, uses",
            (grants, uses, discount_id, member_id),
        )
        if found:
            new_grants, new_uses = found[0]
        else:  # the pair's first (a concurrent first one is a retried transaction)
            insert_row(
                session,
                "discount_member",
                {
                    "discount_id": discount_id,
                    "member_id": member_id,
                    "grants": grants,
                    "uses": uses,
                },
            )
            new_grants, new_uses = grants, uses
        moved = summary.setdefault(discount_id, [0, 0, 0, 0])
        moved[0] += grants
        moved[1] += (new_grants > 0) - (new_grants - grants > 0)
        moved[2] += uses
        moved[3] += (new_uses > 0) - (new_uses - uses > 0)
    for discount_id, (grants, members, uses, users) in sorted(summary.items()):
        changed = run(
            session,
            "UPDATE discount_summary SET grants = grants + {p}, members = members + {p}, "
            "uses = uses + {p}, users = users + {p} WHERE discount_id = {p}",
            (grants, members, uses, users, discount_id),
        )
        if not changed:
            insert_row(
                session,
                "discount_summary",
                {
                    "discount_id": discount_id,
                    "grants": grants,
                    "members": members,
                    "uses": uses,
                    "users": users,
                },
            )


def figures_now(session: Session, now: datetime) -> dict[int, tuple[int, int, int, int]]:
    """discount id -> (grants active at ``now``, members holding it, uses, members who used
    it): the kept figures, less the open grants not active at ``now`` (an end or a
    scheduled revoke fell due since `maintain run` recorded it, or one starting later)."""
    found = {
        row[0]: list(row[1:])
        for row in query(
            session, "SELECT discount_id, grants, members, uses, users FROM discount_summary"
        )
    }
    value = stamp(session, now)
    due = query(
        session,
        "SELECT g.discount_id, g.member_id, COUNT(*), MIN(h.grants) FROM discount_grant g "
        "JOIN discount_member h ON h.discount_id = g.discount_id AND h.member_id = g.member_id "
        "WHERE g.revoked_at IS NULL AND g.ended_at IS NULL "
        # each branch a range of its own index (the partial ones hold only open grants)
        "AND g.id IN (SELECT id FROM discount_grant WHERE ended_at IS NULL "
        "AND revoked_at IS NULL AND until <= {p} "
        "UNION SELECT id FROM discount_grant WHERE revoked_at IS NULL AND revoke_at <= {p} "
        "UNION SELECT id FROM discount_grant WHERE since > {p}) "
        "GROUP BY g.discount_id, g.member_id",
        (value, value, value),
    )
    for discount_id, _member_id, count, held in due:
        figures = found.setdefault(discount_id, [0, 0, 0, 0])
        figures[0] -= count
        if count >= held:
            figures[1] -= 1
    return {k: tuple(v) for k, v in found.items()}


# --- uses ---------------------------------------------------------------------------------


def discount_ids(session: Session, slugs: Iterable[str]) -> dict[str, int]:
    return {
        slug: discount_id
        for slug, discount_id in select_in(
            session, "SELECT slug, id FROM discount WHERE slug {in_list}", sorted(set(slugs))
        )
    }


def record_use(session: Session, row: dict) -> None:
    insert_row(session, "discount_use", row)
    move_figures(session, [(row["discount_id"], row["member_id"], 0, 1)])


def active_counts(session: Session, now: datetime) -> dict[int, tuple[int, int]]:
    """discount id -> (grants active at ``now``, members holding it through them)."""
    return {k: (v[0], v[1]) for k, v in figures_now(session, now).items()}


# --- statistics ---------------------------------------------------------------------------


def use_figures(
    session: Session, discount_ids: list[int] | None, since_day: str | None
) -> dict[int, tuple[int, int]]:
    """discount id -> (uses, members who used it), from ``since_day`` on."""
    where, params = [], []
    if since_day is not None:
        where.append("day >= {p}")
        params.append(since_day)
    if discount_ids is not None:
        where.append("discount_id IN (" + ",".join("{p}" for _ in discount_ids) + ")")
        params += discount_ids
    rows = query(
        session,
        "SELECT discount_id, COUNT(*), COUNT(DISTINCT member_id) FROM discount_use"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " GROUP BY discount_id",
        params,
    )
    return {discount_id: (uses, members) for discount_id, uses, members in rows}


def use_days(
    session: Session, discount_ids: list[int] | None, since_day: str | None
) -> list[tuple[str, int]]:
    """(day, uses) over the discounts, days in the program time zone, oldest first."""
    where, params = [], []
    if since_day is not None:
        where.append("day >= {p}")
        params.append(since_day)
    if discount_ids is not None:
        where.append("discount_id IN (" + ",".join("{p}" for _ in discount_ids) + ")")
        params += discount_ids
    return [
        (day, int(n))
        for day, n in query(
            session,
            "SELECT day, COUNT(*) FROM discount_use"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY day ORDER BY day",
            params,
        )
    ]
