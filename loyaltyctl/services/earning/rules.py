"""Earning rules and tiers as code: plan them from files (with perks and campaigns, see
services/program.py) and list them. The rules in force are `in_force`; a member's tier
status is `status`.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from loyaltyctl.domain import earning as domain
from loyaltyctl.domain.errors import Problem
from loyaltyctl.domain.perks import PlanChange
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.perks import Plan
from loyaltyctl.store import audit
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import EarningRule, Tier


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- rows <-> domain ------------------------------------------------------------------------


def rule_columns(rule: domain.EarningRule) -> dict:
    return {
        "kind": rule.kind,
        "name": rule.name,
        "description": rule.description,
        "active": rule.active,
        "tiers": _json(list(rule.tiers)),
        "settings": _json(rule.settings()),
    }


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


def tier_columns(tier: domain.Tier) -> dict:
    return {
        "name": tier.name,
        "description": tier.description,
        "threshold": tier.threshold,
        "period": tier.period,
        "multiplier": domain.decimal_text(tier.multiplier),
        "overrides": _json(tier.overrides),
        "downgrade": tier.downgrade,
        "active": tier.active,
    }


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


def _rule_fields(row: EarningRule | None, wanted: dict) -> list[str]:
    """The changed field names: the columns, and each setting of the kind by its name."""
    if row is None:
        return [k for k in wanted if k != "settings"] + list(json.loads(wanted["settings"]))
    changed = [k for k, v in wanted.items() if k != "settings" and getattr(row, k) != v]
    stored, given = json.loads(row.settings), json.loads(wanted["settings"])
    return changed + [k for k in given if stored.get(k) != given[k]]


# --- plan (apply) -----------------------------------------------------------------------------


def plan_rules(
    *,
    session: Session,
    specs: list[domain.EarningRule],
    operator: str,
    prune: bool = False,
    now: datetime | None = None,
) -> Plan:
    now = now or utcnow()
    rows = store.by_slugs(session, EarningRule, [s.slug for s in specs]) if specs else {}
    changes, problems, writes = [], [], []
    for spec in specs:
        row = rows.get(spec.slug)
        if row is not None and row.kind != spec.kind:
            line, column = spec.where("kind")
            problems.append(
                Problem(
                    spec.source,
                    line,
                    "kind",
                    f"earning rule {spec.slug} is a {row.kind} rule; a rule's kind cannot change"
                    " (give the new rule a new slug, and disable or remove this one).",
                    column,
                )
            )
            continue
        wanted = rule_columns(spec)
        fields = _rule_fields(row, wanted)
        action = "create" if row is None else ("update" if fields else "unchanged")
        changes.append(PlanChange("earning_rule", spec.slug, action, tuple(fields)))
        if action != "unchanged":
            writes.append((spec, row, wanted, fields))
    pruned = _pruned(session, EarningRule, specs, prune)
    changes += [PlanChange("earning_rule", slug, "disable", ("active",)) for slug in pruned]

    def write() -> None:
        _write(session, EarningRule, "earning_rule", writes, pruned, operator=operator, now=now)

    return Plan(changes, problems, write)


def plan_tiers(
    *,
    session: Session,
    specs: list[domain.Tier],
    rule_kinds: dict[str, str],
    operator: str,
    prune: bool = False,
    now: datetime | None = None,
) -> Plan:
    """``rule_kinds``: slug -> kind of every rule stored or applied in the same plan (an
    override must name one, and not a join rule)."""
    now = now or utcnow()
    rows = store.by_slugs(session, Tier, [s.slug for s in specs]) if specs else {}
    changes, problems, writes = [], [], []

    def problem(spec: domain.Tier, key: str, message: str) -> None:
        line, column = spec.where(key)
        problems.append(Problem(spec.source, line, key, message, column))

    pruned = _pruned(session, Tier, specs, prune)
    # the tiers in force after this plan: the files', and the stored ones they leave active
    named = {s.slug for s in specs}
    staying = [
        tier_of(r) for r in store.tiers(session) if r.slug not in named and r.slug not in pruned
    ]
    by_threshold = {t.threshold: f"tier {t.slug}" for t in staying}
    for spec in specs:
        for rule, _value in spec.overrides.items():
            kind = rule_kinds.get(rule)
            if kind is None:
                problem(spec, f"overrides.{rule}", f"there is no earning rule {rule!r}.")
            elif kind == "join":
                problem(
                    spec,
                    f"overrides.{rule}",
                    f"{rule} is a join rule; the points for joining are the same in every tier.",
                )
        if spec.active:
            other = by_threshold.get(spec.threshold)
            if other is not None:
                problem(
                    spec,
                    "threshold",
                    f"tier {spec.slug} has the same threshold ({spec.threshold:,}) as {other};"
                    " each tier needs its own.",
                )
            by_threshold.setdefault(spec.threshold, f"tier {spec.slug} ({spec.source}:{spec.line})")
        row = rows.get(spec.slug)
        wanted = tier_columns(spec)
        fields = [k for k, v in wanted.items() if row is None or getattr(row, k) != v]
        action = "create" if row is None else ("update" if fields else "unchanged")
        changes.append(PlanChange("tier", spec.slug, action, tuple(fields)))
        if action != "unchanged":
            writes.append((spec, row, wanted, fields))
    changes += [PlanChange("tier", slug, "disable", ("active",)) for slug in pruned]

    def write() -> None:
        _write(session, Tier, "tier", writes, pruned, operator=operator, now=now)
        if writes or pruned:
            # members' computed tiers follow the new definitions at the next `maintain run`
            store.review_all_tiers(session, now)

    return Plan(changes, problems, write)


def _pruned(session: Session, table, specs, prune: bool) -> list[str]:
    if not prune:
        return []
    named = {s.slug for s in specs}
    return [slug for slug in store.active_slugs(session, table) if slug not in named]


def _write(session, table, kind: str, writes, pruned, *, operator: str, now) -> None:
    events = []
    for spec, row, wanted, fields in writes:
        if row is None:
            store.insert_one(
                session, table, dict(wanted, slug=spec.slug, created_at=now, updated_at=now)
            )
        else:
            store.update_one(session, table, row.id, dict(wanted, updated_at=now))
        events.append(
            audit.NewEvent(
                subject=f"{kind}:{spec.slug}",
                action=f"{kind}.{'create' if row is None else 'update'}",
                operator=operator,
                at=now,
                details={"fields": sorted(fields), "file": spec.source},
            )
        )
    for slug in pruned:
        store.disable(session, table, slug, now)
        events.append(
            audit.NewEvent(
                subject=f"{kind}:{slug}",
                action=f"{kind}.disable",
                operator=operator,
                at=now,
                reason="not in the applied files (--prune)",
            )
        )
    audit.append_events(session, events)


# --- read -------------------------------------------------------------------------------------


def list_rules(*, session: Session, include_inactive: bool = False) -> list[domain.EarningRule]:
    return [rule_of(r) for r in store.rules(session, include_inactive=include_inactive)]


def list_tiers(*, session: Session, include_inactive: bool = False) -> list[domain.Tier]:
    return [tier_of(r) for r in store.tiers(session, include_inactive=include_inactive)]
