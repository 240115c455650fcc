"""Earning rules and tiers: rows to domain and listing them. Planning them from files is
services/apply/earning.py; the rules in force are `in_force`; a member's tier status is
`status`.
"""

from __future__ import annotations

from loyaltyctl.domain import earning as domain
from loyaltyctl.services.earning.rows import rule_of, tier_of
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session

# --- read -------------------------------------------------------------------------------------


def list_rules(*, session: Session, include_inactive: bool = False) -> list[domain.EarningRule]:
    return [rule_of(r) for r in store.rules(session, include_inactive=include_inactive)]


def list_tiers(*, session: Session, include_inactive: bool = False) -> list[domain.Tier]:
    return [tier_of(r) for r in store.tiers(session, include_inactive=include_inactive)]
