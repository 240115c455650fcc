"""Earning rules, tiers and what earning keeps per member, in the database.

Limits hold by the conditional upserts of `earning_counter` (they only count up while
below the limit), made under the member's row lock like every ledger change. The
queries that read per member take lists of member ids (a chunk of events at a time).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlmodel import Session

from loyaltyctl.domain.errors import NotFound
from loyaltyctl.store.db import ConcurrentChange
from loyaltyctl.store.driver import run_many, select_in, stamp_reader, stamper
from loyaltyctl.store.ledger import (
    MemberState,
    lock_members_with,
    state_change,
    write_member_changes,
)
from loyaltyctl.store.perk_rows import close_matches
from loyaltyctl.store.tables import EarningCounter, EarningRule, Member, PointLot, Tier

EARN_KINDS = ("earn", "reverse")  # the ledger kinds of earned points (and reversals)
NO_LIMIT = 2**62  # the bound of a counter that has none (keeps the statement's types fixed)


# --- rules and tiers ------------------------------------------------------------------------


def rules(session: Session, *, include_inactive: bool = False) -> list[EarningRule]:
    stmt = select(EarningRule).order_by(EarningRule.kind, EarningRule.slug)
    if not include_inactive:
        stmt = stmt.where(EarningRule.active.is_(True))
    return list(session.execute(stmt).scalars())


def tiers(session: Session, *, include_inactive: bool = False) -> list[Tier]:
    stmt = select(Tier).order_by(Tier.threshold.desc(), Tier.slug)
    if not include_inactive:
        stmt = stmt.where(Tier.active.is_(True))
    return list(session.execute(stmt).scalars())


def require(session: Session, table, slug: str):
    """The rule or tier of this slug; NotFound (with close slugs) when there is none."""
    row = session.execute(select(table).where(table.slug == slug)).scalar_one_or_none()
    if row is None:
        noun = "earning rule" if table is EarningRule else "tier"
        raise NotFound(
            f"There is no {noun} {slug!r}.",
            slug=slug,
            candidates=close_matches(session, table.slug, slug),
        )
    return row


def by_slugs(session: Session, table, slugs: list[str]) -> dict[str, object]:
    found = {}
    for start in range(0, len(slugs), 900):
        chunk = slugs[start : start + 900]
        for row in session.execute(select(table).where(table.slug.in_(chunk))).scalars():
            found[row.slug] = row
    return found


def insert_one(session: Session, table, values: dict) -> int:
    return session.execute(insert(table).values(**values).returning(table.id)).scalar_one()


def update_one(session: Session, table, row_id: int, values: dict) -> None:
    session.execute(update(table).where(table.id == row_id).values(**values))


def disable(session: Session, table, slug: str, now: datetime) -> None:
    session.execute(update(table).where(table.slug == slug).values(active=False, updated_at=now))


def active_slugs(session: Session, table) -> list[str]:
    return list(
        session.execute(
            select(table.slug).where(table.active.is_(True)).order_by(table.slug)
        ).scalars()
    )


def review_all_tiers(session: Session, now: datetime) -> int:
    """The tiers changed: every member whose tier is computed is looked at again by the
    next `maintain run`. Returns how many."""
    return session.execute(
        update(Member).where(Member.tier_manual.is_(False)).values(tier_review_at=now)
    ).rowcount


# --- counters -------------------------------------------------------------------------------


def counters(
    session: Session, keys: Iterable[tuple[int, int, str]]
) -> dict[tuple[int, int, str], list[int]]:
    """(rule id, member id, scope) -> [uses, points] of these counters (absent: none yet)."""
    wanted = set(keys)
    members = sorted({k[1] for k in wanted})
    rule_ids = sorted({k[0] for k in wanted})
    found: dict[tuple[int, int, str], list[int]] = {}
    for start in range(0, len(members), 900):
        rows = session.execute(
            select(
                EarningCounter.rule_id,
                EarningCounter.member_id,
                EarningCounter.scope,
                EarningCounter.uses,
                EarningCounter.points,
            ).where(
                EarningCounter.member_id.in_(members[start : start + 900]),
                EarningCounter.rule_id.in_(rule_ids),
            )
        )
        for rule_id, member_id, scope, uses, points in rows:
            key = (rule_id, member_id, scope)
            if key in wanted:
                found[key] = [uses, points]
    return found


COUNTER_SQL = (
    "INSERT INTO earning_counter (rule_id, member_id, scope, uses, points) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (rule_id, member_id, scope) DO UPDATE "
    "SET uses = earning_counter.uses + excluded.uses, "
    "points = earning_counter.points + excluded.points "
    "WHERE earning_counter.uses + excluded.uses <= {p} "
    "AND earning_counter.points + excluded.points <= {p}"
)


def save_counters(
    session: Session, changes: list[tuple[int, int, str, int, int, int, int]]
) -> None:
    """Add (rule id, member id, scope, uses, points, most uses, most points) to the
    counters: each one upsert that the database refuses beyond the bounds (the members
    are locked, so a refusal means a writer that did not lock them: the transaction is
    retried)."""
    if not changes:
        return
    params = [
        (rule_id, member_id, scope, uses, points, most_uses, most_points)
        for rule_id, member_id, scope, uses, points, most_uses, most_points in sorted(changes)
    ]
    if run_many(session, COUNTER_SQL, params) != len(params):
        raise ConcurrentChange("an earning limit was reached by a concurrent writer")


# --- what earning reads per member -----------------------------------------------------------


def earned_history(session: Session, member_ids: list[int]) -> dict[int, list[tuple]]:
    """member id -> its earned points and their reversals, in chain order:
    (kind, at, points, rule, order id), points = amount + pending_amount.

    Through the driver (an ingest reads this for every chunk of events)."""
    found: dict[int, list[tuple]] = {m: [] for m in member_ids}
    kinds = f"kind IN ({', '.join(repr(k) for k in EARN_KINDS)})"
    sql = (
        "SELECT member_id, kind, at, amount + pending_amount, rule, order_id FROM ledger_entry "
        f"WHERE member_id {{in_list}} AND {kinds} ORDER BY member_id, seq"
    )
    moment = stamp_reader(session)
    for member_id, kind, at, points, rule, order_id in select_in(session, sql, sorted(member_ids)):
        if moment is not None:
            at = moment(at)
        found[member_id].append((kind, at, int(points), rule, order_id))
    return found


def lock_for_earning(session: Session, member_ids: list[int]):
    """Lock the members (store.ledger.lock_members) and read, in the same statement,
    (states, member id -> (tier, tier_manual, tier_review_at, plan, earned))."""
    states, extras = lock_members_with(
        session, member_ids, ("tier", "tier_manual", "tier_review_at", "plan", "earned")
    )
    moment = stamp_reader(session)
    if moment is not None:  # the driver's text and integers, as the ORM would give them
        extras = {
            member_id: (
                tier,
                bool(manual),
                moment(review) if review else None,
                plan,
                earned,
            )
            for member_id, (tier, manual, review, plan, earned) in extras.items()
        }
    return states, extras


SAVE_EARNING_SQL = (
    "UPDATE member SET balance = balance + {v.d_balance}, pending = pending + {v.d_pending}, "
    "ledger_seq = {v.new_seq}, ledger_head = {v.new_head}, "
    "updated_at = CASE WHEN {v.moved} THEN {v.moment} ELSE updated_at END, "
    "earned = earned + {v.d_earned}, "
    "tier = CASE WHEN {v.set_tier} AND NOT tier_manual THEN {v.new_tier} ELSE tier END, "
    "tier_review_at = CASE WHEN {v.set_tier} AND NOT tier_manual THEN {v.new_review_at} "
    "ELSE tier_review_at END {values} "
    "WHERE id = {v.member} AND ledger_seq = {v.base_seq} "
    "AND balance + {v.d_balance} >= 0 AND pending + {v.d_pending} >= 0"
)
SAVE_EARNING_VALUES = (
    ("d_balance", "bigint"),
    ("d_pending", "bigint"),
    ("new_seq", "integer"),
    ("new_head", "text"),
    ("moved", "boolean"),
    ("moment", "timestamptz"),
    ("d_earned", "bigint"),
    ("set_tier", "boolean"),
    ("new_tier", "text"),
    ("new_review_at", "timestamptz"),
    ("member", "bigint"),
    ("base_seq", "integer"),
)


def save_earning_members(
    session: Session,
    states: Iterable[MemberState],
    now: datetime,
    *,
    earned: dict[int, int],
    tiers: dict[int, tuple[str | None, datetime | None]],
) -> None:
    """`store.ledger.save_member_states` for members a transaction earned for, with what
    else it changed of them in the same UPDATE (one new row version a member, one
    statement for them all on PostgreSQL): ``earned`` (member id -> points added to
    `earned`, relative) and ``tiers`` (member id -> (tier, next review), for members
    whose tier is computed: a tier set by hand is kept)."""
    to_driver = stamper(session)
    moment = to_driver(now)
    params, changed = [], []
    for s in states:
        member_id = s.id
        tier = tiers.get(member_id)
        d_earned = earned.get(member_id, 0)
        if not (s.dirty or tier is not None or d_earned):
            continue
        review_at = to_driver(tier[1]) if tier is not None else None
        params.append(
            (
                *state_change(s),
                s.dirty,
                moment,
                d_earned,
                tier is not None,
                tier[0] if tier is not None else None,
                review_at,
                member_id,
                s.base_seq,
            )
        )
        changed.append(s)
    if params:
        write_member_changes(session, SAVE_EARNING_SQL, SAVE_EARNING_VALUES, params, changed)


def due_for_tier_review(session: Session, now: datetime, limit: int) -> list[int]:
    """Members whose computed tier should be looked at again by now."""
    return list(
        session.execute(
            select(Member.id)
            .where(Member.tier_review_at <= now, Member.tier_manual.is_(False))
            .order_by(Member.tier_review_at, Member.id)
            .limit(limit)
        ).scalars()
    )


def lots(session: Session, lot_ids: list[int]) -> dict[int, tuple[int, int, bool]]:
    """lot id -> (member id, remaining, matured)."""
    found: dict[int, tuple[int, int, bool]] = {}
    for start in range(0, len(lot_ids), 900):
        rows = session.execute(
            select(PointLot.id, PointLot.member_id, PointLot.remaining, PointLot.matured).where(
                PointLot.id.in_(lot_ids[start : start + 900])
            )
        )
        for lot_id, member_id, remaining, matured in rows:
            found[lot_id] = (member_id, int(remaining), bool(matured))
    return found


def take_from_pending_lots(session: Session, taken: dict[int, int]) -> None:
    """What reversals took from pending lots (not yet matured), as conditional UPDATEs."""
    if not taken:
        return
    sql = (
        "UPDATE point_lot SET remaining = remaining - {p} "
        "WHERE id = {p} AND remaining >= {p} AND NOT matured"
    )
    params = [(points, lot_id, points) for lot_id, points in sorted(taken.items())]
    if run_many(session, sql, params) != len(params):
        raise ConcurrentChange("a pending lot changed during the transaction")


# --- birthdays ----------------------------------------------------------------------------------


def birthday_candidates(session: Session, month_days: list[str]) -> list[tuple]:
    """(id, external id, birthday, birthday_anchor) of members whose birthday's "MM-DD"
    is one of these (an index look-up)."""
    rows = session.execute(
        select(Member.id, Member.external_id, Member.birthday, Member.birthday_anchor)
        .where(Member.birthday_md.in_(month_days))
        .order_by(Member.id)
    )
    return [tuple(r) for r in rows]


def set_birthday_anchor(session: Session, member_id: int, old: str | None, new: str) -> bool:
    """Move a member's birthday anchor from ``old`` to ``new``: False when it is not
    ``old`` any more (a concurrent award)."""
    condition = Member.birthday_anchor.is_(None) if old is None else Member.birthday_anchor == old
    return (
        session.execute(
            update(Member).where(Member.id == member_id, condition).values(birthday_anchor=new)
        ).rowcount
        == 1
    )


def clear_tier_reviews(session: Session, member_ids: list[int]) -> None:
    """No tiers are defined: nothing to look at for these members."""
    for start in range(0, len(member_ids), 900):
        session.execute(
            update(Member)
            .where(Member.id.in_(member_ids[start : start + 900]))
            .values(tier_review_at=None)
        )
