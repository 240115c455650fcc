"""Who runs a command and with which role (spec §8). Kept light: `identify` runs before
every command, on the driver's own connection (no SQLAlchemy), see cli/_context.py.

Until the first `staff add` nothing is checked: `identify` says so (not enforced), and
the operator stays as given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyaltyctl.domain.roles import Identity
from loyaltyctl.store import roster as store

if TYPE_CHECKING:
    from loyaltyctl.store.db import Session


def identify(*, session: Session, os_login: str) -> Identity:
    """Who runs this command and with which role (the operator when roles are enforced)."""
    me = store.connected(session, os_login=os_login)
    role = me.role
    if me.login is not None and me.session_login != me.login:
        role = None  # SET ROLE in effect: the database records the session's login
    return Identity(
        operator=me.login or os_login,
        role=role,
        enforced=me.enforced,
        cap=me.cap,
        backend=me.backend,
        superuser=me.superuser,
    )
