"""Generated promo codes in the database: batches, the chunk inserts, the export stream.

A chunk of codes goes in through the driver's fastest bulk path and never fails on a
code that is already taken (by another campaign, an earlier chunk, a concurrent
generator): the UNIQUE index on `code_hash` decides, `ON CONFLICT (code_hash) DO
NOTHING` skips the taken ones, and the caller is told which they were so it can make
others. SQLite: `executemany` of that upsert under the write lock; PostgreSQL: `COPY`
into a temporary table, then one `INSERT ... SELECT ... ON CONFLICT DO NOTHING
RETURNING`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlmodel import Session

from loyaltyctl.store.driver import is_sqlite
from loyaltyctl.store.tables import Campaign, PromoBatch, PromoCode, sqlite_timestamp

INCOMING = "promo_code_incoming"  # PostgreSQL: the temporary table a chunk is copied into
CODE_COLUMNS = "campaign_id, batch_id, code_hash, code_enc, uses_allowed, uses, created_at"


def lock_campaign(session: Session, campaign_id: int) -> str:
    """Lock the campaign row until commit (SQLite holds the write lock already), so two
    batches started at once are checked against the guessing bound one after the other;
    returns its status as of the lock."""
    stmt = select(Campaign.status).where(Campaign.id == campaign_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one()


def live_codes_by_length(session: Session, campaign_id: int) -> dict[int, int]:
    """Random length -> generated codes of the campaign a guess could still hit: codes
    with uses left, plus the codes unfinished batches are still to make."""
    live: dict[int, int] = {}
    usable = or_(PromoCode.uses_allowed.is_(None), PromoCode.uses < PromoCode.uses_allowed)
    codes = (
        select(PromoBatch.length, func.count())
        .select_from(PromoCode)
        .join(PromoBatch, PromoBatch.id == PromoCode.batch_id)
        .where(PromoCode.campaign_id == campaign_id, usable)
        .group_by(PromoBatch.length)
    )
    pending = (
        select(PromoBatch.length, func.sum(PromoBatch.requested - PromoBatch.generated))
        .where(PromoBatch.campaign_id == campaign_id, PromoBatch.generated < PromoBatch.requested)
        .group_by(PromoBatch.length)
    )
    for stmt in (codes, pending):
        for length, count in session.execute(stmt):
            live[length] = live.get(length, 0) + int(count)
    return live


def insert_batch(session: Session, values: dict) -> None:
    session.execute(insert(PromoBatch).values(**values))


def get_batch(session: Session, batch_id: str, *, lock: bool = False) -> PromoBatch | None:
    """The batch row; ``lock`` holds it until commit on PostgreSQL (SQLite holds the
    write lock), so two processes finishing one batch take turns per chunk."""
    stmt = select(PromoBatch).where(PromoBatch.id == batch_id)
    if lock and not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def advance_batch(
    session: Session, batch_id: str, *, was: int, now_at: int, completed_at: datetime | None
) -> bool:
    """Move the batch's counter from ``was`` to ``now_at``; False when it was not at ``was``."""
    result = session.execute(
        update(PromoBatch)
        .where(PromoBatch.id == batch_id, PromoBatch.generated == was)
        .values(generated=now_at, completed_at=completed_at)
    )
    return result.rowcount == 1


def insert_codes(
    session: Session,
    *,
    campaign_id: int,
    batch_id: str,
    uses_allowed: int,
    created_at: datetime,
    rows: Sequence[tuple[str, str]],
) -> set[str]:
    """Insert (code_hash, code_enc) rows, skipping hashes already present anywhere;
    returns the hashes that were skipped (almost always none)."""
    if not rows:
        return set()
    raw = session.connection().connection.driver_connection
    if is_sqlite(session):
        # under the write lock (BEGIN IMMEDIATE): ids above today's largest are this call's
        top = raw.execute("SELECT COALESCE(MAX(id), 0) FROM promo_code").fetchone()[0]
        cursor = raw.executemany(
            f"INSERT INTO promo_code ({CODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?) "
            "ON CONFLICT (code_hash) DO NOTHING",
            _with_constants(
                rows, (campaign_id, batch_id), (uses_allowed, sqlite_timestamp(created_at))
            ),
        )
        if cursor.rowcount == len(rows):
            return set()
        inserted = {
            h for (h,) in raw.execute("SELECT code_hash FROM promo_code WHERE id > ?", (top,))
        }
        return {h for h, _ in rows} - inserted
    with raw.cursor() as cur:
        if session.info.get(INCOMING):
            cur.execute(f"TRUNCATE {INCOMING}")
        else:
            cur.execute(
                f"CREATE TEMP TABLE {INCOMING} (code_hash text NOT NULL, code_enc text NOT NULL) "
                "ON COMMIT DROP"
            )
            session.info[INCOMING] = True
        _copy_rows(cur, rows)
        cur.execute(
            f"INSERT INTO promo_code ({CODE_COLUMNS}) "
            f"SELECT %s, %s, code_hash, code_enc, %s, 0, %s FROM {INCOMING} "
            "ON CONFLICT (code_hash) DO NOTHING RETURNING code_hash",
            (campaign_id, batch_id, uses_allowed, created_at),
        )
        inserted = cur.fetchall()
        if len(inserted) == len(rows):
            return set()
        return {h for h, _ in rows} - {h for (h,) in inserted}


def _with_constants(rows, before: tuple, after: tuple) -> Iterator[tuple]:
    for row in rows:
        yield before + row + after


def _copy_rows(cur, rows: Sequence[tuple[str, str]]) -> None:
    """COPY in text format, written as one block: the values are hex, base64 and the key
    id, so there is nothing to escape (checked; anything else goes row by row)."""
    block = "".join([f"{code_hash}\t{code_enc}\n" for code_hash, code_enc in rows])
    plain = "\\" not in block and "\r" not in block and block.count("\t") == len(rows)
    with cur.copy(f"COPY {INCOMING} (code_hash, code_enc) FROM STDIN") as copy:
        if plain and block.count("\n") == len(rows):
            copy.write(block)
        else:
            for row in rows:
                copy.write_row(row)


def code_pages(
    session: Session, campaign_id: int, batch_id: str | None, page_size: int
) -> Iterator[Sequence[tuple]]:
    """The campaign's codes (or one batch's) in id order, ``page_size`` rows at a time
    from a server-side cursor: (batch_id, code_hash, code_enc, uses_allowed, uses,
    prefix), the prefix None for shared codes."""
    stmt = (
        select(
            PromoCode.batch_id,
            PromoCode.code_hash,
            PromoCode.code_enc,
            PromoCode.uses_allowed,
            PromoCode.uses,
            PromoBatch.prefix,
        )
        .outerjoin(PromoBatch, PromoBatch.id == PromoCode.batch_id)
        .where(PromoCode.campaign_id == campaign_id)
        .order_by(PromoCode.id)
    )
    if batch_id is not None:
        stmt = stmt.where(PromoCode.batch_id == batch_id)
    result = session.execute(stmt.execution_options(yield_per=page_size))
    yield from result.partitions()
