"""Who is connected and their role: what runs before every command, through the driver
alone (no SQLAlchemy: the counter's read commands run on a `driver.RawSession`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from loyaltyctl.domain.roles import CAP_SETTING, DEFAULT_CAP
from loyaltyctl.store.driver import backend, fetch_one, login_of

if TYPE_CHECKING:
    from sqlmodel import Session


class Connected(NamedTuple):
    """What the database says about the connection and the staff, in as few round trips
    as it takes (this runs before every command)."""

    login: str | None  # PostgreSQL current_user; None on SQLite (no logins)
    session_login: str | None  # PostgreSQL session_user (SET ROLE changes current_user)
    superuser: bool
    backend: str
    roster: bool  # the staff table exists (schema 0008 or later)
    enforced: bool  # staff exist
    role: str | None  # the role of `login` (or of the login asked about)
    cap: int


_ROSTER = (
    "SELECT (SELECT role FROM staff WHERE login = {p} AND removed_at IS NULL), "
    "EXISTS (SELECT 1 FROM staff), "
    f"(SELECT value FROM program_setting WHERE name = '{CAP_SETTING}')"
)


def connected(session: Session, *, os_login: str) -> Connected:
    """Who is connected and their role. On SQLite the login is ``os_login``."""
    login, session_login, superuser, roster = login_of(session, table="staff")
    who = login if login is not None else os_login
    role, enforced, cap = None, False, DEFAULT_CAP
    if roster:  # through the driver: this runs once before every command
        role, enforced, cap = fetch_one(session, _ROSTER, (who,))
        cap = int(cap) if cap is not None else DEFAULT_CAP
    return Connected(
        login, session_login, superuser, backend(session), roster, bool(enforced), role, cap
    )
