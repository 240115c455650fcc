"""Earning rules and tiers from their stored columns to domain values: a table row or any
row with the same attributes (`store.quoting`'s, read through the driver for `quote`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from loyaltyctl.domain import earning as domain

if TYPE_CHECKING:
    from loyaltyctl.store.tables import EarningRule, Tier


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
