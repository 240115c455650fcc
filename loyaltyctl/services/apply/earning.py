"""`[[earning_rule]]` and `[[tier]]` as apply kinds. A rule's settings are compared one
by one, and its kind never changes; a tier's overrides must name rules (stored, or of
the same files) and no two active tiers share a threshold. Members' computed tiers
follow changed tiers at the next `maintain run`."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar

from loyaltyctl.domain import earning as domain
from loyaltyctl.domain.errors import Problem
from loyaltyctl.services.apply.planner import Context, Draft, Kind, problem
from loyaltyctl.services.earning.rules import tier_of
from loyaltyctl.store import earning as store
from loyaltyctl.store.tables import EarningRule, Tier


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """A rule's columns with its settings beside them (a decimal setting as a number)."""
    settings = values.pop("settings", None) or {}
    for key in DECIMAL_SETTINGS:
        if isinstance(settings.get(key), str):
            settings[key] = Decimal(settings[key])
    return {**values, **settings}


DECIMAL_SETTINGS = ("points_per_unit",)  # stored as decimal text for exactness


class _EarningKind(Kind):
    """Rules and tiers are read and written alike, each in its table."""

    table: ClassVar[type]

    def stored(self, slugs: list[str]) -> dict[str, Any]:
        return store.by_slugs(self.session, self.table, slugs)

    def active_slugs(self) -> list[str]:
        return store.active_slugs(self.session, self.table)

    def insert(self, draft: Draft, values: dict[str, Any]) -> None:
        store.insert_one(self.session, self.table, values)

    def update(self, draft: Draft, values: dict[str, Any]) -> None:
        store.update_one(self.session, self.table, draft.row.id, values)

    def disable(self, slug: str) -> None:
        store.disable(self.session, self.table, slug, self.context.now)


class RuleKind(_EarningKind):
    name = "earning_rule"
    table = EarningRule
    json_columns = frozenset({"tiers", "settings"})

    def shown(self, row: EarningRule | None, columns: dict[str, Any]) -> tuple[dict, dict]:
        """Each setting by its own name, as the plan's fields name them."""
        old, new = super().shown(row, columns)
        return _flat(old), _flat(new)

    def columns(self, spec: domain.EarningRule) -> dict[str, Any]:
        return {
            "kind": spec.kind,
            "name": spec.name,
            "description": spec.description,
            "active": spec.active,
            "tiers": _json(list(spec.tiers)),
            "settings": _json(spec.settings()),
        }

    def changed(self, row: EarningRule | None, columns: dict[str, Any]) -> list[str]:
        """The columns, and each setting of the rule's kind by its own name."""
        given = json.loads(columns["settings"])
        if row is None:
            return [k for k in columns if k != "settings"] + list(given)
        changed = [k for k, v in columns.items() if k != "settings" and getattr(row, k) != v]
        stored = json.loads(row.settings)
        return changed + [k for k in given if stored.get(k) != given[k]]

    def problems(self, spec: domain.EarningRule, row: EarningRule | None) -> list[Problem]:
        if row is None or row.kind == spec.kind:
            return []
        return [
            problem(
                spec,
                "kind",
                f"earning rule {spec.slug} is a {row.kind} rule; a rule's kind cannot change"
                " (give the new rule a new slug, and disable or remove this one).",
            )
        ]


class TierKind(_EarningKind):
    name = "tier"
    table = Tier
    json_columns = frozenset({"overrides"})

    def plain(self, name: str, value: Any) -> Any:
        if name == "multiplier" and isinstance(value, str):
            return Decimal(value)  # a number in the plan, as in the file
        return super().plain(name, value)

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        # an override names a rule stored or of the same files (and not a join rule)
        self.rule_kinds = {
            r.slug: r.kind for r in store.rules(self.session, include_inactive=True)
        } | {r.slug: r.kind for r in context.program.of("earning_rule")}
        # the tiers in force after this plan: the files', and the stored ones they leave active
        named = {spec.slug for spec in self.specs}
        staying = [
            tier_of(r)
            for r in store.tiers(self.session)
            if r.slug not in named and r.slug not in self.pruned
        ]
        self.by_threshold = {t.threshold: f"tier {t.slug}" for t in staying}

    def columns(self, spec: domain.Tier) -> dict[str, Any]:
        return {
            "name": spec.name,
            "description": spec.description,
            "threshold": spec.threshold,
            "period": spec.period,
            "multiplier": domain.decimal_text(spec.multiplier),
            "overrides": _json(spec.overrides),
            "downgrade": spec.downgrade,
            "active": spec.active,
        }

    def problems(self, spec: domain.Tier, row: Tier | None) -> list[Problem]:
        """Called in file order: a threshold is told taken by the first tier that has it."""
        problems = []
        for rule in spec.overrides:
            kind = self.rule_kinds.get(rule)
            if kind is None:
                problems.append(
                    problem(spec, f"overrides.{rule}", f"there is no earning rule {rule!r}.")
                )
            elif kind == "join":
                problems.append(
                    problem(
                        spec,
                        f"overrides.{rule}",
                        f"{rule} is a join rule; the points for joining are the same in every"
                        " tier.",
                    )
                )
        if spec.active:
            other = self.by_threshold.get(spec.threshold)
            if other is not None:
                problems.append(
                    problem(
                        spec,
                        "threshold",
                        f"tier {spec.slug} has the same threshold ({spec.threshold:,}) as"
                        f" {other}; each tier needs its own.",
                    )
                )
            self.by_threshold.setdefault(
                spec.threshold, f"tier {spec.slug} ({spec.source}:{spec.line})"
            )
        return problems

    def after_write(self) -> None:
        # members' computed tiers follow the new definitions at the next `maintain run`
        store.review_all_tiers(self.session, self.context.now)
