"""Earning rules and tiers: rows to domain and listing them. Planning them from files is
services/apply/earning.py; the rules in force are `in_force`; a member's tier status is
`status`.
"""

from __future__ import annotations

import json
from decimal import Decimal

from loyaltyctl.domain import earning as domain
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import EarningRule, Tier

# --- rows <-> domain ------------------------------------------------------------------------


def rule_of(row: EarningRule) -> domain.EarningRule:
    return domain.EarningRule.from_settings(
        slug=row.slug,
        kind=row.kind,
        name=row.name,
        description=row.description,
        active=row.active,
        tiers=tuple(json.loads(row.tiers)),
        settings=json.loads(row.settings),
    )


def tier_of(row: Tier) -> domain.Tier:
    return domain.Tier(
        slug=row.slug,
        name=row.name,
        threshold=row.threshold,
        period=row.period,
        multiplier=Decimal(row.multiplier),
        overrides=json.loads(row.overrides),
        downgrade=row.downgrade,
        active=row.active,
        description=row.description,
    )


# --- read -------------------------------------------------------------------------------------


def list_rules(*, session: Session, include_inactive: bool = False) -> list[domain.EarningRule]:
    return [rule_of(r) for r in store.rules(session, include_inactive=include_inactive)]


def list_tiers(*, session: Session, include_inactive: bool = False) -> list[domain.Tier]:
    return [tier_of(r) for r in store.tiers(session, include_inactive=include_inactive)]
