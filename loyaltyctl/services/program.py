"""`apply`: perks and campaigns from files, planned together and written in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from loyaltyctl.domain.perks import ApplyResult
from loyaltyctl.services.perkfiles import ProgramFiles
from loyaltyctl.services.perks import KeyLoader, plan_perks, raise_problems
from loyaltyctl.services.promo import plan_campaigns
from loyaltyctl.store import perks as perk_store


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
    """Plan the perks, then the campaigns (their prizes may be perks of the same files);
    report every problem of both at once; write nothing unless all is well."""
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
    raise_problems(perks.problems + campaigns.problems)
    if not dry_run:
        perks.write()
        campaigns.write()
    return ApplyResult(dry_run=dry_run, changes=tuple(perks.changes + campaigns.changes))
