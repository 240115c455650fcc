"""A perk row and a member as the claim rules read them (`domain.claiming.refusal`): the
perk's audience, tier prices and coupon terms, the claimant's figures and labels.

The driver's alone (`store.perks`, `store.lookups`): a claim runs on a
`driver.RawSession` and starts without SQLAlchemy. ``row`` is a `store.perks.PerkRow`
or a `tables.Perk`: the same attributes.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING

from loyaltyctl.domain import claiming as domain
from loyaltyctl.domain.coupon_specs import CouponSpec
from loyaltyctl.store import lookups
from loyaltyctl.store import perks as store

if TYPE_CHECKING:
    from loyaltyctl.store.db import Session
    from loyaltyctl.store.tables import Perk


def audience_of(text: str) -> domain.Audience:
    data = json.loads(text or "{}")
    return domain.Audience(**{k: tuple(v) for k, v in data.items()})


def from_row(cls, row: Perk, **computed):
    """A domain object from a perk row: same-named columns copied, the rest as given."""
    names = {f.name for f in fields(cls)} - computed.keys()
    return cls(**{name: getattr(row, name) for name in names}, **computed)


def tier_prices(row: Perk) -> dict[str, int | str]:
    """What members of a tier pay instead of price (whole points or "0.5x")."""
    return json.loads(row.tier_prices) if row.tier_prices else {}


def coupon_spec(row: Perk) -> CouponSpec | None:
    """A coupon perk's `[perk.coupon]` terms, else None."""
    return CouponSpec.from_json(json.loads(row.coupon)) if row.coupon else None


def price_of(row: Perk, tier: str | None) -> int:
    """What a member of ``tier`` pays for this perk (not for a convert coupon, whose
    points the member chooses)."""
    return domain.price_for(row.price, tier_prices(row), tier) if row.tier_prices else row.price


def perk_state(row: Perk, counted: store.Counted | None = None) -> domain.PerkState:
    """``counted``: the perk's figures when they are kept in buckets (`store.counted`)."""
    claimed = row.claimed if counted is None else counted.claimed
    return from_row(domain.PerkState, row, audience=audience_of(row.audience), claimed=claimed)


def claimant_state(
    session: Session, member_row, claims_of_perk: int, *, with_labels: bool = True
) -> domain.ClaimantState:
    groups, tags = (
        lookups.labels(session, [member_row.id])[member_row.id] if with_labels else ([], [])
    )
    return domain.ClaimantState(
        external_id=member_row.external_id,
        balance=member_row.balance,
        plan=member_row.plan,
        tier=member_row.tier,
        groups=frozenset(groups),
        tags=frozenset(tags),
        claims_of_perk=claims_of_perk,
    )
