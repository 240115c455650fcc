"""`[[earning_rule]]` and `[[tier]]` tables: validated into `EarningRule`s and `Tier`s
(domain.earning), every problem noted at its `file:line:column`."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from loyaltyctl.domain import earning as domain
from loyaltyctl.domain.values import MAX_AMOUNT
from loyaltyctl.program.checks import (
    COUNT_MAX,
    NAME_MAX,
    TEXT_MAX,
    URL_MAX,
    describe,
    is_slug,
    quoted,
    unknown_key,
    url_problem,
)
from loyaltyctl.program.reader import Reader

WAIT_DAYS_MAX = 3650
PER_UNIT_MAX = Decimal(1_000_000)
MULTIPLIER_MAX = Decimal(100)
DECIMALS_MAX = 4  # points_per_unit and multiplier: 1.5, 0.25, 1.3333
THRESHOLD_MAX = MAX_AMOUNT * 1000
ALL_RULE_KEYS = tuple(dict.fromkeys(k for keys in domain.KIND_KEYS.values() for k in keys))
LIMIT_KEYS = ("count", "per")


class _EarningReader(Reader):
    """Typed values the earning tables need besides the shared ones."""

    def decimal(
        self,
        field: str,
        *,
        default: Decimal | None,
        minimum: Decimal,
        maximum: Decimal,
        above: bool = False,
    ) -> Decimal | None:
        """A whole or decimal number, exact (1.5 is read as the text "1.5" says)."""
        if field not in self.table:
            if default is None:
                self.add(field, f"is missing; every {self.noun} of this kind needs a {field}.")
            return default
        value = self.table[field]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(field, f"must be a number, e.g. 1 or 1.5, not {describe(value)}.")
            return default
        if isinstance(value, float) and not math.isfinite(value):
            self.add(field, f"is {value}; give a number.")
            return default
        number = Decimal(str(value))
        if number < minimum or (above and number == minimum) or number > maximum:
            low = f"more than {minimum}" if above else f"at least {minimum}"
            self.add(field, f"is {value}; it must be {low} and at most {maximum:,}.")
            return default
        if -number.normalize().as_tuple().exponent > DECIMALS_MAX:
            self.add(field, f"is {value}; use at most {DECIMALS_MAX} decimals.")
            return default
        return number


class RuleReader(_EarningReader):
    """Validates one `[[earning_rule]]` table."""

    kind = "earning_rule"
    noun = "earning rule"
    example_slug = "order-points"

    def read(self) -> domain.EarningRule | None:
        t = self.table
        kind = self.choice("kind", t, domain.RULE_KINDS)
        known = domain.COMMON_RULE_KEYS + (domain.KIND_KEYS[kind] if kind else ALL_RULE_KEYS)
        for key in t:
            if key in known:
                continue
            if key in ALL_RULE_KEYS:
                users = [k for k, keys in domain.KIND_KEYS.items() if key in keys]
                named = users[0] if len(users) == 1 else f"{', '.join(users[:-1])} and {users[-1]}"
                self.add(key, f"is not used by {kind} rules (only by {named} rules).")
            else:
                self.add(key, unknown_key(key, domain.COMMON_RULE_KEYS + ALL_RULE_KEYS))
        slug = self.slug()
        values: dict[str, Any] = {
            "name": self.text("name", t, NAME_MAX),
            "description": self.text("description", t, TEXT_MAX, multiline=True),
            "active": self.boolean("active", t, default=True),
            "tiers": self.labels("tiers", t.get("tiers", []), "tier"),
        }
        if kind is not None:
            values.update(getattr(self, f"_{kind}")())
        if not self.ok:
            return None
        assert slug is not None and kind is not None
        return domain.EarningRule(
            slug=slug,
            kind=kind,
            **values,
            source=self.file.source,
            line=self.where()[0],
            positions=self.positions(domain.RULE_POSITIONED_KEYS),
        )

    def _points(self) -> dict:
        return {"points": self.whole("points", required=True, minimum=0, maximum=MAX_AMOUNT)}

    def _join(self) -> dict:
        return self._points()

    def _birthday(self) -> dict:
        return self._points()

    def _order(self) -> dict:
        return {
            "points_per_unit": self.decimal(
                "points_per_unit", default=None, minimum=Decimal(0), maximum=PER_UNIT_MAX
            ),
            "rounding": self.choice("rounding", self.table, domain.ROUNDINGS, default="down"),
            "wait_days": self.whole("wait_days", minimum=0, maximum=WAIT_DAYS_MAX) or 0,
            "limit": self._limit(),
        }

    def _review(self) -> dict:
        values = self._points()
        for bonus in ("social_login_bonus", "photo_bonus", "video_bonus"):
            values[bonus] = self.whole(bonus, minimum=0, maximum=MAX_AMOUNT) or 0
        values["max_per_order"] = self.whole("max_per_order", minimum=1, maximum=MAX_AMOUNT)
        values["once_per"] = self.choice("once_per", self.table, domain.ONCE_PER, default="review")
        values["limit"] = self._limit()
        return values

    def _social(self) -> dict:
        values = {
            "platform": self.choice("platform", self.table, domain.PLATFORMS),
            "action": self.choice("action", self.table, domain.SOCIAL_ACTIONS),
            **self._points(),
            "preview_url": self.text("preview_url", self.table, URL_MAX),
            "suggested_text": self.text("suggested_text", self.table, TEXT_MAX, multiline=True),
            "limit": self._limit(),
        }
        url = values["preview_url"]
        if url is not None and (problem := url_problem(url, schemes=("https",))):
            self.add("preview_url", problem)
        return values

    def _limit(self) -> domain.Limit | None:
        value = self.subtable("limit", 'limit = { count = 5, per = "day" }')
        if value is None:
            return None
        self.unknown_keys(value, LIMIT_KEYS, "limit")
        count = self.whole(("limit", "count"), value, required=True, minimum=1, maximum=COUNT_MAX)
        per = self.choice(("limit", "per"), value, domain.LIMIT_PERIODS)
        if count is None or per is None:
            return None
        return domain.Limit(count=count, per=per)


class TierReader(_EarningReader):
    """Validates one `[[tier]]` table."""

    kind = "tier"
    example_slug = "gold"

    def read(self) -> domain.Tier | None:
        t = self.table
        self.unknown_keys(t, domain.TIER_KEYS)
        slug = self.slug()
        name = self.text("name", t, NAME_MAX, required=True)
        description = self.text("description", t, TEXT_MAX, multiline=True)
        threshold = self.whole("threshold", required=True, minimum=0, maximum=THRESHOLD_MAX)
        period = self._period()
        multiplier = self.decimal(
            "multiplier",
            default=Decimal(1),
            minimum=Decimal(0),
            maximum=MULTIPLIER_MAX,
            above=True,
        )
        overrides = self._overrides()
        downgrade = self.choice("downgrade", t, domain.DOWNGRADES, default="recalculate")
        active = self.boolean("active", t, default=True)
        if not self.ok:
            return None
        assert slug is not None and name is not None and threshold is not None
        positions = self.positions(domain.TIER_POSITIONED_KEYS)
        for rule in overrides:
            positions[f"overrides.{rule}"] = self.where("overrides", rule)
        return domain.Tier(
            slug=slug,
            name=name,
            threshold=threshold,
            period=period,
            multiplier=multiplier,
            overrides=overrides,
            downgrade=downgrade,
            active=active,
            description=description,
            source=self.file.source,
            line=self.where()[0],
            positions=positions,
        )

    def _period(self) -> str:
        value = self.table.get("period", domain.LIFETIME)
        if not isinstance(value, str):
            self.add("period", f'must be a string such as "12 months", not {describe(value)}.')
            return domain.LIFETIME
        try:
            return domain.period_text(value)
        except ValueError:
            self.add(
                "period",
                f'{quoted(value)} is not a period; use "lifetime" or a number of days, weeks,'
                ' months or years, e.g. "12 months".',
            )
            return domain.LIFETIME

    def _overrides(self) -> dict[str, int]:
        value = self.subtable(
            "overrides", 'overrides = { "order-points" = 2 }', what="a table of rule slugs"
        )
        if value is None:
            return {}
        found: dict[str, int] = {}
        for rule, number in value.items():
            field = ("overrides", rule)
            if not is_slug(rule):
                self.add(field, f"{quoted(rule)} is not an earning rule's slug.")
                continue
            if isinstance(number, bool) or not isinstance(number, int):
                # the seed's rule: per-tier values are whole numbers
                self.add(field, f"must be a whole number, not {describe(number)}.")
                continue
            if not 0 <= number <= MAX_AMOUNT:
                self.add(field, f"is {number:,}; it must be between 0 and {MAX_AMOUNT:,}.")
                continue
            found[rule] = number
        return dict(sorted(found.items()))
