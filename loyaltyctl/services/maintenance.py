"""`maintain run`: mature pending points, expire due lots, deliver webhooks, from cron.

Never two at once: a leased row in `job_lock` is taken with a conditional
UPDATE in its own short transaction (works the same on SQLite and PostgreSQL);
a run that finds it taken skips. A lease left by a killed run lapses after
LEASE. The points work is one transaction, so a crash leaves all or nothing,
and running again finds nothing left to do (idempotent). Webhooks are delivered
after it, still under the lease, outside any transaction (services/webhooks.py).
"""

from __future__ import annotations

import os
import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import KeysMissing
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import webhooks
from loyaltyctl.services.earning.jobs import run_earning_jobs
from loyaltyctl.store import ledger as store
from loyaltyctl.store import webhooks as webhook_store
from loyaltyctl.store.db import ConcurrentChange, Database, Session
from loyaltyctl.store.tables import JobLock, PointLot

LOCK_NAME = "maintain"
LEASE = timedelta(minutes=15)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lock(*, session: Session, holder: str, now: datetime) -> bool:
    result = session.execute(
        update(JobLock)
        .where(
            JobLock.name == LOCK_NAME,
            or_(JobLock.holder.is_(None), JobLock.expires_at < now),
        )
        .values(holder=holder, expires_at=now + LEASE)
    )
    return result.rowcount == 1


def release_lock(*, session: Session, holder: str) -> None:
    session.execute(
        update(JobLock)
        .where(JobLock.name == LOCK_NAME, JobLock.holder == holder)
        .values(holder=None, expires_at=None)
    )


def run_due_work(
    *,
    session: Session,
    now: datetime,
    operator: str,
    dry_run: bool = False,
    tz: ZoneInfo = ZoneInfo("UTC"),
) -> models.MaintenanceResult:
    """Mature, then expire (a lot that matured and expired since the last run does both),
    then birthdays and tier reviews (``tz``: the program time zone, what "the day" is)."""
    points = _mature_and_expire(session=session, now=now, operator=operator, dry_run=dry_run)
    earned = run_earning_jobs(session=session, now=now, tz=tz, operator=operator)
    return replace(
        points,
        birthdays=earned.birthdays,
        birthday_points=earned.birthday_points,
        tier_reviews=earned.tier_reviews,
        tier_changes=earned.tier_changes,
    )


def _mature_and_expire(
    *, session: Session, now: datetime, operator: str, dry_run: bool
) -> models.MaintenanceResult:
    # a pending lot that a refund emptied has nothing to mature
    matured = session.execute(
        select(PointLot.id, PointLot.member_id, PointLot.remaining, PointLot.expires_at)
        .where(PointLot.matured.is_(False), PointLot.matures_at <= now, PointLot.remaining > 0)
        .order_by(PointLot.member_id, PointLot.matures_at, PointLot.id)
    ).all()
    by_member: dict[int, list] = defaultdict(list)
    for lot in matured:
        by_member[lot.member_id].append(("mature", lot))
    expired_rows = session.execute(
        select(PointLot.id, PointLot.member_id, PointLot.remaining, PointLot.expires_at)
        .where(
            PointLot.expires_at <= now,
            PointLot.remaining > 0,
            or_(PointLot.matured.is_(True), PointLot.matures_at <= now),
        )
        .order_by(PointLot.member_id, PointLot.expires_at, PointLot.id)
    ).all()
    for lot in expired_rows:
        by_member[lot.member_id].append(("expire", lot))
    if not by_member:
        return models.MaintenanceResult(now=now, dry_run=dry_run)

    states = store.lock_members(session, by_member)
    entries = []
    lot_table = PointLot.__table__
    for member_id in sorted(by_member):
        state = states[member_id]
        for action, lot in by_member[member_id]:
            if action == "mature":
                entries.append(
                    store.build_entry(
                        state,
                        entry_id=None,
                        at=now,
                        kind=models.MATURE,
                        amount=lot.remaining,
                        pending_amount=-lot.remaining,
                        reason="pending points matured",
                        operator=operator,
                    )
                )
                # without an expiry the points join those that never expire: no lot needed
                changed = session.execute(
                    update(lot_table)
                    .where(lot_table.c.id == lot.id, lot_table.c.matured.is_(False))
                    .values(matured=True, remaining=lot.remaining if lot.expires_at else 0)
                ).rowcount
            else:
                entries.append(
                    store.build_entry(
                        state,
                        entry_id=None,
                        at=now,
                        kind=models.EXPIRE,
                        amount=-lot.remaining,
                        reason="points expired",
                        operator=operator,
                        expires_at=lot.expires_at,
                    )
                )
                changed = session.execute(
                    update(lot_table)
                    .where(lot_table.c.id == lot.id, lot_table.c.remaining == lot.remaining)
                    .values(remaining=0)
                ).rowcount
            if changed != 1:
                raise ConcurrentChange(f"lot {lot.id} changed during maintenance")
    for entry, entry_id in zip(
        entries, store.reserve_entry_ids(session, len(entries)), strict=True
    ):
        entry["id"] = entry_id
    store.insert_entries(session, entries)
    store.save_member_states(session, states.values(), now)
    return models.MaintenanceResult(
        now=now,
        dry_run=dry_run,
        matured_lots=len(matured),
        matured_points=sum(lot.remaining for lot in matured),
        expired_lots=len(expired_rows),
        expired_points=sum(lot.remaining for lot in expired_rows),
    )


def _key_ring(keys: KeyRing | Callable[[], KeyRing] | None) -> KeyRing:
    if isinstance(keys, KeyRing):
        return keys
    if keys is None:
        raise KeysMissing("Webhook deliveries are due but no key file was given to sign them.")
    return keys()


def maintain(
    *,
    db: Database,
    now: datetime,
    operator: str,
    dry_run: bool = False,
    keys: KeyRing | Callable[[], KeyRing] | None = None,
    tz: ZoneInfo = ZoneInfo("UTC"),
) -> models.MaintenanceResult:
    """The whole cron job: take the lock, do the due work in one transaction, deliver
    the due webhooks, release.

    Takes the database rather than a session because the lock must be visible to
    other processes before the work starts, and webhooks are posted between
    transactions. ``keys`` (a key ring, or a callable loading one) is used only when
    webhooks are due: it is asked for before anything changes, so a missing key
    file stops the run (KeysMissing) with nothing done. A dry run sends nothing and
    only counts what is due; it needs no keys.
    """
    holder = _holder()
    # the lease runs on the wall clock, not on --now (which may be a back-fill)
    if not db.run(lambda s: acquire_lock(session=s, holder=holder, now=utcnow())):
        return models.MaintenanceResult(now=now, dry_run=dry_run, skipped=True)
    try:
        webhooks_due = db.run(
            lambda s: webhook_store.count_due(s, now=now), write=False, rollback=True
        )
        ring = _key_ring(keys) if webhooks_due and not dry_run else None
        result = db.run(
            lambda s: run_due_work(session=s, now=now, operator=operator, dry_run=dry_run, tz=tz),
            rollback=dry_run,
        )
        result = replace(result, webhooks_due=webhooks_due)
        if ring is None:
            return result
        report = webhooks.deliver_due(db=db, keys=ring, now=now)
        return replace(
            result,
            webhooks_delivered=report.delivered,
            webhooks_retrying=report.retrying,
            webhooks_failed=report.failed,
            webhook_failures=report.failures,
        )
    finally:
        db.run(lambda s: release_lock(session=s, holder=holder))
