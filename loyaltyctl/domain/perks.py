"""Perks and claims: what a perk file says, the rules of a claim, certificates.

Pure: no I/O. The file loader (program/files.py) builds `PerkSpec`s; the
claim service asks `refusal()` which rule, if any, stops a claim.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

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

# claim statuses
ACTIVE = "active"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Audience:
    """Who may claim. Each non-empty list must match; an empty list matches everyone.

    A member matches `groups` (or `tags`) when they have at least one of them.
    """

    plans: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def is_everyone(self) -> bool:
        return not (self.plans or self.tiers or self.groups or self.tags)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "plans": list(self.plans),
            "tiers": list(self.tiers),
            "groups": list(self.groups),
            "tags": list(self.tags),
        }

    def admits(
        self, *, plan: str | None, tier: str | None, groups: set[str], tags: set[str]
    ) -> bool:
        return not self.missing(plan=plan, tier=tier, groups=groups, tags=tags)

    def missing(
        self, *, plan: str | None, tier: str | None, groups: set[str], tags: set[str]
    ) -> list[str]:
        """What a member lacks, one phrase per dimension that does not match:
        "tier gold or platinum (has silver)", "one of the tags vip (has none)"."""
        lacking = []
        for noun, wanted, has in (("plan", self.plans, plan), ("tier", self.tiers, tier)):
            if wanted and has not in wanted:
                lacking.append(f"{noun} {_either(wanted)} (has {has or 'none'})")
        for noun, wanted, held in (("group", self.groups, groups), ("tag", self.tags, tags)):
            if wanted and not held.intersection(wanted):
                what = (
                    f"the {noun} {wanted[0]}"
                    if len(wanted) == 1
                    else f"one of the {noun}s {_either(wanted)}"
                )
                lacking.append(f"{what} (has {', '.join(sorted(held)) or 'none'})")
        return lacking


def _either(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def times(count: int) -> str:
    """1 -> "once", 2 -> "twice", n -> "n times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count:,} times")


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


def tier_multiple(value: int | str) -> Decimal | None:
    """The multiple of price a tier price like "0.5x" names; None for whole points."""
    if isinstance(value, str) and value.endswith("x"):
        return Decimal(value[:-1])
    return None


def price_for(price: int, tier_prices: dict[str, int | str], tier: str | None) -> int:
    """What a member of ``tier`` pays: the tier's price when the perk names the tier
    (whole points, or a multiple of price rounded up to whole points), else price."""
    value = tier_prices.get(tier) if tier else None
    if value is None:
        return price
    multiple = tier_multiple(value)
    return int(value) if multiple is None else math.ceil(price * multiple)


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


# --- claims ----------------------------------------------------------------------

# refusal codes, stable for scripts (spec §3)
PERK_INACTIVE = "perk_inactive"
NOT_IN_WINDOW = "not_in_window"
NOT_IN_AUDIENCE = "not_in_audience"
SOLD_OUT = "sold_out"
MEMBER_LIMIT = "member_limit"
INSUFFICIENT_BALANCE = "insufficient_balance"


@dataclass(frozen=True)
class PerkState:
    """What the claim rules need to know of a stored perk."""

    slug: str
    price: int
    active: bool
    valid_from: datetime | None
    valid_until: datetime | None
    audience: Audience
    max_supply: int | None
    claimed: int
    max_per_member: int | None


@dataclass(frozen=True)
class ClaimantState:
    """What the claim rules need to know of a member."""

    external_id: str
    balance: int
    plan: str | None
    tier: str | None
    groups: frozenset[str]
    tags: frozenset[str]
    claims_of_perk: int  # the member's active claims of this perk


def window_and_audience(
    what: str,
    valid_from: datetime | None,
    valid_until: datetime | None,
    audience: Audience,
    member,
    now: datetime,
    *,
    brief: bool = False,
) -> tuple[str, str] | None:
    """The window and audience rules perks and campaigns share (windows are inclusive);
    ``member`` has external_id, plan, tier, groups and tags. ``brief``: the sentence
    without its subject, for a listing whose row already names the member and the perk
    ("needs tier gold (has none)")."""
    subject = f"{what[0].upper()}{what[1:]} "
    if valid_from is not None and now < valid_from:
        opens = "Opens" if brief else f"{subject}opens"
        return NOT_IN_WINDOW, f"{opens} {valid_from:%Y-%m-%d %H:%M} UTC."
    if valid_until is not None and now > valid_until:
        closed = "Closed" if brief else f"{subject}closed"
        return NOT_IN_WINDOW, f"{closed} {valid_until:%Y-%m-%d %H:%M} UTC."
    lacking = audience.missing(
        plan=member.plan, tier=member.tier, groups=set(member.groups), tags=set(member.tags)
    )
    if lacking:
        lead = (
            "Needs "
            if brief
            else (f"Member {member.external_id} is not in the audience of {what}: it needs ")
        )
        return NOT_IN_AUDIENCE, lead + "; and ".join(lacking) + "."
    return None


def refusal(
    perk: PerkState, member: ClaimantState, now: datetime, *, brief: bool = False
) -> tuple[str, str] | None:
    """The first rule that refuses this claim, as (code, sentence), or None; ``brief``:
    the sentence without the member and the perk (for `perk list --member`).

    The order is what a member would want to hear first: a perk they cannot have
    at all before a limit, and the balance last.
    """
    if not perk.active:
        return PERK_INACTIVE, "Disabled." if brief else f"Perk {perk.slug} is disabled."
    outside = window_and_audience(
        f"perk {perk.slug}",
        perk.valid_from,
        perk.valid_until,
        perk.audience,
        member,
        now,
        brief=brief,
    )
    if outside is not None:
        return outside
    if perk.max_supply is not None and perk.claimed >= perk.max_supply:
        sold = "Sold out" if brief else f"Perk {perk.slug} is sold out"
        return SOLD_OUT, f"{sold} ({perk.max_supply:,} claimed)."
    if perk.max_per_member is not None and member.claims_of_perk >= perk.max_per_member:
        claimed = times(member.claims_of_perk)
        if brief:
            return MEMBER_LIMIT, f"Already claimed {claimed}, the most allowed."
        return (
            MEMBER_LIMIT,
            f"Member {member.external_id} already claimed perk {perk.slug} "
            f"{claimed}, the most allowed.",
        )
    if member.balance < perk.price:
        if brief:
            return INSUFFICIENT_BALANCE, f"Has {member.balance:,} points; costs {perk.price:,}."
        return (
            INSUFFICIENT_BALANCE,
            f"Member {member.external_id} has {member.balance:,} points; "
            f"perk {perk.slug} costs {perk.price:,}.",
        )
    return None


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


# --- single-use codes --------------------------------------------------------------

# no 0/O, 1/I/L, so a code read aloud at the counter is not misheard
SUFFIX_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def suffix_length(claimed: int) -> int:
    """Long enough that a random suffix rarely collides with the ones already issued
    (at most ~1 in 1000 draws), never shorter than 4."""
    length = 4
    while len(SUFFIX_ALPHABET) ** length < (claimed + 1) * 1000:
        length += 1
    return length


def single_use_code(base: str, suffix: str) -> str:
    return f"{base}-{suffix}"


def checkout_link(template: str, code: str) -> str:
    from urllib.parse import quote

    return template.replace("{code}", quote(code, safe=""))


# --- certificates ------------------------------------------------------------------

CERTIFICATE_FIELDS = (
    "certificate_id",
    "claim_id",
    "perk",
    "perk_name",
    "member",
    "points_spent",
    "issued_at",
    "key_id",
)


def canonical_json(document: dict) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (spec §4, Certificates)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_part(certificate: dict) -> bytes:
    """What the signature covers: every field but the signature itself."""
    return canonical_json({k: v for k, v in certificate.items() if k != "signature"})


# --- what an encrypted secret is bound to (AES-GCM associated data) ------------------


def perk_secret_binding(slug: str, field: str) -> str:
    """A perk's `value` or `webhook_secret`: copied to another perk, it fails to decrypt."""
    return f"perk:{slug}:{field}"


def claim_secret_binding(claim_id: str) -> str:
    """The redemption value issued to one claim."""
    return f"claim:{claim_id}"


# --- what the services return ----------------------------------------------------------


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
class Redemption:
    type: str
    value: str | None = field(repr=False)  # the code or link; None for webhook and none
    instructions: str | None
    checkout_url: str | None = None  # iframe mode: the checkout link with the code in it
    coupon: dict | None = None  # a coupon's frozen terms and expires_at (type "coupon")


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
class ClaimResult:
    claim_id: str
    perk: str
    perk_name: str
    member: str
    points_spent: int
    balance: int
    redemption: Redemption
    certificate_id: str
    at: datetime
    status: str = ACTIVE
    replayed: bool = False


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


@dataclass(frozen=True)
class CertificateCheck:
    valid: bool
    certificate_id: str | None
    claim_id: str | None
    reason: str | None = None
