"""Perks and claims: what a perk file says, the rules of a claim, certificates.

Pure: no I/O. The file loader (program/files.py) builds `PerkSpec`s; the
claim service asks `refusal()` which rule, if any, stops a claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyaltyctl.domain.claiming import (
    ACTIVE as ACTIVE,
)
from loyaltyctl.domain.claiming import (
    CANCELLED as CANCELLED,
)
from loyaltyctl.domain.claiming import (
    CERTIFICATE_FIELDS as CERTIFICATE_FIELDS,
)
from loyaltyctl.domain.claiming import (
    INSUFFICIENT_BALANCE as INSUFFICIENT_BALANCE,
)
from loyaltyctl.domain.claiming import (
    MEMBER_LIMIT as MEMBER_LIMIT,
)
from loyaltyctl.domain.claiming import (
    NOT_IN_AUDIENCE as NOT_IN_AUDIENCE,
)
from loyaltyctl.domain.claiming import (
    NOT_IN_WINDOW as NOT_IN_WINDOW,
)
from loyaltyctl.domain.claiming import (
    PERK_INACTIVE as PERK_INACTIVE,
)
from loyaltyctl.domain.claiming import (
    SOLD_OUT as SOLD_OUT,
)
from loyaltyctl.domain.claiming import (
    SUFFIX_ALPHABET as SUFFIX_ALPHABET,
)
from loyaltyctl.domain.claiming import (
    Audience as Audience,
)
from loyaltyctl.domain.claiming import (
    CertificateCheck as CertificateCheck,
)
from loyaltyctl.domain.claiming import (
    ClaimantState as ClaimantState,
)
from loyaltyctl.domain.claiming import (
    ClaimResult as ClaimResult,
)
from loyaltyctl.domain.claiming import (
    PerkState as PerkState,
)
from loyaltyctl.domain.claiming import (
    Redemption as Redemption,
)
from loyaltyctl.domain.claiming import (
    canonical_json as canonical_json,
)
from loyaltyctl.domain.claiming import (
    checkout_link as checkout_link,
)
from loyaltyctl.domain.claiming import (
    claim_secret_binding as claim_secret_binding,
)
from loyaltyctl.domain.claiming import (
    perk_secret_binding as perk_secret_binding,
)
from loyaltyctl.domain.claiming import (
    price_for as price_for,
)
from loyaltyctl.domain.claiming import (
    refusal as refusal,
)
from loyaltyctl.domain.claiming import (
    signed_part as signed_part,
)
from loyaltyctl.domain.claiming import (
    single_use_code as single_use_code,
)
from loyaltyctl.domain.claiming import (
    suffix_length as suffix_length,
)
from loyaltyctl.domain.claiming import (
    tier_multiple as tier_multiple,
)
from loyaltyctl.domain.claiming import (
    times as times,
)
from loyaltyctl.domain.claiming import (
    window_and_audience as window_and_audience,
)
from loyaltyctl.domain.coupons import CouponSpec
from loyaltyctl.domain.money import money_text
from loyaltyctl.domain.positions import position_of

CATEGORIES = ("general", "discount", "merchandise", "experience", "digital", "access")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 64

IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime"}
IMAGE_MAX_BYTES = 5 * 1024 * 1024
VIDEO_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class PerkSpec:
    """One `[[perk]]` table of a perk file, validated.

    `value` / `webhook_secret` are None when the file leaves the secret out: the
    stored one is kept. `media` is an absolute local path or an https URL.
    """

    slug: str
    name: str
    price: int
    category: str = "general"
    description: str | None = None
    active: bool = True
    media: str | None = None
    media_type: str | None = None  # MIME type, from the file's bytes or the URL's extension
    media_size: int | None = None  # bytes (local files only)
    max_supply: int | None = None  # None = unlimited (the file's 0 or absent)
    max_per_member: int | None = None  # None = unlimited
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    audience: Audience = field(default_factory=Audience)
    supply_buckets: int | None = None  # as the file says; None = the tool chooses
    redemption_type: str = "none"
    value: str | None = None
    instructions: str | None = None
    single_use: bool = False
    iframe: bool = False
    checkout_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    coupon: CouponSpec | None = None  # redemption_type "coupon": the terms its claims get
    # tier slug -> what members of that tier pay: whole points, or a multiple of price ("0.5x")
    tier_prices: dict[str, int | str] = field(default_factory=dict)
    # where it was read from, for problems found when planning
    source: str = ""
    line: int = 0
    # dotted key -> (line, column) of the keys a plan may point at (see POSITIONED_KEYS)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str) -> tuple[int, int]:
        return position_of(self.positions, key, self.line)


# the keys problems found when planning (against the database) point at
POSITIONED_KEYS = (
    "max_supply",
    "redemption",
    "redemption.type",
    "redemption.value",
    "tier_prices",
    "coupon",
)


# the fields a plan compares, in the order it lists them (secrets compared separately)
PLAN_FIELDS = (
    "name",
    "price",
    "category",
    "description",
    "active",
    "media",
    "media_type",
    "max_supply",
    "supply_buckets",
    "max_per_member",
    "valid_from",
    "valid_until",
    "audience",
    "redemption_type",
    "instructions",
    "single_use",
    "iframe",
    "checkout_url",
    "webhook_url",
    "coupon",
    "tier_prices",
)
SECRET_FIELDS = ("value", "webhook_secret")


def member_price(
    price: int, tier_prices: dict[str, int | str], tier: str | None, coupon: CouponSpec | None
) -> int | None:
    """What a member of ``tier`` pays for a perk; None for a convert coupon, whose points
    the member chooses when claiming."""
    if coupon is not None and coupon.kind == "convert":
        return None
    return price_for(price, tier_prices, tier)


def coupon_json(spec: CouponSpec) -> dict:
    """A coupon perk's terms for `perk show --json`: every key, null where not applicable,
    money as "10.00" (a convert coupon's amount and min_purchase are per ``points``)."""
    return {
        "kind": spec.kind,
        "amount": None if spec.amount is None else money_text(spec.amount),
        "percent": spec.percent,
        "min_purchase": None if spec.min_purchase is None else money_text(spec.min_purchase),
        "max_shipping": None if spec.max_shipping is None else money_text(spec.max_shipping),
        "product": spec.product,
        "variants": list(spec.variants) if spec.kind == "free_product" else None,
        "collections": list(spec.collections),
        "expires_after_days": spec.expires_after_days,
        "points": spec.points,
        "min_points": (spec.min_points or 1) if spec.kind == "convert" else None,
        "max_points": spec.max_points,
    }


# --- supply buckets ------------------------------------------------------------------

# A perk's supply is one counter, or split into buckets that concurrent claimers take
# from side by side (PostgreSQL: FOR UPDATE SKIP LOCKED), for a flash sale. A file's
# `supply_buckets` decides; without it a supply of at least BUCKETS_FROM gets
# CHOSEN_BUCKETS. Each bucket holds a share of max_supply: their sum is max_supply.
BUCKETS_FROM = 1_000
CHOSEN_BUCKETS = 16
MAX_BUCKETS = 64


def supply_buckets(max_supply: int | None, declared: int | None) -> int:
    """How many counters a perk's supply is kept in (1: the perk's own)."""
    if declared is None:
        wanted = CHOSEN_BUCKETS if max_supply is not None and max_supply >= BUCKETS_FROM else 1
    else:
        wanted = declared
    if max_supply is not None:
        wanted = min(wanted, max_supply)  # a bucket holds at least one
    return max(1, wanted)


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole shares that differ by at most one, the larger
    first: a supply into its buckets' capacities, or the claims already taken into them
    (never more than a bucket's capacity when the claims are at most the supply)."""
    base, extra = divmod(total, parts)
    return [base + (1 if n < extra else 0) for n in range(parts)]


@dataclass(frozen=True)
class FieldChange:
    """One field of a plan's change: its stored value and the file's, as plain values
    (numbers, strings, lists, objects; timestamps as datetimes; a secret as "***")."""

    field: str
    old: Any
    new: Any


SECRET_MASK = "***"  # a secret's value in a plan: never its text


@dataclass(frozen=True)
class PlanChange:
    kind: str  # perk, campaign, earning_rule, tier
    slug: str
    action: str  # create | update | unchanged | disable
    fields: tuple[str, ...] = ()
    changes: tuple[FieldChange, ...] = ()  # old -> new of each of `fields`


@dataclass(frozen=True)
class ApplyResult:
    dry_run: bool
    changes: tuple[PlanChange, ...]
    warnings: tuple[str, ...] = ()  # accepted, but worth a look (stderr, and --json)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)


@dataclass(frozen=True)
class Perk:
    slug: str
    name: str
    price: int
    category: str
    description: str | None
    active: bool
    media: str | None
    media_type: str | None
    max_supply: int | None
    supply_left: int | None
    max_per_member: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    audience: Audience
    redemption_type: str
    instructions: str | None
    single_use: bool
    iframe: bool
    checkout_url: str | None
    webhook_url: str | None
    has_value: bool
    claims: int
    cancelled_claims: int = 0
    members: int = 0
    points_spent: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # tier slug -> whole points or "0.5x" (as in the file); {} when every member pays price
    tier_prices: dict[str, int | str] = field(default_factory=dict)
    coupon: dict | None = None  # a coupon perk's terms (`coupon_json`), else None
    supply_buckets: int = 1  # counters the supply is kept in (more: claimed side by side)


@dataclass(frozen=True)
class Eligibility:
    """For `perk list --member`: can this member claim it now, and if not, why."""

    perk: Perk
    claimable: bool
    code: str | None
    reason: str | None
    price: int | None = None  # what this member pays (their tier's price); None: convert
    brief: str | None = None  # the reason without the member and the perk (the listing's)


@dataclass(frozen=True)
class ClaimRecord:
    claim_id: str
    perk: str
    member: str
    at: datetime
    points_spent: int
    status: str
    operator: str
    certificate_id: str
    key: str | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    redemption: Redemption | None = None  # only when revealed (claim show --reveal)
    balance: int | None = None  # after a cancel: the member's balance
    prize_of: str | None = None  # the promo redemption this claim is a prize of
    coupon: dict | None = None  # the coupon it issued: code masked, status, terms
