"""Campaigns and promo codes: what a campaign file says, the code alphabet, the rules
of a redemption. Pure: no I/O.

Codes use Crockford's base32 alphabet (no I, L, O, U), upper case. A typed code is
normalised before it is looked up: case, spaces and dashes are ignored and the
look-alikes O -> 0, I and L -> 1 are mapped, for shared codes too, so "summer-5O"
finds SUMMER50. Generated codes end with a check symbol, so most typos are told
apart from unknown codes without looking anything up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from loyaltyctl.domain.code_alphabet import ALPHABET as ALPHABET
from loyaltyctl.domain.code_alphabet import GROUP as GROUP
from loyaltyctl.domain.code_alphabet import LOOK_ALIKES as LOOK_ALIKES
from loyaltyctl.domain.code_alphabet import MIN_LENGTH as MIN_LENGTH
from loyaltyctl.domain.code_alphabet import check_symbol as check_symbol
from loyaltyctl.domain.code_alphabet import display as display
from loyaltyctl.domain.code_alphabet import generated_code as generated_code
from loyaltyctl.domain.code_alphabet import has_valid_check as has_valid_check
from loyaltyctl.domain.code_alphabet import looks_mistyped as looks_mistyped
from loyaltyctl.domain.code_alphabet import normalize as normalize
from loyaltyctl.domain.code_alphabet import random_body as random_body
from loyaltyctl.domain.perks import Audience, position_of, times, window_and_audience

STATUSES = ("active", "paused", "archived")
DEFAULT_LENGTH = 10
MAX_LENGTH = 24
# a random guess may hit a live code of a campaign with at most this probability
MAX_GUESS_PROBABILITY = 1e-6
SHARED_CODE_MAX = 64

# refusal codes, stable for scripts (spec §3)
UNKNOWN_CODE = "unknown_code"
CODE_USED_UP = "code_used_up"
CAMPAIGN_PAUSED = "campaign_paused"
CAMPAIGN_ARCHIVED = "campaign_archived"
NOT_IN_WINDOW = "not_in_window"
NOT_IN_AUDIENCE = "not_in_audience"
MEMBER_LIMIT = "member_limit"
MEMBER_DAILY_LIMIT = "member_daily_limit"
PRIZE_UNAVAILABLE = "prize_unavailable"


def code_binding(code_hash: str) -> str:
    """What a stored code's ciphertext is bound to (a copy to another row fails)."""
    return f"promo_code:{code_hash}"


SHARED_CODE_CHARACTERS = re.compile(r"[A-Za-z0-9 -]*")


def shared_code_problem(code: str) -> str | None:
    """Why a shared code as written cannot be one (the file reader and `promo create`)."""
    if not SHARED_CODE_CHARACTERS.fullmatch(code):
        return "may hold only letters A-Z, digits, spaces and dashes."
    normal = normalize(code)
    if not normal:
        return "has no letter or digit; a code needs at least one."
    if code.strip().startswith("-"):
        return (
            "must start with a letter or digit (a spreadsheet reads a leading dash as a formula)."
        )
    if len(normal) > SHARED_CODE_MAX:
        return (
            f"is {len(normal)} characters long without its spaces and dashes; "
            f"at most {SHARED_CODE_MAX} are allowed."
        )
    return None


def code_space(length: int) -> int:
    return len(ALPHABET) ** length


def max_live_codes(length: int) -> int:
    """How many live codes of this random length keep a guess's chance ≤ 1 in a million."""
    return math.floor(code_space(length) * MAX_GUESS_PROBABILITY)


def guess_probability(live: int, length: int) -> float:
    return live / code_space(length)


@dataclass(frozen=True)
class SharedCodeSpec:
    code: str  # as written
    inventory: int | None  # None = unlimited
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class CampaignSpec:
    """One `[[campaign]]` table of a file, validated (see spec §4)."""

    slug: str
    name: str
    description: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    points: int = 0
    perks: tuple[str, ...] = ()
    per_member: int | None = None
    per_member_daily: int | None = None
    audience: Audience = field(default_factory=Audience)
    status: str = "active"
    share: dict | None = None
    page: dict | None = None
    codes: tuple[SharedCodeSpec, ...] = ()
    source: str = ""
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str) -> tuple[int, int]:
        return position_of(self.positions, key, self.line)


# the keys problems found against the database point at
CAMPAIGN_POSITIONED_KEYS = ("perks", "status", "code")


# --- the rules of a redemption -----------------------------------------------------------


@dataclass(frozen=True)
class CampaignState:
    slug: str
    status: str
    valid_from: datetime | None
    valid_until: datetime | None
    audience: Audience
    per_member: int | None
    per_member_daily: int | None


@dataclass(frozen=True)
class RedeemerState:
    external_id: str
    plan: str | None
    tier: str | None
    groups: frozenset[str]
    tags: frozenset[str]
    redemptions: int  # in this campaign
    redemptions_today: int  # in this campaign, this day (program time zone)


def refusal(
    campaign: CampaignState,
    member: RedeemerState,
    *,
    code_used_up: bool,
    now: datetime,
) -> tuple[str, str] | None:
    """The first rule that refuses this redemption, as (code, sentence), or None.

    Messages about the code never say anything about other codes.
    """
    if code_used_up:
        return CODE_USED_UP, "This code has been used up."
    if campaign.status == "archived":
        return CAMPAIGN_ARCHIVED, f"Campaign {campaign.slug} is archived."
    if campaign.status == "paused":
        return CAMPAIGN_PAUSED, f"Campaign {campaign.slug} is paused."
    outside = window_and_audience(
        f"campaign {campaign.slug}",
        campaign.valid_from,
        campaign.valid_until,
        campaign.audience,
        member,
        now,
    )
    if outside is not None:
        return outside
    if campaign.per_member is not None and member.redemptions >= campaign.per_member:
        return (
            MEMBER_LIMIT,
            f"Member {member.external_id} already redeemed campaign {campaign.slug} "
            f"{times(member.redemptions)}, the most allowed.",
        )
    if (
        campaign.per_member_daily is not None
        and member.redemptions_today >= campaign.per_member_daily
    ):
        return (
            MEMBER_DAILY_LIMIT,
            f"Member {member.external_id} already redeemed campaign {campaign.slug} "
            f"{times(member.redemptions_today)} today, the most allowed in a day.",
        )
    return None


# --- what the services return ------------------------------------------------------------


@dataclass(frozen=True)
class PrizeClaim:
    slug: str
    claim_id: str


@dataclass(frozen=True)
class MemberRedemption:
    """One of a member's redemptions, as `member show` lists them ("my prizes")."""

    redemption_id: str
    campaign: str  # slug
    campaign_name: str
    at: datetime
    points: int
    perks: tuple[PrizeClaim, ...]


@dataclass(frozen=True)
class RedemptionResult:
    redemption_id: str
    campaign: str
    member: str
    points: int
    perks: tuple[PrizeClaim, ...]
    balance: int
    at: datetime
    replayed: bool = False


@dataclass(frozen=True)
class SharedCode:
    code: str | None  # None when the key file was not at hand
    inventory: int | None
    used: int


@dataclass(frozen=True)
class Campaign:
    slug: str
    name: str
    description: str | None
    status: str
    valid_from: datetime | None
    valid_until: datetime | None
    points: int
    perks: tuple[str, ...]
    per_member: int | None
    per_member_daily: int | None
    audience: Audience
    share: dict | None
    page: dict | None
    codes_issued: int
    redemptions: int
    points_granted: int
    shared_codes: tuple[SharedCode, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class GenerateResult:
    campaign: str
    batch_id: str
    count: int  # codes in the batch now
    requested: int
    generated_now: int
    out: str | None = None
