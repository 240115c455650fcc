"""The kinds `apply` plans, in the order it plans, writes and lists them.

A new kind is a module of this package with a `Kind` subclass (planner.py says what it
gives) and one entry below. A kind that depends on another (campaign prizes name perks,
tier overrides name rules) reads the other's specs from `Context.program` and its rows
from the store, so it is planned after it only for the order of the output.
"""

from __future__ import annotations

from loyaltyctl.services.apply.campaigns import CampaignKind
from loyaltyctl.services.apply.discounts import DiscountKind
from loyaltyctl.services.apply.earning import RuleKind, TierKind
from loyaltyctl.services.apply.perks import PerkKind
from loyaltyctl.services.apply.planner import Kind

KINDS: tuple[type[Kind], ...] = (PerkKind, CampaignKind, RuleKind, TierKind, DiscountKind)
