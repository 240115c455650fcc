"""`apply`: perks, campaigns, earning rules and tiers from files, planned together and
written in one transaction."""

from __future__ import annotations

from datetime import datetime

from loyaltyctl.domain.perks import ApplyResult
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.earning.rules import plan_rules, plan_tiers
from loyaltyctl.services.perks import KeyLoader, plan_perks, raise_problems
from loyaltyctl.services.promo import plan_campaigns
from loyaltyctl.store import earning as earning_store
from loyaltyctl.store import perks as perk_store
from loyaltyctl.store.db import Session


def apply_program(
    *,
    session: Session,
    program: ProgramFiles,
    keys: KeyLoader,
    operator: str,
    prune: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ApplyResult:
    """Plan the perks, then the campaigns (their prizes may be perks of the same files),
    the earning rules and the tiers (their overrides name rules, maybe of the same
    files); report every problem of all of them at once; write nothing unless all is
    well."""
    perks = plan_perks(
        session=session, specs=program.perks, keys=keys, operator=operator, prune=prune, now=now
    )
    known = set(perk_store.all_slugs(session)) | {s.slug for s in program.perks}
    campaigns = plan_campaigns(
        session=session,
        specs=program.campaigns,
        keys=keys,
        operator=operator,
        known_perks=known,
        prune=prune,
        now=now,
    )
    rules = plan_rules(
        session=session, specs=program.rules, operator=operator, prune=prune, now=now
    )
    rule_kinds = {r.slug: r.kind for r in earning_store.rules(session, include_inactive=True)}
    rule_kinds.update({r.slug: r.kind for r in program.rules})
    tiers = plan_tiers(
        session=session,
        specs=program.tiers,
        rule_kinds=rule_kinds,
        operator=operator,
        prune=prune,
        now=now,
    )
    plans = (perks, campaigns, rules, tiers)
    raise_problems([p for plan in plans for p in plan.problems])
    if not dry_run:
        for plan in plans:
            plan.write()
    return ApplyResult(dry_run=dry_run, changes=tuple(c for plan in plans for c in plan.changes))
