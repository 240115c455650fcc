"""Who runs a command and with which role (spec §8), and the roster. The owners' changes
to the staff and the cap are in services/staff_changes.py.

Who runs a command (`identify`, run before every command) is in services/identity.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyaltyctl.services.identity import identify  # noqa: F401 - where it was
from loyaltyctl.store import staff as store
from loyaltyctl.store.db import Session

if TYPE_CHECKING:
    from loyaltyctl.domain.staff import StaffMember


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
