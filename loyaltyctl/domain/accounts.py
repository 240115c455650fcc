"""A member's account as the counter reads it (`points balance`, `member find`): what
those services return, apart from the rest of `models` so that a counter's command
creates only these classes (start-up). `models` names them too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Member:
    external_id: str
    name: str
    phone: str | None
    email: str | None
    birthday: str | None
    plan: str | None
    tier: str | None
    tier_manual: bool
    groups: tuple[str, ...]
    tags: tuple[str, ...]
    balance: int
    pending: int
    created_at: datetime
    updated_at: datetime
    forgotten_at: datetime | None = None  # `member forget` erased the personal data


@dataclass(frozen=True)
class ExpiringPoints:
    amount: int
    expires_at: datetime


@dataclass(frozen=True)
class Balance:
    member: str
    balance: int
    pending: int
    expiring: tuple[ExpiringPoints, ...]
