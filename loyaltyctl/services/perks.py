"""Perks: list, show, toggle and export them (planning them from files is services/apply/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import perks as domain
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.perk_states import (
    audience_of,
    claimant_state,
    coupon_spec,
    from_row,
    perk_state,
    tier_prices,
)
from loyaltyctl.store import audit, perk_rows
from loyaltyctl.store import members as member_store
from loyaltyctl.store import perks as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import Perk

KeyLoader = Callable[[], KeyRing]  # the key ring, loaded when a secret is first needed


# --- read ----------------------------------------------------------------------------


def to_domain(
    row: Perk,
    *,
    figures: tuple[int, int, int, int] | None = None,
    counted: store.Counted | None = None,
) -> domain.Perk:
    """``counted``: the perk's figures when they are kept in buckets (`store.counted`):
    `perk show` and the listings report one number however the supply is kept."""
    claimed = row.claimed if counted is None else counted.claimed
    claims, cancelled, members, spent = figures or (claimed, 0, 0, 0)
    spec = coupon_spec(row)
    return from_row(
        domain.Perk,
        row,
        supply_left=None if row.max_supply is None else max(row.max_supply - claimed, 0),
        audience=audience_of(row.audience),
        has_value=row.value_enc is not None,
        claims=claims,
        cancelled_claims=cancelled,
        members=members,
        points_spent=spent,
        tier_prices=tier_prices(row),
        coupon=None if spec is None else domain.coupon_json(spec),
    )


def list_perks(*, session: Session, include_inactive: bool = False) -> list[domain.Perk]:
    rows = perk_rows.listing(session, include_inactive=include_inactive)
    kept = store.totals(session) if any(r.supply_buckets > 1 for r in rows) else {}
    return [to_domain(row, counted=kept.get(row.id)) for row in rows]


def perks_for_member(
    *, session: Session, member: str, include_inactive: bool = False, now: datetime | None = None
) -> list[domain.Eligibility]:
    """Every listed perk with whether this member can claim it now, and if not, why, and
    what they would pay (their tier's price; for a convert coupon, its least points)."""
    now = now or utcnow()
    row = member_store.require_row(session, member)
    held = perk_rows.claims_by_member(session, row.id)
    claimant = claimant_state(session, row, 0)
    result = []
    perks = perk_rows.listing(session, include_inactive=include_inactive)
    kept = store.totals(session) if any(p.supply_buckets > 1 for p in perks) else {}
    for perk in perks:
        mine = replace(claimant, claims_of_perk=held.get(perk.id, 0))
        spec = coupon_spec(perk)
        price = domain.member_price(perk.price, tier_prices(perk), row.tier, spec)
        least = price if price is not None else (spec.min_points or 1)
        state = replace(perk_state(perk, kept.get(perk.id)), price=least)
        refused = domain.refusal(state, mine, now)
        brief = domain.refusal(state, mine, now, brief=True)
        result.append(
            domain.Eligibility(
                perk=to_domain(perk, counted=kept.get(perk.id)),
                claimable=refused is None,
                code=refused[0] if refused else None,
                reason=refused[1] if refused else None,
                price=price,
                brief=brief[1] if brief else None,
            )
        )
    return result


def show_perk(*, session: Session, slug: str) -> domain.Perk:
    row = perk_rows.require(session, slug)
    return to_domain(
        row, figures=perk_rows.claim_figures(session, row.id), counted=store.counted(session, row)
    )


def set_perk_active(
    *,
    session: Session,
    slug: str,
    active: bool,
    operator: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[domain.Perk, bool]:
    """Enable or disable without editing the file; returns (perk, changed)."""
    now = now or utcnow()
    row = perk_rows.require(session, slug)
    changed = perk_rows.set_active(session, row.id, active, now)
    if changed:
        audit.append_event(
            session,
            subject=f"perk:{slug}",
            action="perk.enable" if active else "perk.disable",
            operator=operator,
            at=now,
            reason=reason,
        )
        session.refresh(row)
    return to_domain(row, counted=store.counted(session, row)), changed


# --- export --------------------------------------------------------------------------


def export_document(
    *, session: Session, slugs: list[str], reveal_secrets: bool, keys: KeyLoader
) -> dict:
    """The perks as a TOML document that `apply` takes back unchanged.

    Secrets are left out unless revealed; a file without them keeps the stored ones.
    """
    rows = (
        [perk_rows.require(session, s) for s in slugs]
        if slugs
        else perk_rows.listing(session, include_inactive=True)
    )
    rows.sort(key=lambda r: r.slug)
    return {"perk": [_perk_table(row, reveal_secrets=reveal_secrets, keys=keys) for row in rows]}


def _secrets_used_by(redemption_type: str) -> tuple[str, ...]:
    """A secret kept from an earlier redemption type is not exported: the file would
    not validate (e.g. a value on a webhook perk)."""
    return {"code": ("value",), "link": ("value",), "webhook": ("webhook_secret",)}.get(
        redemption_type, ()
    )


def _perk_table(row: Perk, *, reveal_secrets: bool, keys: KeyLoader) -> dict:
    table: dict = {"slug": row.slug, "name": row.name, "price": row.price}
    table["category"] = row.category
    optional = {
        "description": row.description,
        "media": row.media,
        "max_supply": row.max_supply,
        # only when the file chose other than the tool would
        "supply_buckets": (
            row.supply_buckets
            if row.supply_buckets != domain.supply_buckets(row.max_supply, None)
            else None
        ),
        "max_per_member": row.max_per_member,
        "valid_from": row.valid_from,
        "valid_until": row.valid_until,
    }
    table["active"] = row.active
    table.update({k: v for k, v in optional.items() if v is not None})
    audience = audience_of(row.audience)
    if not audience.is_everyone():
        table["audience"] = {k: v for k, v in audience.as_dict().items() if v}
    redemption: dict = {"type": row.redemption_type}
    if reveal_secrets:
        for field in _secrets_used_by(row.redemption_type):
            token = getattr(row, f"{field}_enc")
            if token:
                redemption[field] = keys().decrypt(
                    token, bound_to=domain.perk_secret_binding(row.slug, field)
                )
    extra = {
        "instructions": row.instructions,
        "single_use": row.single_use or None,
        "iframe": row.iframe or None,
        "checkout_url": row.checkout_url,
        "webhook_url": row.webhook_url,
    }
    redemption.update({k: v for k, v in extra.items() if v is not None})
    if row.tier_prices:
        table["tier_prices"] = json.loads(row.tier_prices)
    if redemption != {"type": "none"}:
        table["redemption"] = redemption
    if row.coupon:
        table["coupon"] = _coupon_table(json.loads(row.coupon))
    return table


def _coupon_table(stored: dict) -> dict:
    """`[perk.coupon]` as a file writes it: money as strings ("10.00"), percent a number."""
    if "percent" in stored:
        percent = Decimal(stored["percent"])
        stored["percent"] = int(percent) if percent == int(percent) else float(percent)
    return {"kind": stored.pop("kind"), **stored}
