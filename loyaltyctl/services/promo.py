"""Campaigns and promo codes: create one at the terminal (planned like a file, see
services/apply/campaigns.py), redeem a code, pause / resume / archive, restock, list and show.

Generating batches of codes and exporting them is in services/promo_codes.py.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from loyaltyctl import crash
from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import promo as domain
from loyaltyctl.domain.errors import (
    PROMO_REFUSALS,
    Argument,
    CampaignArchived,
    CampaignExists,
    CodeExists,
    CodeUsedUp,
    MemberDailyLimit,
    MemberLimit,
    Refused,
    UnknownCode,
    UsageProblem,
)
from loyaltyctl.domain.perks import SLUG_PATTERN, Audience, PlanChange
from loyaltyctl.domain.values import utcnow
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services import idempotency
from loyaltyctl.services.apply.campaigns import CampaignKind
from loyaltyctl.services.apply.planner import plan
from loyaltyctl.services.claims import claim_prize
from loyaltyctl.services.idempotency import KeyedKind
from loyaltyctl.services.perks import KeyLoader
from loyaltyctl.store import audit, perk_rows
from loyaltyctl.store import ledger as ledger_store
from loyaltyctl.store import members as member_store
from loyaltyctl.store import perks as perk_store
from loyaltyctl.store import promo as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import Campaign, PromoCode

PROMO = "promo"  # the ledger kind of bonus points from a promo code


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _audience(text: str) -> Audience:
    return Audience(**{k: tuple(v) for k, v in json.loads(text or "{}").items()})


# --- promo create ---------------------------------------------------------------------------


def create_campaign(
    *,
    session: Session,
    spec: domain.CampaignSpec,
    keys: KeyLoader,
    operator: str,
    now: datetime | None = None,
) -> PlanChange:
    """`promo create`: the same plan as a file with one new campaign."""
    problems: list[tuple[str | Argument, ...]] = []
    if not SLUG_PATTERN.match(spec.slug):
        problems.append(("the slug must be lowercase letters, digits and dashes",))
    if spec.points <= 0 and not spec.perks:
        problems.append(("give ", Argument("points"), ", ", Argument("perks"), " or both"))
    for code in spec.codes:
        if (why := domain.shared_code_problem(code.code)) is not None:
            problems.append((Argument("code"), f" {why.rstrip('.')}"))
    if problems:
        raise UsageProblem.several(problems)
    if store.get(session, spec.slug) is not None:
        raise CampaignExists(f"A campaign {spec.slug!r} exists already.", campaign=spec.slug)
    planned = plan(
        (CampaignKind,),
        session=session,
        program=ProgramFiles({"campaign": [spec]}),
        keys=keys,
        operator=operator,
        now=now,
    )
    if planned.problems:
        first = planned.problems[0]
        error = CodeExists if first.field == "code" else UsageProblem
        raise error(first.message[0].upper() + first.message[1:])
    planned.write()
    return planned.changes[0]


# --- redeem -------------------------------------------------------------------------------


REDEMPTION_KEYS = KeyedKind("redemption", same_kind_conflict="another redemption ({ref})")


def _request_hash(code_hash: str, member: str) -> str:
    return hashlib.sha256(f"redeem\x1f{code_hash}\x1f{member}".encode()).hexdigest()


def redeem(
    *,
    session: Session,
    keys: KeyRing,
    code: str,
    member: str,
    operator: str,
    tz: ZoneInfo,
    key: str | None = None,
    now: datetime | None = None,
) -> domain.RedemptionResult:
    """Redeem a code for a member, all or nothing: count the code's use and the member's
    redemptions (total and that day, in the program time zone), credit the points, claim
    the prizes free of charge."""
    now = now or utcnow()
    normalized = domain.normalize(code)
    code_hash = keys.lookup_hash(normalized) if normalized else ""
    member_row = member_store.require_row(session, member)
    state = ledger_store.lock_members(session, [member_row.id])[member_row.id]
    request = _request_hash(code_hash, member_row.external_id)
    if (ref := idempotency.original(session, REDEMPTION_KEYS, key=key, digest=request)) is not None:
        return _replayed(session, ref)
    code_row = _code(session, normalized, code_hash)
    campaign = store.by_id(session, code_row.campaign_id)
    day = now.astimezone(tz).date().isoformat()
    _take_use(session, campaign, code_row, member_row, state, day=day, now=now)
    redemption_id = "R" + "".join(secrets.choice(domain.ALPHABET) for _ in range(11))
    entry_id = _credit(session, campaign, state, redemption_id, operator=operator, now=now)
    prizes = _claim_prizes(
        session, keys, campaign, state, redemption_id, operator=operator, now=now, tz=tz
    )
    result = domain.RedemptionResult(
        redemption_id=redemption_id,
        campaign=campaign.slug,
        member=state.external_id,
        points=campaign.points,
        perks=prizes,
        balance=state.balance,
        at=now,
    )
    _record(
        session,
        result,
        campaign_id=campaign.id,
        code_id=code_row.id,
        member_id=state.id,
        day=day,
        entry_id=entry_id,
        operator=operator,
        key=key,
        request=request,
    )
    crash.reached("redeem-before-commit")
    return result


def _code(session: Session, normalized: str, code_hash: str) -> PromoCode:
    """The code's row, or UnknownCode."""
    code_row = store.code_by_hash(session, code_hash) if normalized else None
    if code_row is None:
        # one sentence for every unknown code, whether its check symbol shows a typo or
        # not (data: mistyped), and nothing that depends on which codes exist
        shown = normalized[:40] or "given"
        raise UnknownCode(
            f"The code {shown} is not valid; check it for a typo and type it again.",
            mistyped=domain.looks_mistyped(normalized),
        )
    return code_row


def _take_use(
    session: Session, campaign: Campaign, code_row: PromoCode, member_row, state, *, day, now
) -> None:
    """Check the campaign's rules for this member, then take a use of the code and one of
    the member's redemptions (total and that day), or raise the refusal."""
    total, today = store.member_redemptions(session, campaign.id, state.id, day)
    groups, tags = member_store.labels(session, [state.id])[state.id]
    rules = _campaign_state(campaign)
    redeemer = domain.RedeemerState(
        external_id=state.external_id,
        plan=member_row.plan,
        tier=member_row.tier,
        groups=frozenset(groups),
        tags=frozenset(tags),
        redemptions=total,
        redemptions_today=today,
    )
    used_up = code_row.uses_allowed is not None and code_row.uses >= code_row.uses_allowed
    _check(rules, redeemer, used_up=used_up, now=now)

    # the authoritative checks: conditional writes the database evaluates
    if not store.take_code_use(session, code_row.id):
        raise CodeUsedUp("This code has been used up.")
    if not store.count_redemption(session, campaign.id, state.id, store.TOTAL, campaign.per_member):
        _check(
            rules,
            replace(redeemer, redemptions=campaign.per_member or 0),
            used_up=False,
            now=now,
            fallback=MemberLimit,
        )
    if not store.count_redemption(session, campaign.id, state.id, day, campaign.per_member_daily):
        _check(
            rules,
            replace(redeemer, redemptions_today=campaign.per_member_daily or 0),
            used_up=False,
            now=now,
            fallback=MemberDailyLimit,
        )


def _credit(
    session: Session, campaign: Campaign, state, redemption_id: str, *, operator: str, now
) -> int | None:
    """The campaign's bonus points, if any: the id of their ledger entry."""
    if not campaign.points:
        return None
    entry = ledger_store.build_entry(
        state,
        entry_id=None,
        at=now,
        kind=PROMO,
        amount=campaign.points,
        reason=f"promo code of campaign {campaign.slug}",
        operator=operator,
        rule=f"campaign:{campaign.slug}",
        event_id=redemption_id,
    )
    entry_id = ledger_store.insert_entry(session, entry)
    ledger_store.save_member_states(session, [state], now)
    return entry_id


def _claim_prizes(
    session: Session,
    keys: KeyRing,
    campaign: Campaign,
    state,
    redemption_id: str,
    *,
    operator: str,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[domain.PrizeClaim, ...]:
    """The campaign's prize perks, claimed for the member free of charge."""
    prizes = []
    for slug in json.loads(campaign.perks):
        perk = perk_rows.require(session, slug)
        claim_id = claim_prize(
            session,
            keys,
            perk,
            state,
            operator=operator,
            now=now,
            redemption_id=redemption_id,
            tz=tz,
        )
        prizes.append(domain.PrizeClaim(slug, claim_id))
    return tuple(prizes)


def _record(
    session: Session,
    result: domain.RedemptionResult,
    *,
    campaign_id: int,
    code_id: int,
    member_id: int,
    day: str,
    entry_id: int | None,
    operator: str,
    key: str | None,
    request: str,
) -> None:
    """The redemption's row, the campaign's totals, the key; an audit event when no
    ledger entry records who redeemed (a campaign of prizes only)."""
    store.add_to_totals(session, campaign_id, result.points)
    store.insert_redemption(
        session,
        {
            "id": result.redemption_id,
            "campaign_id": campaign_id,
            "code_id": code_id,
            "member_id": member_id,
            "at": result.at,
            "day": day,
            "points": result.points,
            "entry_id": entry_id,
            "prizes": _json([{"slug": p.slug, "claim_id": p.claim_id} for p in result.perks]),
            "operator": operator,
            "idem_key": key,
            "request_hash": request if key else None,
        },
    )
    idempotency.register(session, REDEMPTION_KEYS, key=key, ref=result.redemption_id)
    if entry_id is None:
        audit.append_event(
            session,
            subject=f"campaign:{result.campaign}",
            action="promo.redeem",
            operator=operator,
            at=result.at,
            reason=f"code redeemed by {result.member}",
            details={"redemption": result.redemption_id, "prizes": [p.slug for p in result.perks]},
        )


def _campaign_state(row: Campaign) -> domain.CampaignState:
    return domain.CampaignState(
        slug=row.slug,
        status=row.status,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        audience=_audience(row.audience),
        per_member=row.per_member,
        per_member_daily=row.per_member_daily,
    )


def _check(rules, redeemer, *, used_up: bool, now, fallback: type[Refused] | None = None) -> None:
    refused = domain.refusal(rules, redeemer, code_used_up=used_up, now=now)
    if refused is not None:
        code, message = refused
        raise PROMO_REFUSALS[code](message, campaign=rules.slug, member=redeemer.external_id)
    if fallback is not None:
        raise fallback(
            f"The limit of campaign {rules.slug} is reached ({fallback.code}).",
            campaign=rules.slug,
            member=redeemer.external_id,
        )


def _replayed(session: Session, ref: str) -> domain.RedemptionResult:
    """The result of the redemption an idempotency key already made."""
    row = store.redemption_by_id(session, ref)
    campaign = store.by_id(session, row.campaign_id)
    member = perk_store.member_external_id(session, row.member_id)
    balance = (
        ledger_store.entry_by_id(session, row.entry_id).balance_after
        if row.entry_id is not None
        else member_store.require_row(session, member).balance
    )
    return domain.RedemptionResult(
        redemption_id=row.id,
        campaign=campaign.slug,
        member=member,
        points=row.points,
        perks=tuple(domain.PrizeClaim(p["slug"], p["claim_id"]) for p in json.loads(row.prizes)),
        balance=balance,
        at=row.at,
        replayed=True,
    )


# --- status, restock, read -----------------------------------------------------------------

TRANSITIONS = {
    "paused": ("active",),
    "active": ("paused",),
    "archived": ("active", "paused"),
}


def set_campaign_status(
    *, session: Session, slug: str, status: str, operator: str, reason: str | None = None, now=None
) -> tuple[domain.Campaign, bool]:
    """pause / resume / archive; returns (campaign, changed). An archived campaign stays so."""
    now = now or utcnow()
    row = store.require(session, slug)
    if row.status == status:
        return to_domain(session, row), False
    if row.status == "archived":
        raise CampaignArchived(f"Campaign {slug} is archived; it cannot be changed any more.")
    store.set_status(session, row.id, status, allowed_from=TRANSITIONS[status], now=now)
    audit.append_event(
        session,
        subject=f"campaign:{slug}",
        action={"paused": "campaign.pause", "active": "campaign.resume"}.get(
            status, "campaign.archive"
        ),
        operator=operator,
        at=now,
        reason=reason,
    )
    session.refresh(row)
    return to_domain(session, row), True


def restock(
    *, session: Session, keys: KeyRing, slug: str, code: str, add: int, operator: str, now=None
) -> domain.SharedCode:
    """Raise a shared code's inventory by ``add`` (inventory only grows)."""
    now = now or utcnow()
    campaign = store.require(session, slug)
    if campaign.status == "archived":
        raise CampaignArchived(f"Campaign {slug} is archived; its codes stay closed.")
    row = store.code_by_hash(session, keys.lookup_hash(domain.normalize(code)))
    if row is None or row.campaign_id != campaign.id or row.batch_id is not None:
        raise UnknownCode(f"Campaign {slug} has no shared code {code!r}.")
    if row.uses_allowed is None:
        raise UsageProblem(f"The code {code!r} has no inventory limit; there is nothing to raise.")
    inventory, used = row.uses_allowed + add, row.uses  # before the UPDATE refreshes `row`
    store.raise_inventory(session, row.id, inventory)
    audit.append_event(
        session,
        subject=f"campaign:{slug}",
        action="campaign.restock",
        operator=operator,
        at=now,
        details={"added": add, "inventory": inventory},
    )
    return domain.SharedCode(
        code=keys.decrypt(row.code_enc, bound_to=domain.code_binding(row.code_hash)),
        inventory=inventory,
        used=used,
    )


def to_domain(session: Session, row: Campaign, keys: KeyRing | None = None) -> domain.Campaign:
    shared = tuple(
        domain.SharedCode(
            code=keys.decrypt(c.code_enc, bound_to=domain.code_binding(c.code_hash))
            if keys
            else None,
            inventory=c.uses_allowed,
            used=c.uses,
        )
        for c in store.shared_codes(session, row.id)
    )
    return domain.Campaign(
        slug=row.slug,
        name=row.name,
        description=row.description,
        status=row.status,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        points=row.points,
        perks=tuple(json.loads(row.perks)),
        per_member=row.per_member,
        per_member_daily=row.per_member_daily,
        audience=_audience(row.audience),
        share=json.loads(row.share) if row.share else None,
        page=json.loads(row.page) if row.page else None,
        codes_issued=store.codes_issued(session, row.id),
        redemptions=row.redemptions,
        points_granted=row.points_granted,
        shared_codes=shared,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_campaigns(*, session: Session) -> list[domain.Campaign]:
    return [to_domain(session, row) for row in store.listing(session)]


def show_campaign(*, session: Session, slug: str, keys: KeyRing | None = None) -> domain.Campaign:
    return to_domain(session, store.require(session, slug), keys)


def member_redemptions(
    *, session: Session, member_id: int, limit: int
) -> list[domain.MemberRedemption]:
    """A member's redemptions with their campaigns and prizes, newest first."""
    return [
        domain.MemberRedemption(
            redemption_id=row.id,
            campaign=slug,
            campaign_name=name,
            at=row.at,
            points=row.points,
            perks=tuple(
                domain.PrizeClaim(p["slug"], p["claim_id"]) for p in json.loads(row.prizes)
            ),
        )
        for row, slug, name in store.redemptions_of_member(session, member_id, limit=limit)
    ]
