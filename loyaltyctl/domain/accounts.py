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


# Ledger entry kinds. `amount` is the signed effect on the balance and
# `pending_amount` the signed effect on pending points.
CREDIT = "credit"  # manual or imported credit (pending when pending_amount != 0)
WRITE_OFF = "write_off"  # manual or imported write-off
EXPIRE = "expire"  # maintain run: an expiring lot reached its date
MATURE = "mature"  # maintain run: pending points became spendable
CLAIM = "claim"  # a perk claimed: its price debited
CLAIM_REFUND = "claim_refund"  # a claim cancelled: its points given back to their lots
EARN = "earn"  # points earned by an earning rule (events ingest, birthdays in maintain run)
REVERSE = "reverse"  # earned points taken back by an order's refund
CREDIT_KINDS = (CREDIT,)
