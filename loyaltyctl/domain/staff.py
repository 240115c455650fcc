"""Staff (spec §8): the staff members and what a change did. The roles, their rules and
who runs a command (`Identity`) are in domain/roles.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
