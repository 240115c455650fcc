"""Where a PostgreSQL server stands in the write-ahead log: the primary's position and
how far a streaming standby has replayed it. SQLite has no replicas: None."""

from __future__ import annotations

from sqlmodel import Session

from loyaltyctl.store.driver import backend, fetch_one


def wal_position(session: Session) -> str | None:
    """The primary's current WAL position (an LSN such as ``0/3000148``); None on SQLite
    or when the server is itself a standby."""
    if backend(session) == "sqlite":
        return None
    row = fetch_one(
        session,
        "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END",
    )
    return row[0] if row else None


def replay_state(session: Session, position: str) -> tuple[bool, bool, float | None]:
    """(whether this server is a standby, whether it has replayed up to ``position``,
    seconds since the last transaction it replayed committed on the primary)."""
    if backend(session) == "sqlite":
        return False, False, None
    row = fetch_one(
        session,
        "SELECT pg_is_in_recovery(), "
        "COALESCE(pg_last_wal_replay_lsn() >= {p}::pg_lsn, false), "
        "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())",
        (position,),
    )
    standby, caught_up, since_last = row
    return bool(standby), bool(caught_up), None if since_last is None else float(since_last)
