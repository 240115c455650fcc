"""What the counter asks most, answered through the driver alone: a member's balance and
member search. These start fast: nothing on their path imports SQLAlchemy, so the CLI
runs them on a `driver.RawSession` (`AppContext.read(..., raw=True)`); they take an
ordinary session as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from loyaltyctl.domain import accounts
from loyaltyctl.domain.errors import UsageProblem
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import lookups as store

if TYPE_CHECKING:
    from loyaltyctl.store.db import Session

PHONE_DIGITS_MIN = 4  # fewer digits match too many phones to pick the right member


def balance(
    *, session: Session, member: str, soon_days: int = 30, now: datetime | None = None
) -> accounts.Balance:
    """A member's balance, pending points and the points expiring within ``soon_days``."""
    return balance_of(session, store.require_member(session, member), soon_days, now)


def balance_of(
    session: Session, ref: store.MemberRef, soon_days: int, now: datetime | None = None
) -> accounts.Balance:
    """The balance of a member read already (`store.lookups.MemberRef` or a member row)."""
    until = (now or utcnow()) + timedelta(days=soon_days)
    return accounts.Balance(
        member=ref.external_id,
        balance=ref.balance,
        pending=ref.pending,
        expiring=tuple(
            accounts.ExpiringPoints(amount=points, expires_at=expires_at)
            for expires_at, points in store.expiring_points(session, ref.id, until=until)
        ),
    )


def find_members(*, session: Session, query: str, limit: int = 20) -> list[accounts.Member]:
    """Members by the last 4-6 digits of their phone, their email, or part of their name."""
    if len(query.strip()) < 2:
        raise UsageProblem("Give at least 2 characters, or the last 4-6 digits of a phone.")
    digits = "".join(ch for ch in query if ch.isdigit())
    if digits and len(digits) < PHONE_DIGITS_MIN and not query.strip(" +-0123456789"):
        raise UsageProblem(
            f"{query.strip()!r} is too short to find a phone: give its last 4 to 6 digits."
        )
    return store.search(session, query, limit=limit)
