"""What a claim needs of the perk rules, apart from the perk files' specs: the claim's
rules (`refusal()`), the prices by tier, single-use codes, certificates, the secrets'
bindings and the results a claim returns.

Pure: no I/O. Split from domain/perks.py so that `perk claim` (a counter's write)
imports these few classes and not the perk files' specs, plans and listings
(tests/cli/test_startup.py); domain/perks.py re-exports every name, so
`perks.ClaimResult is claiming.ClaimResult`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

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
class Redemption:
    type: str
    value: str | None = field(repr=False)  # the code or link; None for webhook and none
    instructions: str | None
    checkout_url: str | None = None  # iframe mode: the checkout link with the code in it
    coupon: dict | None = None  # a coupon's frozen terms and expires_at (type "coupon")


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
class CertificateCheck:
    valid: bool
    certificate_id: str | None
    claim_id: str | None
    reason: str | None = None
