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

from loyaltyctl import crash
from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import KeysMissing
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import webhooks
from loyaltyctl.services.discounts.jobs import end_grants
from loyaltyctl.services.earning.jobs import run_earning_jobs
from loyaltyctl.store import jobs, ledger_rows
from loyaltyctl.store import ledger as store
from loyaltyctl.store import webhooks as webhook_store
from loyaltyctl.store.db import Database, Session

LOCK_NAME = "maintain"
LEASE = timedelta(minutes=15)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lock(*, session: Session, holder: str, now: datetime) -> bool:
    return jobs.take_lease(session, LOCK_NAME, holder=holder, now=now, until=now + LEASE)


def release_lock(*, session: Session, holder: str) -> None:
    jobs.end_lease(session, LOCK_NAME, holder=holder)


def run_due_work(
    *,
    session: Session,
    now: datetime,
    operator: str,
    dry_run: bool = False,
    tz: ZoneInfo = ZoneInfo("UTC"),
) -> models.MaintenanceResult:
    """Mature, then expire (a lot that matured and expired since the last run does both),
    then birthdays and tier reviews (``tz``: the program time zone, what "the day" is),
    then discount grants: scheduled revokes due and grants past their end."""
    points = _mature_and_expire(session=session, now=now, operator=operator, dry_run=dry_run)
    earned = run_earning_jobs(session=session, now=now, tz=tz, operator=operator)
    grants = end_grants(session=session, now=now)
    if not dry_run:
        crash.reached("maintain-before-commit")
    return replace(
        points,
        grants_revoked=grants.revoked,
        grants_ended=grants.ended,
        birthdays=earned.birthdays,
        birthday_points=earned.birthday_points,
        tier_reviews=earned.tier_reviews,
        tier_changes=earned.tier_changes,
    )


def _mature_and_expire(
    *, session: Session, now: datetime, operator: str, dry_run: bool
) -> models.MaintenanceResult:
    matured = ledger_rows.lots_to_mature(session, now)
    expired = ledger_rows.lots_to_expire(session, now)
    by_member: dict[int, list] = defaultdict(list)
    for lot in matured:
        by_member[lot.member_id].append((models.MATURE, lot))
    for lot in expired:
        by_member[lot.member_id].append((models.EXPIRE, lot))
    if not by_member:
        return models.MaintenanceResult(now=now, dry_run=dry_run)

    states = store.lock_members(session, by_member)
    entries = [
        _lot_entry(states[member_id], kind, lot, now=now, operator=operator)
        for member_id in sorted(by_member)
        for kind, lot in by_member[member_id]
    ]
    # without an expiry, matured points join those that never expire: no lot needed
    store.mature_lots(
        session, [(lot.id, lot.remaining if lot.expires_at else 0) for lot in matured]
    )
    store.expire_lots(session, [(lot.id, lot.remaining) for lot in expired])
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
        expired_lots=len(expired),
        expired_points=sum(lot.remaining for lot in expired),
    )


def _lot_entry(state: store.MemberState, kind: str, lot, *, now: datetime, operator: str) -> dict:
    """The entry of a lot's points maturing (pending -> balance) or expiring."""
    if kind == models.MATURE:
        return store.build_entry(
            state,
            entry_id=None,
            at=now,
            kind=models.MATURE,
            amount=lot.remaining,
            pending_amount=-lot.remaining,
            reason="pending points matured",
            operator=operator,
        )
    return store.build_entry(
        state,
        entry_id=None,
        at=now,
        kind=models.EXPIRE,
        amount=-lot.remaining,
        reason="points expired",
        operator=operator,
        expires_at=lot.expires_at,
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
        crash.reached("maintain-between-transactions")
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
