"""Perks and claims in the database as a claim reads and writes them: look-ups and the
conditional writes that hold limits, through the driver alone (`perk claim` runs on a
`driver.RawSession`, without SQLAlchemy; what reads and writes perks and claims as table
rows is `store.perk_rows`).

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
from typing import TYPE_CHECKING

from loyaltyctl.domain.errors import UnknownClaim, UnknownPerk
from loyaltyctl.domain.suggest import closest
from loyaltyctl.store.driver import (
    backend,
    bulk_insert,
    fetch_one,
    insert_row,
    query,
    run,
    select_in,
    stamp,
    stamp_reader,
)

if TYPE_CHECKING:  # the driver's alone: `perk claim` runs it without SQLAlchemy
    from sqlmodel import Session


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
    return _perk_row(session, row)


def _perk_row(session: Session, row: tuple) -> PerkRow:
    values = list(row)
    read = stamp_reader(session)
    for i in _BOOLS:
        values[i] = bool(values[i])
    for i in _STAMPS:
        if values[i] is not None:
            values[i] = read(values[i]) if read is not None else values[i].astimezone(UTC)
    return PerkRow(*values)


def perk_by_id(session: Session, perk_id: int) -> PerkRow:
    row = fetch_one(session, f"SELECT {PERK_COLUMNS} FROM perk WHERE id = {{p}}", (perk_id,))
    return _perk_row(session, row)


# --- the limits -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimCount:
    """What one claim adds to its perk's statistics counters and to the day's count."""

    points: int
    at: datetime
    day: str  # the program time zone's day of ``at``
    member_joined: int  # 1 when it is the member's first active claim of the perk


# the statistics counters, +1 claim: set by the UPDATE that takes the supply unit, in the
# counter (perk row or bucket) it is taken from
_COUNT = (
    "members = members + {p}, points_spent = points_spent + {p}, "
    "last_claim_at = CASE WHEN last_claim_at IS NULL OR last_claim_at < {p} "
    "THEN {p} ELSE last_claim_at END"
)
_CLAIM_DAY = (
    "INSERT INTO claim_day (perk_id, day, bucket, claims) VALUES ({p}, {p}, {p}, 1) "
    "ON CONFLICT (perk_id, day, bucket) DO UPDATE SET claims = claim_day.claims + 1"
)


def take_supply(session: Session, perk_id: int, buckets: int, count: ClaimCount) -> int | None:
    """Count one claim against the supply: the counter it was counted in (0: the perk's
    own, 1.. a bucket), or None when none is left (or the perk is disabled).

    The claim's statistics go into that counter in the same UPDATE (its row is locked
    from here to the commit: one statement less while it is held), then the day's count
    into that counter's row of claim_day. Through the driver: every claim's path."""
    moment = stamp(session, count.at)
    counts = (count.member_joined, count.points, moment, moment)
    if buckets > 1:
        bucket = _take_bucket(session, perk_id, buckets, counts)
    else:
        sql = (
            f"UPDATE perk SET claimed = claimed + 1, {_COUNT} WHERE id = {{p}} AND active "
            "AND (max_supply IS NULL OR claimed < max_supply)"
        )
        bucket = 0 if run(session, sql, (*counts, perk_id)) == 1 else None
    if bucket is not None:
        run(session, _CLAIM_DAY, (perk_id, count.day, bucket))
    return bucket


# a bucket with room, from a random start so claimers spread over the buckets; the perk
# row is read, not locked (a `perk disable` that commits first is seen)
_BUCKET_WITH_ROOM = (
    "SELECT bucket FROM perk_bucket WHERE perk_id = {p} "
    "AND (capacity IS NULL OR claimed < capacity) "
    "AND EXISTS (SELECT 1 FROM perk WHERE id = {p} AND active) "
    "ORDER BY CASE WHEN bucket > {p} THEN bucket ELSE bucket + {p} END LIMIT 1"
)


_TAKE = (
    f"UPDATE perk_bucket SET claimed = claimed + 1, {_COUNT} WHERE perk_id = {{p}} "
    "AND bucket = {p} AND (capacity IS NULL OR claimed < capacity) RETURNING bucket"
)


def _take_bucket(session: Session, perk_id: int, buckets: int, counts: tuple) -> int | None:
    """PostgreSQL: a bucket with room that no one holds (SKIP LOCKED, from a random
    start). When every bucket with room is held, wait for one of them (FOR UPDATE of that
    one row, re-checked when its holder ends: a waiter holds no other bucket, so no
    cycle of waits), and look again if it filled meanwhile; the perk is sold out only
    when no bucket has room in what is committed. SQLite: the first bucket with room."""
    start = random.randrange(buckets)
    params = (perk_id, perk_id, start, buckets)
    if backend(session) == "sqlite":  # the write lock is held since BEGIN IMMEDIATE
        row = fetch_one(session, _BUCKET_WITH_ROOM, params)
        return None if row is None else int(query(session, _TAKE, (*counts, perk_id, row[0]))[0][0])
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
        taken = query(session, _TAKE, (*counts, perk_id, row[0]))
        if taken:
            return int(taken[0][0])


def member_claims(session: Session, perk_id: int, member_id: int) -> int:
    """The member's active claims of the perk."""
    row = fetch_one(
        session,
        "SELECT claims FROM perk_member WHERE perk_id = {p} AND member_id = {p}",
        (perk_id, member_id),
    )
    return (row[0] if row else None) or 0


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


# --- the buckets' figures ---------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """A perk's counters: its own, or its buckets' sums."""

    claimed: int
    members: int
    points_spent: int
    last_claim_at: datetime | None


_TOTALS = (
    "SELECT perk_id, SUM(claimed), SUM(members), SUM(points_spent), MAX(last_claim_at) "
    "FROM perk_bucket"
)


def totals(session: Session, perk_ids: list[int] | None = None) -> dict[int, Counted]:
    """The bucketed perks' figures (the sums of their buckets), by perk id."""
    if perk_ids is None:
        rows = query(session, _TOTALS + " GROUP BY perk_id")
    else:
        rows = select_in(session, _TOTALS + " WHERE perk_id {in_list} GROUP BY perk_id", perk_ids)
    read = stamp_reader(session)
    return {
        perk_id: Counted(int(c), int(m), int(p), _moment(read, last))
        for perk_id, c, m, p, last in rows
    }


def _moment(read, value) -> datetime | None:
    if value is None:
        return None
    return read(value) if read is not None else value.astimezone(UTC)


def counted(session: Session, row) -> Counted:
    """One perk's figures, wherever they are kept (``row``: a `Perk` or a `PerkRow`)."""
    if row.supply_buckets > 1:
        found = totals(session, [row.id]).get(row.id)
        if found is not None:
            return found
    return Counted(row.claimed, row.members, row.points_spent, row.last_claim_at)


# --- claims ---------------------------------------------------------------------------


def code_taken(session: Session, perk_id: int, code_hash: str) -> bool:
    sql = "SELECT 1 FROM claim WHERE perk_id = {p} AND code_hash = {p}"
    return fetch_one(session, sql, (perk_id, code_hash)) is not None


def insert_claim(session: Session, values: dict, lots: dict[int, int]) -> None:
    insert_row(session, "claim", values)
    if lots:
        bulk_insert(
            session,
            "claim_lot",
            ("claim_id", "lot_id", "points"),
            [{"claim_id": values["id"], "lot_id": k, "points": v} for k, v in lots.items()],
        )


# a claim as its readers take it, through the driver (the attributes of a `Claim` row)
CLAIM_COLUMNS = (
    "id, perk_id, member_id, at, points, status, operator, idem_key, request_hash, "
    "redemption_enc, code_hash, entry_id, certificate_id, certificate, cancelled_at, "
    "cancelled_by, cancel_reason, refund_entry_id, redemption_id, day"
)
ClaimRow = namedtuple("ClaimRow", CLAIM_COLUMNS.replace(",", " "))


def require_claim(session: Session, claim_id: str) -> ClaimRow:
    row = fetch_one(
        session,
        f"SELECT {CLAIM_COLUMNS} FROM claim WHERE id = {{p}}",
        (claim_id.strip().upper(),),
    )
    if row is None:
        raise UnknownClaim(f"There is no claim {claim_id!r}.")
    read = stamp_reader(session)
    return ClaimRow(*row)._replace(at=_moment(read, row[3]), cancelled_at=_moment(read, row[14]))


def perk_of_claim(session: Session, claim) -> PerkRow:
    return perk_by_id(session, claim.perk_id)


def member_external_id(session: Session, member_id: int) -> str:
    return fetch_one(session, "SELECT external_id FROM member WHERE id = {p}", (member_id,))[0]
