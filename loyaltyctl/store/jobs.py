"""Leases of `job_lock`: a named job (``maintain``) runs in one process at a time.

A lease is taken with a conditional UPDATE in its own short transaction, which works
the same on SQLite and PostgreSQL; one left by a killed process lapses when it expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session

from loyaltyctl.store.tables import JobLock


def take_lease(session: Session, name: str, *, holder: str, now: datetime, until: datetime) -> bool:
    """Lease the job to ``holder`` until ``until``; False when another holds a lease
    that has not lapsed by ``now``."""
    result = session.execute(
        update(JobLock)
        .where(JobLock.name == name, or_(JobLock.holder.is_(None), JobLock.expires_at < now))
        .values(holder=holder, expires_at=until)
    )
    return result.rowcount == 1


def end_lease(session: Session, name: str, *, holder: str) -> None:
    """Give the lease up, if ``holder`` still has it."""
    session.execute(
        update(JobLock)
        .where(JobLock.name == name, JobLock.holder == holder)
        .values(holder=None, expires_at=None)
    )
