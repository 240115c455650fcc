"""Generated promo codes in the database: batches, the chunk inserts, the export stream.

A chunk of codes goes in through the driver's fastest bulk path (`driver.bulk_insert_new`)
and never fails on a code that is already taken (by another campaign, an earlier chunk, a
concurrent generator): the UNIQUE index on `code_hash` decides, `ON CONFLICT (code_hash)
DO NOTHING` skips the taken ones, and the caller is told which they were so it can make
others.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlmodel import Session

from loyaltyctl.store.driver import bulk_insert_new
from loyaltyctl.store.tables import Campaign, PromoBatch, PromoCode


def lock_campaign(session: Session, campaign_id: int) -> str:
    """Lock the campaign row until commit (SQLite holds the write lock already), so two
    batches started at once are checked against the guessing bound one after the other;
    returns its status as of the lock."""
    stmt = select(Campaign.status).where(Campaign.id == campaign_id).with_for_update()
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
    if lock:
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
    return bulk_insert_new(
        session,
        "promo_code",
        ("code_hash", "code_enc"),
        rows,
        same={
            "campaign_id": campaign_id,
            "batch_id": batch_id,
            "uses_allowed": uses_allowed,
            "uses": 0,
            "created_at": created_at,
        },
    )


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


# --- secrets (for `keys rotate`) ------------------------------------------------------


def code_secrets(session: Session, *, after: int, size: int) -> list[tuple[int, str, str]]:
    """(id, code_hash, code_enc) of promo codes in id order, a page at a time."""
    rows = session.execute(
        select(PromoCode.id, PromoCode.code_hash, PromoCode.code_enc)
        .where(PromoCode.id > after)
        .order_by(PromoCode.id)
        .limit(size)
    )
    return [tuple(r) for r in rows]


def set_code_secrets(session: Session, values: list[tuple[int, str]]) -> None:
    if values:
        table = PromoCode.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("code_id"))
            .values(code_enc=bindparam("secret")),
            [{"code_id": i, "secret": s} for i, s in values],
        )
