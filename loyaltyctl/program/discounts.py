"""`[[discount]]` tables: validated into `DiscountSpec`s (domain.discounts), every problem
noted at its `file:line:column` (spec §7 "Discounts")."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from loyaltyctl.domain import discounts as domain
from loyaltyctl.domain.money import MoneyProblem, parse_percent
from loyaltyctl.program.checks import NAME_MAX, TEXT_MAX, describe, did_you_mean, quoted
from loyaltyctl.program.reader import Field, Reader

DISCOUNT_KEYS = (
    "slug",
    "name",
    "description",
    "percent",
    "enabled",
    "schedule",
    "scopes",
    "triggers",
    "stack_with",
    "priority",
    "exclusive_group",
)
SCHEDULE_KEYS = ("from", "until", "weekdays", "time_from", "time_until")
POSITIONED_KEYS = ("percent", "scopes", "triggers", "schedule", "exclusive_group")
PRIORITY_MAX = 1_000_000
DAYS_MAX = 36_500
SCOPE_VALUE = {"category": "category", "package": "package"}
DURATIONS = {
    "purchase": ("permanent",),
    "subscription": ("while_active", "permanent"),
}
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DAYS = re.compile(r"([1-9][0-9]*) days?")


class DiscountReader(Reader):
    """Validates one `[[discount]]` table."""

    kind = "discount"
    example_slug = "diamond-10"

    def read(self) -> domain.DiscountSpec | None:
        t = self.table
        self.unknown_keys(t, DISCOUNT_KEYS)
        slug = self.slug()
        name = self.text("name", t, NAME_MAX, required=True)
        description = self.text("description", t, TEXT_MAX, multiline=True)
        percent = self._percent()
        enabled = self.boolean("enabled", t, default=True)
        schedule = self._schedule()
        scopes = tuple(self._items("scopes", self._scope))
        triggers = tuple(self._items("triggers", self._trigger))
        stack_with = self._stack_with()
        priority = self._priority()
        group = self._group()
        if not self.ok:
            return None
        assert slug is not None and name is not None and percent is not None
        return domain.DiscountSpec(
            slug=slug,
            name=name,
            percent=percent,
            description=description,
            enabled=enabled,
            schedule=schedule,
            scopes=scopes,
            triggers=triggers,
            stack_with=stack_with,
            priority=priority,
            exclusive_group=group,
            source=self.file.source,
            line=self.where()[0],
            positions=self.positions(POSITIONED_KEYS),
        )

    def _percent(self) -> Decimal | None:
        if "percent" not in self.table:
            self.add("percent", "is missing; every discount needs a percent (0 to 100).")
            return None
        value = self.table["percent"]
        if isinstance(value, float):  # TOML 12.5: its shortest text is what was written
            value = repr(value)
        try:
            return parse_percent(value, allow_zero=True)
        except MoneyProblem as problem:
            self.add("percent", f"{problem}.")
            return None

    def _schedule(self) -> domain.Schedule:
        table = self.subtable("schedule", '{ weekdays = ["fri"], time_from = "22:00" }')
        if table is None:
            return domain.Schedule()
        self.unknown_keys(table, SCHEDULE_KEYS, "schedule")
        start = self._day(table, "from")
        end = self._day(table, "until")
        if start and end and end < start:
            self.add("schedule.until", f"is {end}, before from ({start}).")
        return domain.Schedule(
            start=start,
            end=end,
            weekdays=self._weekdays(table),
            time_from=self._time(table, "time_from"),
            time_until=self._time(table, "time_until"),
        )

    def _day(self, table: dict[str, Any], key: str) -> date | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.add(f"schedule.{key}", f"must be a date such as 2026-12-01, not {describe(value)}.")
        return None

    def _time(self, table: dict[str, Any], key: str) -> time | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, time) and value.tzinfo is None:
            return value.replace(second=0, microsecond=0)
        if isinstance(value, str) and (match := _TIME.fullmatch(value.strip())):
            return time(int(match.group(1)), int(match.group(2)))
        self.add(
            f"schedule.{key}", f'must be a time of day such as "22:00", not {describe(value)}.'
        )
        return None

    def _weekdays(self, table: dict[str, Any]) -> tuple[str, ...]:
        value = table.get("weekdays", [])
        if not isinstance(value, list):
            self.add(
                "schedule.weekdays",
                f'must be an array such as ["fri", "sat"], not {describe(value)}.',
            )
            return ()
        days = []
        for item in value:
            day = item.strip().lower()[:3] if isinstance(item, str) else None
            if day not in domain.WEEKDAYS:
                self.add(
                    "schedule.weekdays",
                    f"{quoted(str(item))} is not a weekday; use {', '.join(domain.WEEKDAYS)}.",
                )
                return ()
            days.append(day)
        return tuple(dict.fromkeys(days))

    def _items(self, key: str, read) -> list:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.add(key, f'must be an array of tables, e.g. {key} = [{{ type = "store" }}].')
            return []
        found = [read(index, item) for index, item in enumerate(value)]
        return [item for item in found if item is not None]

    def _type(self, field: Field, item: dict[str, Any], types: tuple[str, ...]) -> str | None:
        return self.choice(field, item, types, noun="type")

    def _scope(self, index: int, item: dict[str, Any]) -> domain.Scope | None:
        self.unknown_keys(item, ("type", "category", "package"), "scopes", index)
        kind = self._type(("scopes", index, "type"), item, domain.SCOPE_TYPES)
        if kind is None:
            return None
        wanted = SCOPE_VALUE.get(kind)
        for other in ("category", "package"):
            if other in item and other != wanted:
                self.add(("scopes", index, other), f"is not used by a {kind} scope; remove it.")
        if wanted is None:
            return domain.Scope(kind)
        value = self.text(("scopes", index, wanted), item, NAME_MAX, required=True)
        return domain.Scope(kind, value) if value else None

    def _trigger(self, index: int, item: dict[str, Any]) -> domain.Trigger | None:
        self.unknown_keys(item, ("type", "package", "duration"), "triggers", index)
        kind = self._type(("triggers", index, "type"), item, domain.TRIGGER_TYPES)
        if kind is None:
            return None
        if kind == "admin":
            for other in ("package", "duration"):
                if other in item:
                    self.add(("triggers", index, other), "is not used by an admin trigger.")
            return domain.Trigger(kind)
        package = self.text(("triggers", index, "package"), item, NAME_MAX, required=True)
        duration = self._duration(index, item, kind)
        return domain.Trigger(kind, package, duration) if package and duration else None

    def _duration(self, index: int, item: dict[str, Any], kind: str) -> str | None:
        field = ("triggers", index, "duration")
        named = DURATIONS[kind]
        example = " | ".join(f'"{d}"' for d in named) + ' | "N days"'
        value = item.get("duration")
        if not isinstance(value, str):
            what = "is missing" if value is None else f"must be a string, not {describe(value)}"
            self.add(field, f"{what}; use {example}.")
            return None
        text = value.strip().lower()
        if text in named:
            return text
        match = _DAYS.fullmatch(text)
        if match and int(match.group(1)) <= DAYS_MAX:
            return f"{int(match.group(1))} days"
        self.add(field, f"{quoted(value)} is not a duration of a {kind} trigger; use {example}.")
        return None

    def _stack_with(self) -> frozenset[str]:
        value = self.table.get("stack_with", [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.add(
                "stack_with",
                f'must be an array such as ["coupon", "discount"], not {describe(value)}.',
            )
            return frozenset()
        for item in value:
            if item not in domain.STACK_TYPES:
                self.add(
                    "stack_with",
                    f"{quoted(item)} is not a discount type; use"
                    f" {', '.join(domain.STACK_TYPES)}{did_you_mean(item, domain.STACK_TYPES)}.",
                )
        return frozenset(item for item in value if item in domain.STACK_TYPES)

    def _priority(self) -> int:
        value = self.table.get("priority", 0)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > PRIORITY_MAX:
            self.add(
                "priority", f"must be a whole number from -{PRIORITY_MAX:,} to {PRIORITY_MAX:,}."
            )
            return 0
        return value

    def _group(self) -> str | None:
        value = self.table.get("exclusive_group")
        if value is None:
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", value):
            self.add(
                "exclusive_group",
                "must be lowercase letters, digits, '-' or '_', e.g. \"subscription_tier\".",
            )
            return None
        return value
