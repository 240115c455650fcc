"""The rules in force: the active earning rules and tiers, as one transaction read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from loyaltyctl.domain import earning as domain
from loyaltyctl.domain import tiers as tier_rules
from loyaltyctl.services.earning.rules import list_tiers, rule_of
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session


@dataclass
class RulesInForce:
    """The earning rules and tiers in force, as one transaction read them."""

    rules: dict[str, list[domain.EarningRule]]  # kind -> active rules of that kind
    rule_ids: dict[str, int]  # slug -> row id (the counters' key)
    tiers: list[domain.Tier]  # active, highest threshold first
    tiers_by_slug: dict[str, domain.Tier] = field(default_factory=dict)
    _most: dict[str, tuple[Decimal, int]] = field(default_factory=dict, repr=False)

    @property
    def has_tiers(self) -> bool:
        return bool(self.tiers)

    def of_kind(self, kind: str) -> list[domain.EarningRule]:
        return self.rules.get(kind, [])

    def most_points(self, kind: str, event) -> int:
        """At most how many points an event earning by rules of ``kind`` may earn, in
        any tier (a bound, not the points; `tiers.most_earned`)."""
        if kind not in self._most:
            self._most[kind] = tier_rules.most_earned(self.of_kind(kind), self.tiers)
        per_unit, flat = self._most[kind]
        return int(event.value * per_unit) + flat if per_unit else flat

    def tier(self, label: str | None) -> domain.Tier | None:
        """The tier a member's label names (a tier set by hand counts when it is one)."""
        return self.tiers_by_slug.get(label) if label else None


def load_rules_in_force(session: Session) -> RulesInForce:
    by_kind: dict[str, list[domain.EarningRule]] = {}
    ids = {}
    for row in store.rules(session):
        by_kind.setdefault(row.kind, []).append(rule_of(row))
        ids[row.slug] = row.id
    tiers = tier_rules.ranked(list_tiers(session=session))
    return RulesInForce(by_kind, ids, tiers, {t.slug: t for t in tiers})
