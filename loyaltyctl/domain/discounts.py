"""Discounts members hold (spec §7 "Discounts"): what a `[[discount]]` table says, its
schedule, its grants, and how the discounts on one cart line stack.

Pure: no I/O. Times are compared on the wall clock of the program time zone, as the spec
says schedules are written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from loyaltyctl.domain.money import ZERO, cents, from_cents, round_half_up, spread_cents

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCOPE_TYPES = ("store", "category", "package")
TRIGGER_TYPES = ("purchase", "subscription", "admin")
STACK_TYPES = ("coupon", "sale", "giftcard", "cumulative", "discount")
# the types a line may carry besides discounts, in the order a refusal names them
PRESENT_TYPES = ("sale", "coupon", "giftcard", "cumulative")

# why a discount the member holds did not apply to a line (stable codes)
NOT_IN_SCOPE = "not_in_scope"
OUTSIDE_SCHEDULE = "outside_schedule"
EXCLUSIVE_GROUP = "exclusive_group"
DOES_NOT_STACK_WITH_DISCOUNTS = "does_not_stack_with_discounts"
DISABLED = "disabled"
DORMANT = "dormant"
GRANT_ENDED = "grant_ended"


def does_not_stack_with(kind: str) -> str:
    """The reason code for a type present on the line the discount does not combine with."""
    return f"does_not_stack_with_{kind}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a held discount applies at checkout. Every part optional: none is always.
    ``start``/``end`` are whole days (inclusive); the time window opens on one of
    ``weekdays`` at ``time_from`` and closes at ``time_until`` (exclusive), overnight
    when ``time_until`` ≤ ``time_from``; the window belongs to the day it opens on."""

    start: date | None = None
    end: date | None = None
    weekdays: tuple[str, ...] = ()
    time_from: time | None = None
    time_until: time | None = None

    @property
    def always(self) -> bool:
        return self == Schedule()

    def _opens_on(self, day: date) -> bool:
        return (
            (self.start is None or day >= self.start)
            and (self.end is None or day <= self.end)
            and (not self.weekdays or WEEKDAYS[day.weekday()] in self.weekdays)
        )

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The window opening on ``day``, as naive wall-clock datetimes."""
        opens = datetime.combine(day, self.time_from or time(0))
        if self.time_until is None:
            return opens, datetime.combine(day + timedelta(days=1), time(0))
        closes = datetime.combine(day, self.time_until)
        if self.time_from is not None and self.time_until <= self.time_from:
            closes += timedelta(days=1)  # overnight: Friday 22:00 -> Saturday 02:00
        return opens, closes

    def open_at(self, at: datetime, tz: ZoneInfo) -> bool:
        wall = at.astimezone(tz).replace(tzinfo=None)
        for day in (wall.date(), wall.date() - timedelta(days=1)):
            if self._opens_on(day):
                opens, closes = self._window(day)
                if opens <= wall < closes:
                    return True
        return False


@dataclass(frozen=True, slots=True)
class Scope:
    type: str  # store | category | package
    value: str | None = None  # the category or the package (a sku)

    def covers(self, sku: str, category: str | None) -> bool:
        if self.type == "store":
            return True
        if self.type == "category":
            return category == self.value
        return sku == self.value


@dataclass(frozen=True, slots=True)
class Trigger:
    type: str  # purchase | subscription | admin
    package: str | None = None
    duration: str | None = None  # "permanent" | "while_active" | "N days"

    @property
    def days(self) -> int | None:
        """The duration in days; None for permanent and while_active."""
        if self.duration and self.duration.endswith(" days"):
            return int(self.duration.split()[0])
        return None


@dataclass(frozen=True)
class DiscountSpec:
    """One `[[discount]]` table, validated."""

    slug: str
    name: str
    percent: Decimal
    description: str | None = None
    enabled: bool = True
    schedule: Schedule = field(default_factory=Schedule)
    scopes: tuple[Scope, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    stack_with: frozenset[str] = frozenset()
    priority: int = 0
    exclusive_group: str | None = None
    source: str = ""
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str) -> tuple[int, int]:
        """The line and column of a key of the table (its header when not positioned)."""
        return self.positions.get(key, (self.line, 1))

    @property
    def dormant(self) -> bool:
        """No scope or no trigger: it never applies (a warning at apply, not an error)."""
        return not self.scopes or not self.triggers

    def covers(self, sku: str, category: str | None) -> bool:
        return any(scope.covers(sku, category) for scope in self.scopes)


@dataclass(frozen=True, slots=True)
class Grant:
    """One member holding one discount, as quote judges it at a moment."""

    discount: str
    since: datetime
    until: datetime | None = None
    revoke_at: datetime | None = None
    revoked_at: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        return (
            self.since <= at
            and (self.until is None or self.until > at)
            and (self.revoke_at is None or self.revoke_at > at)
            and (self.revoked_at is None or self.revoked_at > at)
        )


@dataclass(frozen=True, slots=True)
class Applied:
    slug: str
    percent: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class NotApplied:
    slug: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class LineDiscounts:
    applied: tuple[Applied, ...]
    not_applied: tuple[NotApplied, ...]

    @property
    def amount(self) -> Decimal:
        return sum((a.amount for a in self.applied), ZERO)


def _order_key(spec: DiscountSpec) -> tuple:
    return (-spec.priority, -spec.percent, spec.slug)


def _exclusive(candidates: list[DiscountSpec]) -> tuple[list[DiscountSpec], list[NotApplied]]:
    """Of the candidates of one exclusive group, only the highest percent stays (then
    the higher priority, then slug order)."""
    winners: dict[str, DiscountSpec] = {}
    for spec in candidates:
        group = spec.exclusive_group
        if group is None:
            continue
        best = winners.get(group)
        if best is None or (-spec.percent, -spec.priority, spec.slug) < (
            -best.percent,
            -best.priority,
            best.slug,
        ):
            winners[group] = spec
    kept, dropped = [], []
    for spec in candidates:
        winner = winners.get(spec.exclusive_group) if spec.exclusive_group else None
        if winner is None or winner is spec:
            kept.append(spec)
        else:
            dropped.append(
                NotApplied(
                    spec.slug,
                    EXCLUSIVE_GROUP,
                    f"{winner.slug} ({winner.percent.normalize():f}%) wins exclusive group "
                    f"{spec.exclusive_group}",
                )
            )
    return kept, dropped


def stack_on_line(
    candidates: Sequence[DiscountSpec],
    *,
    sku: str,
    category: str | None,
    present: Sequence[str],
    amount: Decimal,
) -> LineDiscounts:
    """The discounts of one line, from the member's candidates (held, active, enabled,
    not dormant, schedule open): scope, the other types present on the line, exclusive
    groups, then the chain by priority; the line's discount rounded half up once and split
    among the applied ones in proportion to their percents."""
    applied, not_applied = chain_on_line(candidates, sku=sku, category=category, present=present)
    return LineDiscounts(amounts(applied, amount), not_applied)


def chain_on_line(
    candidates: Sequence[DiscountSpec], *, sku: str, category: str | None, present: Sequence[str]
) -> tuple[list[DiscountSpec], tuple[NotApplied, ...]]:
    """Which candidates apply to a line (in the order they apply) and why the others do
    not: what `stack_on_line` decides before the amounts (the same for every line of one
    sku, category and types present)."""
    not_applied: list[NotApplied] = []
    in_scope = []
    for spec in candidates:
        if not spec.covers(sku, category):
            not_applied.append(NotApplied(spec.slug, NOT_IN_SCOPE, f"does not cover {sku}"))
        elif missing := [t for t in PRESENT_TYPES if t in present and t not in spec.stack_with]:
            not_applied.append(
                NotApplied(
                    spec.slug,
                    does_not_stack_with(missing[0]),
                    f"does not combine with a {missing[0]} on this line",
                )
            )
        else:
            in_scope.append(spec)
    kept, dropped = _exclusive(in_scope)
    not_applied += dropped
    applied: list[DiscountSpec] = []
    for spec in sorted(kept, key=_order_key):
        if not applied or (
            "discount" in spec.stack_with and all("discount" in a.stack_with for a in applied)
        ):
            applied.append(spec)
        else:
            not_applied.append(
                NotApplied(
                    spec.slug,
                    DOES_NOT_STACK_WITH_DISCOUNTS,
                    f"{applied[0].slug} applies first and they do not stack",
                )
            )
    return applied, tuple(not_applied)


def amounts(applied: list[DiscountSpec], amount: Decimal) -> tuple[Applied, ...]:
    """The line's discount (the applied percents, at most 100, of ``amount``, rounded
    half up once) split among them by their percents, ties to the one applied first."""
    if not applied:
        return ()
    percent = min(sum((spec.percent for spec in applied), Decimal(0)), Decimal(100))
    total = round_half_up(amount * percent / 100)
    # weights in hundredths of a percent; ties to the one applied first
    weights = [int(spec.percent * 100) for spec in applied]
    if sum(weights) == 0:
        parts = [0] * len(applied)
    else:
        parts = spread_cents(cents(total), weights, list(range(len(applied))))
    return tuple(
        Applied(spec.slug, spec.percent, from_cents(part))
        for spec, part in zip(applied, parts, strict=True)
    )


# --- stored form: the columns `apply` writes and quote reads back ---------------------------

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def schedule_dict(schedule: Schedule) -> dict:
    """The schedule's keys as a file writes them (only those given)."""
    found: dict = {}
    if schedule.start is not None:
        found["from"] = schedule.start.isoformat()
    if schedule.end is not None:
        found["until"] = schedule.end.isoformat()
    if schedule.weekdays:
        found["weekdays"] = list(schedule.weekdays)
    if schedule.time_from is not None:
        found["time_from"] = schedule.time_from.strftime("%H:%M")
    if schedule.time_until is not None:
        found["time_until"] = schedule.time_until.strftime("%H:%M")
    return found


def _scope_dict(scope: Scope) -> dict:
    return (
        {"type": scope.type}
        if scope.value is None
        else {"type": scope.type, scope.type: scope.value}
    )


def _trigger_dict(trigger: Trigger) -> dict:
    found = {"type": trigger.type}
    if trigger.package is not None:
        found["package"] = trigger.package
    if trigger.duration is not None:
        found["duration"] = trigger.duration
    return found


def stored_columns(spec: DiscountSpec) -> dict:
    """The stored columns of a spec (JSON text for the structured ones, canonical so an
    unchanged file plans no change)."""
    return {
        "name": spec.name,
        "description": spec.description,
        "percent": spec.percent,
        "enabled": spec.enabled,
        "schedule": _CANONICAL.encode(schedule_dict(spec.schedule)),
        "scopes": _CANONICAL.encode([_scope_dict(s) for s in spec.scopes]),
        "triggers": _CANONICAL.encode([_trigger_dict(t) for t in spec.triggers]),
        "stack_with": _CANONICAL.encode(sorted(spec.stack_with)),
        "priority": spec.priority,
        "exclusive_group": spec.exclusive_group,
    }


def _parse_time(text: str | None) -> time | None:
    return None if text is None else time.fromisoformat(text)


def spec_from_stored(
    slug: str,
    name: str,
    percent,
    enabled,
    schedule: str,
    scopes: str,
    triggers: str,
    stack_with: str,
    priority: int,
    exclusive_group: str | None,
    description: str | None = None,
) -> DiscountSpec:
    """A stored discount back as a spec (what `stored_columns` wrote)."""
    sched = json.loads(schedule)
    return DiscountSpec(
        slug=slug,
        name=name,
        percent=Decimal(percent),
        description=description,
        enabled=bool(enabled),
        schedule=Schedule(
            start=date.fromisoformat(sched["from"]) if "from" in sched else None,
            end=date.fromisoformat(sched["until"]) if "until" in sched else None,
            weekdays=tuple(sched.get("weekdays", ())),
            time_from=_parse_time(sched.get("time_from")),
            time_until=_parse_time(sched.get("time_until")),
        ),
        scopes=tuple(Scope(s["type"], s.get(s["type"])) for s in json.loads(scopes)),
        triggers=tuple(
            Trigger(t["type"], t.get("package"), t.get("duration")) for t in json.loads(triggers)
        ),
        stack_with=frozenset(json.loads(stack_with)),
        priority=int(priority),
        exclusive_group=exclusive_group,
    )
