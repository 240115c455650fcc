"""What `maintain run` does for discount grants: the scheduled revokes that are due are
carried out (at their scheduled time) and grants past their end are marked ended. Each is
a conditional UPDATE, so a grant is counted once however many runs meet it. `quote`
judges grants from their dates and does not wait for this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyaltyctl.store import discounts as store
from loyaltyctl.store.db import Session


@dataclass(frozen=True, slots=True)
class GrantsClosed:
    revoked: int
    ended: int


def end_grants(*, session: Session, now: datetime) -> GrantsClosed:
    revoked = store.revoke_due(session, now)
    return GrantsClosed(revoked, store.end_due(session, now))
