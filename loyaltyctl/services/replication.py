"""How far the read URL (a streaming standby) is behind the primary (`stats` says so
when it is more than `LAG_WORTH_SAYING` seconds)."""

from __future__ import annotations

from loyaltyctl.store import replication as store
from loyaltyctl.store.db import Session

LAG_WORTH_SAYING = 5.0  # seconds: less is the normal delay of a busy standby


def primary_position(*, session: Session) -> str | None:
    """Asked of the primary first: what the standby must have replayed to be current."""
    return store.wal_position(session)


def lag_behind(*, session: Session, position: str | None) -> float | None:
    """Asked of the standby: 0.0 when it has replayed ``position``, else the age of the
    last transaction it replayed (what its readers miss is at most that old); None when
    either side is no PostgreSQL primary/standby pair."""
    if position is None:
        return None  # the primary is SQLite (or itself a standby): nothing to compare
    standby, caught_up, since_last = store.replay_state(session, position)
    if not standby:
        return None  # the read URL is a primary itself (or SQLite): nothing replays
    if caught_up:
        return 0.0
    return since_last if since_last is not None else 0.0
