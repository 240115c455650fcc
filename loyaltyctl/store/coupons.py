"""Coupons: issued by claims of coupon perks, checked and used at a store's checkout.

Codes are found by their keyed hash (`code_hash`, UNIQUE), never decrypted to be found.
A coupon's status moves only by conditional UPDATEs, so a coupon is used at most once
under any number of concurrent writers.

Everything here goes through the driver alone (no SQLAlchemy, no table classes): the
checkout's path (find by hash, mark used) and `quote` run on a `driver.RawSession`. The
coupons read as table rows (a claim's coupon, a member's, the export) are
`store.coupon_rows`.
"""

from __future__ import annotations

import json
import zlib
from collections import namedtuple
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from loyaltyctl.domain.coupon_specs import CouponRecord, CouponTerms, masked
from loyaltyctl.store.driver import (
    backend,
    fetch_one,
    insert_row,
    query,
    run,
    run_many,
    stamp,
    stamp_reader,
)

if TYPE_CHECKING:
    from sqlmodel import Session

ACTIVE, USED, CANCELLED = "active", "used", "cancelled"


SHARDS = 16  # of coupon_summary
# a move of a coupon's status: (active, used, cancelled) added to its shard's counts
ISSUED, USE, GIVE_BACK, CANCEL = (1, 0, 0), (-1, 1, 0), (1, -1, 0), (-1, 0, 1)
_COUNT_SQL = (
    "UPDATE coupon_summary SET active = active + {p}, used = used + {p}, "
    "cancelled = cancelled + {p} WHERE shard = {p}"
)


def shard_of(claim_id: str) -> int:
    """A coupon's shard of coupon_summary (the same in every process: not `hash`)."""
    return zlib.crc32(claim_id.encode()) % SHARDS


def count_moves(session: Session, moves: list[tuple[str, tuple[int, int, int]]]) -> None:
    """Keep coupon_summary with the coupons' moves ((claim id, move) each), shards in
    order (concurrent writers take them in one order)."""
    shards: dict[int, list[int]] = {}
    for claim_id, move in moves:
        counts = shards.setdefault(shard_of(claim_id), [0, 0, 0])
        for i, step in enumerate(move):
            counts[i] += step
    for shard, (active, used, cancelled) in sorted(shards.items()):
        if run(session, _COUNT_SQL, (active, used, cancelled, shard)) == 0:
            # the shard's first coupon (a concurrent first one is a retried transaction)
            insert_row(
                session,
                "coupon_summary",
                {"shard": shard, "active": active, "used": used, "cancelled": cancelled},
            )


CENT = Decimal("0.01")
MONEY_COLUMNS = ("amount", "percent", "min_purchase", "max_shipping")


def insert_coupon(session: Session, row: dict) -> None:
    """A coupon issued by a claim (``row``: the coupon table's columns), counted. Money
    as the table keeps it (`tables.Money`): NUMERIC on PostgreSQL, text on SQLite, in
    whole cents."""
    sqlite = backend(session) == "sqlite"
    values = dict(row)
    for column in MONEY_COLUMNS:
        if values.get(column) is not None:
            cents = Decimal(values[column]).quantize(CENT)
            values[column] = f"{cents:f}" if sqlite else cents
    insert_row(session, "coupon", values)
    count_moves(session, [(row["claim_id"], ISSUED)])


# a claim's coupon as its readers take it (the attributes of a `Coupon` row)
COUPON_COLUMNS = (
    "claim_id, perk_id, member_id, code_hash, code_enc, code_tail, kind, amount, percent, "
    "min_purchase, max_shipping, product, variants, collections, points, issued_at, "
    "expires_at, status, order_id, used_at, updated_at"
)
CouponRow = namedtuple("CouponRow", COUPON_COLUMNS.replace(",", " "))
_COUPON_MONEY = tuple(CouponRow._fields.index(c) for c in MONEY_COLUMNS)
_COUPON_STAMPS = tuple(
    CouponRow._fields.index(c) for c in ("issued_at", "expires_at", "used_at", "updated_at")
)


def coupon_of_claim(session: Session, claim_id: str) -> CouponRow | None:
    row = fetch_one(
        session, f"SELECT {COUPON_COLUMNS} FROM coupon WHERE claim_id = {{p}}", (claim_id,)
    )
    if row is None:
        return None
    values = list(row)
    for i in _COUPON_MONEY:
        values[i] = _money(values[i])
    read = stamp_reader(session)
    for i in _COUPON_STAMPS:
        if values[i] is not None:  # aware UTC, as the table's type gives them
            values[i] = read(values[i]) if read is not None else values[i].astimezone(UTC)
    return CouponRow(*values)


def cancel_coupon(session: Session, claim_id: str, now) -> bool:
    """Cancel an unused coupon (its claim is cancelled); False when it is not active."""
    changed = (
        run(
            session,
            "UPDATE coupon SET status = 'cancelled', updated_at = {p} "
            "WHERE claim_id = {p} AND status = 'active'",
            (stamp(session, now), claim_id),
        )
        == 1
    )
    if changed:
        count_moves(session, [(claim_id, CANCEL)])
    return changed


# --- issuing (claims) ----------------------------------------------------------------


def code_hash_taken(session: Session, code_hash: str) -> bool:
    """Whether a coupon has this code (by its keyed hash): a new draw is made if so."""
    return (
        fetch_one(session, "SELECT 1 FROM coupon WHERE code_hash = {p}", (code_hash,)) is not None
    )


# --- secrets (for `keys rotate`) ------------------------------------------------------


def coupon_secrets(session: Session, *, after: str, size: int) -> list[tuple[str, str]]:
    """(claim id, code_enc) of coupons in claim id order, a page at a time."""
    rows = query(
        session,
        "SELECT claim_id, code_enc FROM coupon WHERE claim_id > {p} ORDER BY claim_id LIMIT {p}",
        (after, size),
    )
    return [tuple(r) for r in rows]


def set_coupon_secrets(session: Session, values: list[tuple[str, str]]) -> None:
    """``values``: (claim id, code_enc) of coupons re-encrypted."""
    if values:
        run_many(
            session,
            "UPDATE coupon SET code_enc = {p} WHERE claim_id = {p}",
            [(secret, claim_id) for claim_id, secret in values],
        )


# --- reading coupons as records ------------------------------------------------------------

# what a CouponRecord is made of, in this order (then the code's ciphertext where asked)
RECORD_COLUMNS = (
    "c.claim_id, c.code_tail, p.slug, m.external_id, c.kind, c.amount, c.percent, "
    "c.min_purchase, c.max_shipping, c.product, c.variants, c.collections, c.status, "
    "c.issued_at, c.expires_at, c.order_id, c.used_at"
)
RECORD_FROM = "FROM coupon c JOIN member m ON m.id = c.member_id JOIN perk p ON p.id = c.perk_id"
# the checkout's: no perk (one join less for PostgreSQL to plan in a one-statement command)
CHECKOUT_COLUMNS = RECORD_COLUMNS.replace("p.slug", "NULL")
CHECKOUT_FROM = "FROM coupon c JOIN member m ON m.id = c.member_id"


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _skus(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


class _Records:
    """Rows of `RECORD_COLUMNS` to `CouponRecord`s, the status judged at ``now``."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.moment = stamp_reader(session)
        self.now = now

    def at(self, value):
        return value if value is None or self.moment is None else self.moment(value)

    def record(self, row: Sequence) -> CouponRecord:
        (claim_id, tail, perk, member, kind, amount, percent, min_purchase, max_shipping) = row[:9]
        (product, variants, collections, status, issued, expires, order_id, used) = row[9:17]
        expires_at = self.at(expires)
        if status == ACTIVE and expires_at is not None and self.now >= expires_at:
            status = "expired"
        return CouponRecord(
            claim_id=claim_id,
            coupon=masked(tail),
            perk=perk,
            member=member,
            terms=CouponTerms(
                kind=kind,
                amount=_money(amount),
                percent=_money(percent),
                min_purchase=_money(min_purchase),
                max_shipping=_money(max_shipping),
                product=product,
                variants=_skus(variants),
                collections=_skus(collections),
            ),
            status=status,
            issued_at=self.at(issued),
            expires_at=expires_at,
            order_id=order_id,
            used_at=self.at(used),
        )


def by_hash(
    session: Session, code_hash: str, now: datetime, *, with_perk: bool = False
) -> CouponRecord | None:
    """The coupon with this code's keyed hash (one statement, on its unique index); its
    perk's slug only ``with_perk``."""
    columns, source = (
        (RECORD_COLUMNS, RECORD_FROM) if with_perk else (CHECKOUT_COLUMNS, CHECKOUT_FROM)
    )
    rows = query(session, f"SELECT {columns} {source} WHERE c.code_hash = {{p}}", (code_hash,))
    return _Records(session, now).record(rows[0]) if rows else None


def by_hashes(session: Session, hashes: list[str], now: datetime) -> dict[str, CouponRecord]:
    """code hash -> the coupon, for the hashes that are a coupon's."""
    records = _Records(session, now)
    found = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        marks = ", ".join(["{p}"] * len(chunk))
        sql = (
            f"SELECT {CHECKOUT_COLUMNS}, c.code_hash {CHECKOUT_FROM} WHERE c.code_hash IN ({marks})"
        )
        for row in query(session, sql, chunk):
            found[row[17]] = records.record(row)
    return found


# --- moving a coupon's status ---------------------------------------------------------------


def mark_used(session: Session, claim_id: str, order_id: str, now: datetime) -> bool:
    """active -> used on ``order_id``, unless it was used (or expired) meanwhile."""
    at = stamp(session, now)
    changed = (
        run(
            session,
            "UPDATE coupon SET status = 'used', order_id = {p}, used_at = {p}, updated_at = {p} "
            "WHERE claim_id = {p} AND status = 'active' "
            "AND (expires_at IS NULL OR expires_at > {p})",
            (order_id, at, at, claim_id, at),
        )
        == 1
    )
    if changed:
        count_moves(session, [(claim_id, USE)])
    return changed


def release(session: Session, claim_id: str, order_id: str, now: datetime) -> bool:
    """used on ``order_id`` -> active, unless it moved meanwhile."""
    changed = (
        run(
            session,
            "UPDATE coupon SET status = 'active', order_id = NULL, used_at = NULL, "
            "updated_at = {p} WHERE claim_id = {p} AND status = 'used' AND order_id = {p}",
            (stamp(session, now), claim_id, order_id),
        )
        == 1
    )
    if changed:
        count_moves(session, [(claim_id, GIVE_BACK)])
    return changed


def give_back_order(session: Session, order_id: str, now: datetime) -> list[tuple[str, str]]:
    """Every coupon used on ``order_id`` active again; (claim id, code tail) of each."""
    returned = [
        (claim_id, tail)
        for claim_id, tail in query(
            session,
            "UPDATE coupon SET status = 'active', order_id = NULL, used_at = NULL, "
            "updated_at = {p} WHERE order_id = {p} AND status = 'used' "
            "RETURNING claim_id, code_tail",
            (stamp(session, now), order_id),
        )
    ]
    count_moves(session, [(claim_id, GIVE_BACK) for claim_id, _ in returned])
    return returned


# --- listings, the export, statistics ---------------------------------------------------------


def _filters(session: Session, member_id, perk_id, status, now) -> tuple[str, list]:
    where, params = [], []
    if member_id is not None:
        where.append("c.member_id = {p}")
        params.append(member_id)
    if perk_id is not None:
        where.append("c.perk_id = {p}")
        params.append(perk_id)
    if status in (USED, CANCELLED):
        where.append("c.status = {p}")
        params.append(status)
    elif status == ACTIVE:
        where.append("c.status = 'active' AND (c.expires_at IS NULL OR c.expires_at > {p})")
        params.append(stamp(session, now))
    elif status == "expired":
        where.append("c.status = 'active' AND c.expires_at <= {p}")
        params.append(stamp(session, now))
    return (" WHERE " + " AND ".join(where) if where else ""), params


def listing(
    session: Session,
    *,
    member_id: int | None,
    perk_id: int | None,
    status: str | None,
    now: datetime,
    limit: int,
) -> tuple[list[tuple[CouponRecord, str]], int]:
    """(record, code ciphertext) of the newest ``limit`` coupons that match, and how many
    match in all."""
    where, params = _filters(session, member_id, perk_id, status, now)
    rows = query(
        session,
        f"SELECT {RECORD_COLUMNS}, c.code_enc {RECORD_FROM}{where} "
        f"ORDER BY c.issued_at DESC, c.claim_id LIMIT {int(limit)}",
        params,
    )
    total = len(rows)
    if total == limit:
        total = query(session, f"SELECT COUNT(*) FROM coupon c{where}", params)[0][0]
    records = _Records(session, now)
    return [(records.record(row), row[17]) for row in rows], int(total)


def perk_id(session: Session, slug: str) -> int | None:
    row = fetch_one(session, "SELECT id FROM perk WHERE slug = {p}", (slug,))
    return None if row is None else row[0]


def figures(session: Session, now: datetime) -> tuple[int, int, int, int]:
    """(issued, used, expired, cancelled): every coupon; used now; active past their
    expiry; cancelled with their claims. From the 16 rows of coupon_summary and a range
    of the (status, expires_at) index: no scan of the coupons."""
    active, used, cancelled = query(
        session,
        "SELECT COALESCE(SUM(active), 0), COALESCE(SUM(used), 0), COALESCE(SUM(cancelled), 0) "
        "FROM coupon_summary",
    )[0]
    (expired,) = query(
        session,
        "SELECT COUNT(*) FROM coupon WHERE status = 'active' AND expires_at <= {p}",
        (stamp(session, now),),
    )[0]
    return int(active + used + cancelled), int(used), int(expired), int(cancelled)
