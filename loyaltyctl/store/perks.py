"""Perks and claims in the database: look-ups and the conditional writes that hold limits.

Supply and the per-member limit are each taken by one conditional statement that
the database evaluates against what it holds, so concurrent claimers cannot
oversell whatever their timing: `UPDATE perk SET claimed = claimed + 1 WHERE
claimed < max_supply` and an upsert of `perk_member` that only counts up while
below the limit. On PostgreSQL the first one also locks the perk row until
commit, which serialises the claims of one perk (and nothing else).

A perk whose supply is split into buckets (`perk.supply_buckets` > 1, for a flash sale)
keeps `claimed` and its statistics counters in `perk_bucket` rows instead: a claim takes
a bucket with room that no other transaction holds (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite has one writer at a time anyway), so concurrent claimers of one perk
update different rows, and each bucket's CHECK (claimed <= capacity) with capacities
adding up to max_supply keeps the total within the supply. Its figures are the sums
(`totals`).
"""

from __future__ import annotations

import random
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlmodel import Session

from loyaltyctl.domain.errors import UnknownClaim, UnknownPerk
from loyaltyctl.domain.perks import shares
from loyaltyctl.domain.suggest import closest
from loyaltyctl.store.driver import (
    backend,
    fetch_one,
    insert_row,
    query,
    run,
    stamp,
    stamp_reader,
)
from loyaltyctl.store.tables import Claim, ClaimLot, Member, Perk, PerkBucket, PerkMember


def get(session: Session, slug: str) -> Perk | None:
    return session.execute(select(Perk).where(Perk.slug == slug)).scalar_one_or_none()


def require(session: Session, slug: str) -> Perk:
    row = get(session, slug)
    if row is None:
        raise UnknownPerk(
            f"There is no perk {slug!r}.",
            perk=slug,
            candidates=close_matches(session, Perk.slug, slug),
        )
    return row


# a perk as a claim reads it, through the driver (no ORM object: a claim is a hot path)
PERK_COLUMNS = (
    "id, slug, name, price, category, description, active, media, media_type, media_size, "
    "max_supply, claimed, supply_buckets, max_per_member, valid_from, valid_until, audience, "
    "redemption_type, value_enc, instructions, single_use, iframe, checkout_url, webhook_url, "
    "webhook_secret_enc, coupon, tier_prices, created_at, updated_at, members, points_spent, "
    "last_claim_at"
)
PerkRow = namedtuple("PerkRow", PERK_COLUMNS.replace(",", " "))  # the `Perk` attributes
_BOOLS = tuple(PerkRow._fields.index(c) for c in ("active", "single_use", "iframe"))
_STAMPS = tuple(
    PerkRow._fields.index(c)
    for c in ("valid_from", "valid_until", "created_at", "updated_at", "last_claim_at")
)


def claimable(session: Session, slug: str) -> PerkRow:
    """The perk of ``slug`` as it stands in this transaction, read through the driver
    (the attributes of a `Perk` row); UnknownPerk with close matches when none is."""
    row = fetch_one(session, f"SELECT {PERK_COLUMNS} FROM perk WHERE slug = {{p}}", (slug,))
    if row is None:
        raise UnknownPerk(
            f"There is no perk {slug!r}.",
            perk=slug,
            candidates=closest(slug, [r[0] for r in query(session, "SELECT slug FROM perk")]),
        )
    values = list(row)
    read = stamp_reader(session)
    for i in _BOOLS:
        values[i] = bool(values[i])
    for i in _STAMPS:
        if values[i] is not None:
            values[i] = read(values[i]) if read is not None else values[i].astimezone(UTC)
    return PerkRow(*values)


def close_matches(session: Session, column, value: str) -> list[str]:
    """The existing values of ``column`` closest to a mistyped one, best first (at most
    three; domain.suggest ranks them). Slugs are few: all of them are compared."""
    return closest(value, session.execute(select(column)).scalars().all())


def by_slugs(session: Session, slugs: list[str]) -> dict[str, Perk]:
    found: dict[str, Perk] = {}
    for start in range(0, len(slugs), 900):
        chunk = slugs[start : start + 900]
        for row in session.execute(select(Perk).where(Perk.slug.in_(chunk))).scalars():
            found[row.slug] = row
    return found


def listing(session: Session, *, include_inactive: bool) -> list[Perk]:
    stmt = select(Perk).order_by(Perk.category, Perk.price, Perk.slug)
    if not include_inactive:
        stmt = stmt.where(Perk.active.is_(True))
    return list(session.execute(stmt).scalars())


def all_slugs(session: Session) -> list[str]:
    return list(session.execute(select(Perk.slug).order_by(Perk.slug)).scalars())


def active_slugs(session: Session) -> list[str]:
    return list(
        session.execute(
            select(Perk.slug).where(Perk.active.is_(True)).order_by(Perk.slug)
        ).scalars()
    )


def set_active(session: Session, perk_id: int, active: bool, now: datetime) -> bool:
    """Toggle; returns False when it already was so."""
    changed = session.execute(
        update(Perk)
        .where(Perk.id == perk_id, Perk.active.is_not(active))
        .values(active=active, updated_at=now)
    ).rowcount
    return changed == 1


def insert_perk(session: Session, values: dict) -> int:
    return session.execute(insert(Perk).values(**values).returning(Perk.id)).scalar_one()


def update_perk(session: Session, perk_id: int, values: dict) -> None:
    session.execute(update(Perk).where(Perk.id == perk_id).values(**values))


# --- the limits -----------------------------------------------------------------------


def take_supply(session: Session, perk_id: int, buckets: int = 1) -> int | None:
    """Count one claim against the supply: the counter it was counted in (0: the perk's
    own, 1.. a bucket), or None when none is left (or the perk is disabled).

    Through the driver: it is on every claim's path (see driver.insert_row)."""
    if buckets > 1:
        return _take_bucket(session, perk_id, buckets)
    sql = (
        "UPDATE perk SET claimed = claimed + 1 WHERE id = {p} AND active "
        "AND (max_supply IS NULL OR claimed < max_supply)"
    )
    return 0 if run(session, sql, (perk_id,)) == 1 else None


# a bucket with room, from a random start so claimers spread over the buckets; the perk
# row is read, not locked (a `perk disable` that commits first is seen)
_BUCKET_WITH_ROOM = (
    "SELECT bucket FROM perk_bucket WHERE perk_id = {p} "
    "AND (capacity IS NULL OR claimed < capacity) "
    "AND EXISTS (SELECT 1 FROM perk WHERE id = {p} AND active) "
    "ORDER BY CASE WHEN bucket > {p} THEN bucket ELSE bucket + {p} END LIMIT 1"
)


_TAKE = (
    "UPDATE perk_bucket SET claimed = claimed + 1 WHERE perk_id = {p} AND bucket = {p} "
    "AND (capacity IS NULL OR claimed < capacity) RETURNING bucket"
)


def _take_bucket(session: Session, perk_id: int, buckets: int) -> int | None:
    """PostgreSQL: a bucket with room that no one holds (SKIP LOCKED, from a random
    start). When every bucket with room is held, wait for one of them (FOR UPDATE of that
    one row, re-checked when its holder ends: a waiter holds no other bucket, so no
    cycle of waits), and look again if it filled meanwhile; the perk is sold out only
    when no bucket has room in what is committed. SQLite: the first bucket with room."""
    start = random.randrange(buckets)
    params = (perk_id, perk_id, start, buckets)
    if backend(session) == "sqlite":  # the write lock is held since BEGIN IMMEDIATE
        row = fetch_one(session, _BUCKET_WITH_ROOM, params)
        return None if row is None else int(query(session, _TAKE, (perk_id, row[0]))[0][0])
    while True:
        row = fetch_one(session, _BUCKET_WITH_ROOM + " FOR UPDATE SKIP LOCKED", params)
        if row is None:  # every bucket with room is held by another claim, or none has room
            row = fetch_one(session, _BUCKET_WITH_ROOM, params)
            if row is None:
                return None
            held = fetch_one(
                session,
                "SELECT bucket FROM perk_bucket WHERE perk_id = {p} AND bucket = {p} FOR UPDATE",
                (perk_id, row[0]),
            )
            if held is None:
                continue
        taken = query(session, _TAKE, (perk_id, row[0]))
        if taken:
            return int(taken[0][0])


def give_back_supply(session: Session, perk_id: int, buckets: int = 1) -> int:
    """A cancelled claim's unit back: the counter it went back to (buckets are
    interchangeable: the fullest one takes it)."""
    if buckets <= 1:
        session.execute(
            update(Perk)
            .where(Perk.id == perk_id, Perk.claimed > 0)
            .values(claimed=Perk.claimed - 1)
        )
        return 0
    row = fetch_one(
        session,
        "UPDATE perk_bucket SET claimed = claimed - 1 WHERE perk_id = {p} AND bucket = "
        "(SELECT bucket FROM perk_bucket WHERE perk_id = {p} AND claimed > 0 "
        "ORDER BY claimed DESC, bucket LIMIT 1) RETURNING bucket",
        (perk_id, perk_id),
    )
    return int(row[0]) if row else 1


def member_claims(session: Session, perk_id: int, member_id: int) -> int:
    return (
        session.execute(
            select(PerkMember.claims).where(
                PerkMember.perk_id == perk_id, PerkMember.member_id == member_id
            )
        ).scalar_one_or_none()
        or 0
    )


def claims_by_member(session: Session, member_id: int) -> dict[int, int]:
    """perk id -> the member's active claims of it."""
    rows = session.execute(
        select(PerkMember.perk_id, PerkMember.claims).where(PerkMember.member_id == member_id)
    )
    return {perk_id: claims for perk_id, claims in rows}


def take_member_allowance(session: Session, perk_id: int, member_id: int, limit: int | None) -> int:
    """Count one claim for this member: their active claims of the perk now, or 0 when
    they reached the limit.

    One upsert that only counts up while below the limit (SQLite ≥ 3.35 and
    PostgreSQL both take ON CONFLICT ... DO UPDATE ... WHERE ... RETURNING).
    """
    # through the driver: a claim is a hot path (SQLAlchemy's statement ~1 ms, this ~0.05)
    bound = "" if limit is None else " WHERE perk_member.claims < {p}"
    row = fetch_one(
        session,
        "INSERT INTO perk_member (perk_id, member_id, claims) VALUES ({p}, {p}, 1) "
        "ON CONFLICT (perk_id, member_id) DO UPDATE SET claims = perk_member.claims + 1"
        + bound
        + " RETURNING claims",
        (perk_id, member_id) + (() if limit is None else (limit,)),
    )
    return (row[0] if row else None) or 0


def give_back_allowance(session: Session, perk_id: int, member_id: int) -> int:
    """One claim less for this member; returns their active claims of the perk now."""
    held = session.execute(
        update(PerkMember)
        .where(
            PerkMember.perk_id == perk_id,
            PerkMember.member_id == member_id,
            PerkMember.claims > 0,
        )
        .values(claims=PerkMember.claims - 1)
        .returning(PerkMember.claims)
    ).scalar_one_or_none()
    return held or 0


def count_claim(
    session: Session,
    perk_id: int,
    *,
    points: int,
    at: datetime,
    day: str,
    member_joined: int,
    bucket: int = 0,
) -> None:
    """The perk's statistics counters, +1 claim, in the counter the supply was taken from
    (`take_supply`: the perk row or a bucket, locked already, so this adds no waiting);
    the day's count in that bucket's row of claim_day. Through the driver: a hot path."""
    moment = stamp(session, at)
    target, where = (
        ("perk", "id = {p}") if bucket == 0 else ("perk_bucket", "perk_id = {p} AND bucket = {p}")
    )
    keys = (perk_id,) if bucket == 0 else (perk_id, bucket)
    run(
        session,
        f"UPDATE {target} SET members = members + {{p}}, points_spent = points_spent + {{p}}, "
        "last_claim_at = CASE WHEN last_claim_at IS NULL OR last_claim_at < {p} "
        f"THEN {{p}} ELSE last_claim_at END WHERE {where}",
        (member_joined, points, moment, moment, *keys),
    )
    run(
        session,
        "INSERT INTO claim_day (perk_id, day, bucket, claims) VALUES ({p}, {p}, {p}, 1) "
        "ON CONFLICT (perk_id, day, bucket) DO UPDATE SET claims = claim_day.claims + 1",
        (perk_id, day, bucket),
    )


def uncount_claim(
    session: Session, perk_id: int, *, points: int, day: str, member_left: int, bucket: int = 0
) -> None:
    """A cancelled claim (already marked) leaves the counters (of the counter its unit
    went back to: `give_back_supply`); the last claim is looked up again among the active
    ones (an index range on claim (perk_id, at), newest first) and no bucket keeps a later
    one."""
    last = "(SELECT MAX(c.at) FROM claim c WHERE c.perk_id = :perk AND c.status = 'active')"
    values = {"left": member_left, "points": points, "perk": perk_id, "bucket": bucket}
    if bucket == 0:
        sql = (
            "UPDATE perk SET members = members - :left, points_spent = points_spent - :points, "
            f"last_claim_at = {last} WHERE id = :perk"
        )
    else:
        sql = (
            "UPDATE perk_bucket SET members = members - :left, "
            "points_spent = points_spent - :points WHERE perk_id = :perk AND bucket = :bucket"
        )
    session.execute(text(sql), values)
    if bucket:
        session.execute(
            text(
                f"UPDATE perk_bucket SET last_claim_at = {last} WHERE perk_id = :perk "
                f"AND (last_claim_at > {last} OR {last} IS NULL)"
            ),
            {"perk": perk_id},
        )
    session.execute(
        text(
            "UPDATE claim_day SET claims = claims - 1 WHERE perk_id = :perk AND day = :day "
            "AND bucket = (SELECT bucket FROM claim_day WHERE perk_id = :perk AND day = :day "
            "AND claims > 0 ORDER BY claims DESC, bucket LIMIT 1)"
        ),
        {"perk": perk_id, "day": day},
    )


# --- the buckets' layout and figures ---------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """A perk's counters: its own, or its buckets' sums."""

    claimed: int
    members: int
    points_spent: int
    last_claim_at: datetime | None


def totals(session: Session, perk_ids: list[int] | None = None) -> dict[int, Counted]:
    """The bucketed perks' figures (the sums of their buckets), by perk id."""
    stmt = select(
        PerkBucket.perk_id,
        func.sum(PerkBucket.claimed),
        func.sum(PerkBucket.members),
        func.sum(PerkBucket.points_spent),
        func.max(PerkBucket.last_claim_at),
    ).group_by(PerkBucket.perk_id)
    if perk_ids is not None:
        stmt = stmt.where(PerkBucket.perk_id.in_(perk_ids))
    return {
        perk_id: Counted(int(c), int(m), int(p), last)
        for perk_id, c, m, p, last in session.execute(stmt)
    }


def counted(session: Session, row: Perk) -> Counted:
    """One perk's figures, wherever they are kept."""
    if row.supply_buckets > 1:
        found = totals(session, [row.id]).get(row.id)
        if found is not None:
            return found
    return Counted(row.claimed, row.members, row.points_spent, row.last_claim_at)


def lay_out_buckets(session: Session, perk_id: int) -> None:
    """Make the counters match `perk.supply_buckets` and `max_supply` (after `apply`
    wrote them): n buckets whose capacities are max_supply's shares, holding the claims
    taken so far as shares of their own; or, for one, the perk's own counters. Locks the
    perk row and its buckets (claims of it wait for this transaction)."""
    perk = session.execute(select(Perk).where(Perk.id == perk_id).with_for_update()).scalar_one()
    held = list(
        session.execute(
            select(PerkBucket)
            .where(PerkBucket.perk_id == perk_id)
            .order_by(PerkBucket.bucket)
            .with_for_update()
        ).scalars()
    )
    parts = perk.supply_buckets
    capacities = [None] * parts if perk.max_supply is None else shares(perk.max_supply, parts)
    if parts > 1 and [b.capacity for b in held] == capacities:
        return  # laid out so already
    stamps = [t for t in (perk.last_claim_at, *(b.last_claim_at for b in held)) if t]
    now = Counted(  # what the perk's own counters and its buckets hold between them
        perk.claimed + sum(b.claimed for b in held),
        perk.members + sum(b.members for b in held),
        perk.points_spent + sum(b.points_spent for b in held),
        max(stamps) if stamps else None,
    )
    session.execute(PerkBucket.__table__.delete().where(PerkBucket.perk_id == perk_id))
    if parts <= 1:
        own = {"claimed": now.claimed, "members": now.members, "points_spent": now.points_spent}
        session.execute(
            update(Perk).where(Perk.id == perk_id).values(**own, last_claim_at=now.last_claim_at)
        )
        return
    session.execute(
        update(Perk)
        .where(Perk.id == perk_id)
        .values(claimed=0, members=0, points_spent=0, last_claim_at=None)
    )
    claimed = shares(now.claimed, parts)
    session.execute(
        insert(PerkBucket),
        [
            {
                "perk_id": perk_id,
                "bucket": n + 1,
                "capacity": capacities[n],
                "claimed": claimed[n],
                # the other counters are shares too: the first bucket carries them
                "members": now.members if n == 0 else 0,
                "points_spent": now.points_spent if n == 0 else 0,
                "last_claim_at": now.last_claim_at if n == 0 else None,
            }
            for n in range(parts)
        ],
    )


# --- claims ---------------------------------------------------------------------------


def code_taken(session: Session, perk_id: int, code_hash: str) -> bool:
    return (
        session.execute(
            select(Claim.id).where(Claim.perk_id == perk_id, Claim.code_hash == code_hash)
        ).first()
        is not None
    )


def insert_claim(session: Session, values: dict, lots: dict[int, int]) -> None:
    insert_row(session, "claim", values)
    if lots:
        session.execute(
            insert(ClaimLot),
            [{"claim_id": values["id"], "lot_id": k, "points": v} for k, v in lots.items()],
        )


def claim_lots(session: Session, claim_id: str) -> dict[int, int]:
    rows = session.execute(
        select(ClaimLot.lot_id, ClaimLot.points).where(ClaimLot.claim_id == claim_id)
    )
    return {lot_id: points for lot_id, points in rows}


def require_claim(session: Session, claim_id: str) -> Claim:
    row = session.get(Claim, claim_id.strip().upper())
    if row is None:
        raise UnknownClaim(f"There is no claim {claim_id!r}.")
    return row


def mark_cancelled(
    session: Session, claim_id: str, *, now: datetime, operator: str, reason: str
) -> bool:
    """Active -> cancelled, once: False when it was cancelled already."""
    result = session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.status == "active")
        .values(status="cancelled", cancelled_at=now, cancelled_by=operator, cancel_reason=reason)
    )
    return result.rowcount == 1


def set_refund_entry(session: Session, claim_id: str, entry_id: int) -> None:
    session.execute(update(Claim).where(Claim.id == claim_id).values(refund_entry_id=entry_id))


def claims_of_perk(
    session: Session, perk_id: int, *, since: datetime | None, limit: int | None
) -> list[tuple[Claim, str]]:
    """(claim, member external id), newest first."""
    stmt = (
        select(Claim, Member.external_id)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.perk_id == perk_id)
        .order_by(Claim.at.desc(), Claim.id.desc())
    )
    if since is not None:
        stmt = stmt.where(Claim.at >= since)
    if limit:
        stmt = stmt.limit(limit)
    return [(claim, external_id) for claim, external_id in session.execute(stmt)]


def claims_of_member(session: Session, member_id: int, *, limit: int) -> list[tuple[Claim, str]]:
    """(claim, perk slug), newest first."""
    stmt = (
        select(Claim, Perk.slug)
        .join(Perk, Perk.id == Claim.perk_id)
        .where(Claim.member_id == member_id)
        .order_by(Claim.at.desc(), Claim.id.desc())
        .limit(limit)
    )
    return [(claim, slug) for claim, slug in session.execute(stmt)]


def claim_figures(session: Session, perk_id: int) -> tuple[int, int, int, int]:
    """(active claims, cancelled claims, unique members with an active claim, points spent)."""
    active = Claim.status == "active"
    row = session.execute(
        select(
            func.count().filter(active),
            func.count().filter(Claim.status == "cancelled"),
            func.count(func.distinct(Claim.member_id)).filter(active),
            func.coalesce(func.sum(Claim.points).filter(active), 0),
        ).where(Claim.perk_id == perk_id)
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def perk_of_claim(session: Session, claim: Claim) -> Perk:
    return session.get(Perk, claim.perk_id)


def member_external_id(session: Session, member_id: int) -> str:
    return session.execute(select(Member.external_id).where(Member.id == member_id)).scalar_one()


# --- secrets (for `keys rotate`) ------------------------------------------------------


def perk_secrets(session: Session) -> list[tuple[int, str, str | None, str | None]]:
    """(id, slug, value_enc, webhook_secret_enc) of every perk holding a secret."""
    rows = session.execute(
        select(Perk.id, Perk.slug, Perk.value_enc, Perk.webhook_secret_enc).where(
            or_(Perk.value_enc.is_not(None), Perk.webhook_secret_enc.is_not(None))
        )
    )
    return [tuple(r) for r in rows]


def claim_secrets(session: Session, *, after: str, size: int) -> list[tuple[str, str]]:
    """(id, redemption_enc) of claims holding a secret, in id order, a page at a time."""
    rows = session.execute(
        select(Claim.id, Claim.redemption_enc)
        .where(Claim.redemption_enc.is_not(None), Claim.id > after)
        .order_by(Claim.id)
        .limit(size)
    )
    return [tuple(r) for r in rows]


def set_claim_secrets(session: Session, values: list[tuple[str, str]]) -> None:
    if values:
        table = Claim.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("claim_id"))
            .values(redemption_enc=bindparam("secret")),
            [{"claim_id": i, "secret": s} for i, s in values],
        )
