"""Staff (spec §8): who runs a command, the staff members and what a change did. The
roles and their rules are in domain/roles.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyaltyctl.domain.roles import DEFAULT_CAP


@dataclass(frozen=True)
class Identity:
    """Who runs the command, as the database knows them.

    ``enforced``: staff exist, so roles are checked and the operator is the login.
    ``role`` is None for a login that is not (or no longer) on the staff."""

    operator: str  # the login (PostgreSQL current_user, or the OS login on SQLite)
    role: str | None
    enforced: bool
    cap: int = DEFAULT_CAP
    backend: str = "sqlite"
    superuser: bool = False
    # PostgreSQL refused the connection itself (no CONNECT, or the login disabled)
    connection_refused: str | None = None


@dataclass(frozen=True)
class StaffMember:
    login: str
    role: str
    added_at: datetime
    added_by: str
    updated_at: datetime
    removed_at: datetime | None = None
    # PostgreSQL: `staff add` made the login (so `staff remove` may disable it)
    created_login: bool = False

    @property
    def active(self) -> bool:
        return self.removed_at is None


@dataclass(frozen=True)
class StaffChange:
    """What a `staff` command did."""

    login: str
    role: str | None
    action: str  # added | readded | role_changed | removed | unchanged
    previous_role: str | None = None
    owner_adopted: str | None = None  # the first `staff add`: the login made owner
    login_created: bool = False  # PostgreSQL: a new login role was created
    login_disabled: bool = False  # PostgreSQL: the login can no longer log in


@dataclass(frozen=True)
class CapChange:
    cap: int
    previous: int
    changed: bool
