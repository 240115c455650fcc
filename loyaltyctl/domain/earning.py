"""Earning rules and tiers: what a program file says, and the arithmetic of earned points.

Pure: no I/O. The file reader (program/earning.py) builds `EarningRule`s and
`Tier`s; the earning engine (services/earning/) asks the functions here which rules a
member's tier earns, how many points an event earns, how periods are measured and when
a birthday is due. Beside it: `limits` (the counter a use counts in), `refunds` (what
a refund takes back) and `tiers` (which tier a member qualifies for, and bounds).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache

from loyaltyctl.domain.positions import position_of

RULE_KINDS = ("join", "order", "review", "social", "birthday")
PLATFORMS = ("facebook", "instagram", "twitter", "tiktok")
SOCIAL_ACTIONS = ("like", "share", "follow", "post")
LIMIT_PERIODS = ("day", "week", "month", "year", "lifetime")
ROUNDINGS = ("down", "nearest")
ONCE_PER = ("order", "review")
DOWNGRADES = ("recalculate", "never")
PERIOD_UNITS = ("day", "week", "month", "year")
LIFETIME = "lifetime"

# the keys each kind of rule reads (besides slug, kind, name, description, active, tiers)
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "join": ("points",),
    "order": ("points_per_unit", "rounding", "wait_days", "limit"),
    "review": (
        "points",
        "social_login_bonus",
        "photo_bonus",
        "video_bonus",
        "max_per_order",
        "once_per",
        "limit",
    ),
    "social": ("platform", "action", "points", "preview_url", "suggested_text", "limit"),
    "birthday": ("points",),
}
COMMON_RULE_KEYS = ("slug", "kind", "name", "description", "active", "tiers")
TIER_KEYS = (
    "slug",
    "name",
    "description",
    "threshold",
    "period",
    "multiplier",
    "overrides",
    "downgrade",
    "active",
)
# the keys problems found when planning point at
RULE_POSITIONED_KEYS = ("kind",)
TIER_POSITIONED_KEYS = ("threshold", "overrides")


@dataclass(frozen=True)
class Limit:
    """Uses per member per time frame (program time zone)."""

    count: int
    per: str  # day | week | month | year | lifetime

    def describe(self) -> str:
        if self.per == LIFETIME:
            return f"{self.count} ever"
        return f"{self.count} per {self.per}"


@dataclass(frozen=True)
class EarningRule:
    """One `[[earning_rule]]` table, or a rule as stored (then `source` is empty)."""

    slug: str
    kind: str
    name: str | None = None
    description: str | None = None
    active: bool = True
    tiers: tuple[str, ...] = ()  # only members of these tiers earn it; empty: everyone
    points: int | None = None  # join, review, social, birthday
    points_per_unit: Decimal | None = None  # order: per 1 unit of store currency
    rounding: str = "down"
    wait_days: int = 0  # order: pending this long after the order (the return window)
    limit: Limit | None = None
    social_login_bonus: int = 0
    photo_bonus: int = 0
    video_bonus: int = 0
    max_per_order: int | None = None
    once_per: str = "review"
    platform: str | None = None
    action: str | None = None
    preview_url: str | None = None
    suggested_text: str | None = None
    source: str = ""
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str) -> tuple[int, int]:
        return position_of(self.positions, key, self.line)

    def settings(self) -> dict:
        """The kind's settings as plain JSON values (stored, compared by a plan)."""
        values = {}
        for key in KIND_KEYS[self.kind]:
            value = getattr(self, key)
            if isinstance(value, Decimal):
                value = decimal_text(value)
            elif isinstance(value, Limit):
                value = {"count": value.count, "per": value.per}
            values[key] = value
        return values

    @classmethod
    def from_settings(
        cls,
        *,
        slug: str,
        kind: str,
        name: str | None,
        description: str | None,
        active: bool,
        tiers: tuple[str, ...],
        settings: dict,
    ) -> EarningRule:
        values = dict(settings)
        if values.get("points_per_unit") is not None:
            values["points_per_unit"] = Decimal(values["points_per_unit"])
        if values.get("limit") is not None:
            values["limit"] = Limit(**values["limit"])
        known = {k: v for k, v in values.items() if k in KIND_KEYS[kind]}
        return cls(
            slug=slug,
            kind=kind,
            name=name,
            description=description,
            active=active,
            tiers=tuple(tiers),
            **known,
        )

    def describe(self) -> str:
        """The rule's value in a few words, for listings."""
        if self.kind == "order":
            text = f"{decimal_text(self.points_per_unit)} per unit ({self.rounding})"
            if self.wait_days:
                text += f", pending {self.wait_days} days"
        elif self.kind == "review":
            bonuses = [
                f"+{v} {what}"
                for v, what in (
                    (self.social_login_bonus, "social login"),
                    (self.photo_bonus, "photos"),
                    (self.video_bonus, "video"),
                )
                if v
            ]
            text = f"{self.points} per {self.once_per}" + (
                f" ({', '.join(bonuses)})" if bonuses else ""
            )
            if self.max_per_order:
                text += f", at most {self.max_per_order} per order"
        elif self.kind == "social":
            text = f"{self.points} per {self.platform} {self.action}"
        elif self.kind == "join":
            text = f"{self.points} once"
        else:
            text = f"{self.points} on the birthday"
        return text


@dataclass(frozen=True)
class Tier:
    """One `[[tier]]` table, or a tier as stored."""

    slug: str
    name: str
    threshold: int  # points earned in the period to reach it
    period: str = LIFETIME  # "lifetime" or "<n> days|weeks|months|years"
    multiplier: Decimal = Decimal(1)
    overrides: dict[str, int] = field(default_factory=dict)  # rule slug -> value
    downgrade: str = "recalculate"
    active: bool = True
    description: str | None = None
    source: str = ""
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str) -> tuple[int, int]:
        return position_of(self.positions, key, self.line)

    def window_start(self, end: datetime) -> datetime | None:
        """Where the qualifying period ending at ``end`` starts; None for a lifetime."""
        return period_start(self.period, end)


# --- who earns ---------------------------------------------------------------------------


def eligible(rule: EarningRule, tier: str | None) -> bool:
    """Whether a member of the tier labelled ``tier`` earns by the rule: a rule limited
    to tiers is earned only by members of one of them."""
    return not rule.tiers or tier in rule.tiers


# --- numbers -----------------------------------------------------------------------------


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal without an exponent or trailing zeros: 1.50 -> "1.5", 2E+1 -> "20"."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def rounded(value: Decimal, rounding: str) -> int:
    return int(value.to_integral_value(ROUND_FLOOR if rounding == "down" else ROUND_HALF_UP))


def multiplied(points: int, multiplier: Decimal) -> int:
    """A tier's multiplier applied to earned points, rounded down (spec §4)."""
    if multiplier == 1:
        return points
    return int((points * multiplier).to_integral_value(ROUND_FLOOR))


def tier_value(rule: EarningRule, tier: Tier | None) -> tuple[int | Decimal | None, Decimal]:
    """(the rule's value for a member of this tier, the multiplier to apply after).

    An override replaces the value (points_per_unit for order rules, points otherwise)
    and the multiplier does not apply; join rules are never adjusted per tier.
    """
    base = rule.points_per_unit if rule.kind == "order" else rule.points
    if tier is None or rule.kind == "join":
        return base, Decimal(1)
    if rule.slug in tier.overrides:
        return tier.overrides[rule.slug], Decimal(1)
    return base, tier.multiplier


def order_points(rule: EarningRule, tier: Tier | None, value: Decimal) -> int:
    """Points for an order's value (paid for items after discounts, shipping excluded)."""
    per_unit, multiplier = tier_value(rule, tier)
    return multiplied(rounded(value * Decimal(per_unit), rule.rounding), multiplier)


def review_points(
    rule: EarningRule, tier: Tier | None, *, social_login: bool, photos: int, video: bool
) -> int:
    """A review's points before the per-order cap: the rule's points (or the tier's
    override) plus the bonuses for a social login, photos and a video."""
    points, multiplier = tier_value(rule, tier)
    total = int(points or 0)
    if social_login:
        total += rule.social_login_bonus
    if photos > 0:
        total += rule.photo_bonus
    if video:
        total += rule.video_bonus
    return multiplied(total, multiplier)


def flat_points(rule: EarningRule, tier: Tier | None) -> int:
    """Points of a join, social or birthday rule for a member of this tier."""
    points, multiplier = tier_value(rule, tier)
    return multiplied(int(points or 0), multiplier)


# --- time frames --------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


@lru_cache(maxsize=256)
def parse_period(text: str) -> tuple[int, str] | None:
    """ "12 months" -> (12, "month"); "lifetime" -> None. Raises ValueError."""
    words = text.strip().lower().split()
    if words == [LIFETIME]:
        return None
    if len(words) != 2 or not words[0].isdigit():
        raise ValueError(text)
    count, unit = int(words[0]), words[1].rstrip("s")
    if unit not in PERIOD_UNITS or not 1 <= count <= 10_000:
        raise ValueError(text)
    return count, unit


def period_text(text: str) -> str:
    """A period as stored: "lifetime", "1 month", "12 months"."""
    parsed = parse_period(text)
    if parsed is None:
        return LIFETIME
    count, unit = parsed
    return f"{count} {unit}{'s' if count != 1 else ''}"


def period_start(period: str, end: datetime) -> datetime | None:
    parsed = parse_period(period)
    if parsed is None:
        return None
    count, unit = parsed
    if unit == "day":
        return end - timedelta(days=count)
    if unit == "week":
        return end - timedelta(weeks=count)
    return shift_months(end, -count * (12 if unit == "year" else 1))


def shift_months(moment: datetime, months: int) -> datetime:
    """The same moment ``months`` later or earlier, the day clamped to the month's end."""
    if months % 12 == 0:  # whole years (the usual period): only February 29 moves
        year = moment.year + months // 12
        try:
            return moment.replace(year=year)
        except ValueError:
            return moment.replace(year=year, day=28)
    shifted = add_months(moment.date(), months)
    return moment.replace(year=shifted.year, month=shifted.month, day=shifted.day)


def period_after(period: str, start: datetime) -> datetime | None:
    """When a point earned at ``start`` leaves a qualifying period; None for a lifetime."""
    parsed = parse_period(period)
    if parsed is None:
        return None
    count, unit = parsed
    if unit == "day":
        return start + timedelta(days=count)
    if unit == "week":
        return start + timedelta(weeks=count)
    return shift_months(start, count * (12 if unit == "year" else 1))


# --- birthdays --------------------------------------------------------------------------


def birthday_month_day(text: str | None) -> tuple[int, int] | None:
    """(month, day) of a stored birthday, "YYYY-MM-DD" or "MM-DD"."""
    if not text:
        return None
    month, day = text[-5:].split("-")
    return int(month), int(day)


def celebrated_on(month: int, day: int, year: int) -> date:
    """The day a birthday is celebrated in ``year``: February 29 is March 1 in other years."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1)
    return date(year, month, day)


def anchor(month: int, day: int, celebrated: date) -> date:
    """The date an award on ``celebrated`` counts as for the 12-month safeguard: a March 1
    that stands in for February 29 counts as February 28, so the next leap year's
    February 29 is 12 months later."""
    if (month, day) == (2, 29) and (celebrated.month, celebrated.day) == (3, 1):
        return date(celebrated.year, 2, 28)
    return celebrated


def birthday_allowed(last_anchor: date | None, new_anchor: date) -> bool:
    """At most once in any 12 months, however the member moves their birthday."""
    return last_anchor is None or new_anchor >= add_months(last_anchor, 12)


def due_birthday(text: str | None, today: date, grace_days: int) -> date | None:
    """The birthday celebrated on ``today`` or in the ``grace_days`` before it (a run
    missed by cron), latest first; None when there is none."""
    parts = birthday_month_day(text)
    if parts is None:
        return None
    earliest = today - timedelta(days=grace_days)
    for year in (today.year, today.year - 1):
        day = celebrated_on(*parts, year)
        if earliest <= day <= today:
            return day
    return None


def month_days_between(start: date, end: date) -> list[str]:
    """The "MM-DD" of every day from ``start`` to ``end``, and "02-29" when a March 1
    of a common year is among them (its stand-in day)."""
    found: list[str] = []
    day = start
    while day <= end:
        found.append(f"{day.month:02d}-{day.day:02d}")
        if (day.month, day.day) == (3, 1) and not calendar.isleap(day.year):
            found.append("02-29")
        day += timedelta(days=1)
    return found
