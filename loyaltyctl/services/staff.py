"""Who runs a command and with which role (spec §8), and the roster. The owners' changes
to the staff and the cap are in services/staff_changes.py.

Until the first `staff add` nothing is checked: `identify` says so (not enforced), and
the operator stays as given. Kept light: `identify` runs before every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyaltyctl.domain.roles import Identity
from loyaltyctl.store import staff as store
from loyaltyctl.store.db import Session

if TYPE_CHECKING:
    from loyaltyctl.domain.staff import StaffMember


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


def roster(*, session: Session, include_removed: bool = False) -> list[StaffMember]:
    from loyaltyctl.domain.staff import StaffMember  # not on every command's path

    return [
        StaffMember(
            login=row.login,
            role=row.role,
            added_at=row.added_at,
            added_by=row.added_by,
            updated_at=row.updated_at,
            removed_at=row.removed_at,
            created_login=row.created_login,
        )
        for row in store.all_members(session, include_removed=include_removed)
    ]
