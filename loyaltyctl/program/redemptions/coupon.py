"""`type = "coupon"`: each claim issues a single-use coupon with the terms of the perk's
`[perk.coupon]` table (spec §7 "Coupons"): fixed, percent, convert, free_shipping or
free_product."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from loyaltyctl.domain.coupons import KINDS, CouponSpec
from loyaltyctl.domain.money import MoneyProblem, parse_money, parse_percent
from loyaltyctl.domain.values import MAX_AMOUNT
from loyaltyctl.program.checks import NAME_MAX, describe
from loyaltyctl.program.redemptions.base import RedemptionReader

EXPIRY_DAYS_MAX = 3650
SHARED_KEYS = ("kind", "min_purchase", "collections", "expires_after_days")
# kind -> the keys of [perk.coupon] it reads besides the shared ones (required ones first)
KIND_KEYS = {
    "fixed": ("amount",),
    "percent": ("percent",),
    "convert": ("points", "amount", "min_points", "max_points"),
    "free_shipping": ("max_shipping",),
    "free_product": ("product", "variants"),
}
REQUIRED = {
    "fixed": ("amount",),
    "percent": ("percent",),
    "convert": ("points", "amount"),
    "free_shipping": ("max_shipping",),
    "free_product": ("product",),
}
ALL_KEYS = SHARED_KEYS + tuple(dict.fromkeys(k for keys in KIND_KEYS.values() for k in keys))


class CouponRedemption(RedemptionReader):
    type = "coupon"
    keys = ("instructions",)
    perk_keys = ("coupon",)

    def fill(self, fields: dict[str, Any]) -> None:
        for key in self.given("value"):
            self.add(key, 'is not used by type "coupon": each claim gets a code of its own.')
        self.refuse_webhook(fields)
        self.refuse_single_use(fields)
        if fields["iframe"]:
            self.add("iframe", 'is not used by type "coupon"; remove it.')
        self.check_checkout_url(fields)
        fields["coupon"] = _CouponTable(self.perk).read()


class _CouponTable:
    """The perk's `[perk.coupon]` table, every problem noted on the perk's reader."""

    def __init__(self, perk) -> None:
        self.perk = perk

    def add(self, key: str, message: str) -> None:
        self.perk.add(f"coupon.{key}", message)

    def read(self) -> CouponSpec | None:
        perk = self.perk
        if "coupon" not in perk.table:
            perk.add(
                "redemption.type",
                "needs a [perk.coupon] table with the coupon's kind and terms, e.g. kind = "
                '"fixed" and amount = "10.00".',
            )
            return None
        table = perk.subtable("coupon", '{ kind = "fixed", amount = "10.00" }')
        if table is None:
            return None
        perk.unknown_keys(table, ALL_KEYS, "coupon")
        kind = perk.choice("coupon.kind", table, KINDS, noun="coupon kind")
        if kind is None:
            return None
        for key in table:
            if key in ALL_KEYS and key not in SHARED_KEYS and key not in KIND_KEYS[kind]:
                self.add(key, f"is not used by a {kind} coupon; remove it.")
        for key in REQUIRED[kind]:
            if key not in table:
                self.add(key, f"is missing; a {kind} coupon needs {key}.")
        values = self._values(table)
        if kind == "convert":
            self._check_convert(values)
        return CouponSpec(kind=kind, **values)

    def _values(self, table: dict[str, Any]) -> dict[str, Any]:
        perk = self.perk
        whole = {"minimum": 1, "maximum": MAX_AMOUNT}
        return {
            "amount": self._money(table, "amount", positive=True),
            "percent": self._percent(table),
            "min_purchase": self._money(table, "min_purchase"),
            "max_shipping": self._money(table, "max_shipping", positive=True),
            "product": perk.text("coupon.product", table, NAME_MAX),
            "variants": self._names(table, "variants"),
            "collections": self._names(table, "collections"),
            "expires_after_days": perk.whole(
                "coupon.expires_after_days", table, minimum=1, maximum=EXPIRY_DAYS_MAX
            ),
            "points": perk.whole("coupon.points", table, **whole),
            "min_points": perk.whole("coupon.min_points", table, **whole),
            "max_points": perk.whole("coupon.max_points", table, **whole),
        }

    def _check_convert(self, values: dict[str, Any]) -> None:
        low, high = values["min_points"], values["max_points"]
        if low is not None and high is not None and low > high:
            self.add("min_points", f"is {low:,}, above max_points {high:,}.")

    def _money(self, table: dict[str, Any], key: str, *, positive: bool = False) -> Decimal | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, float):  # TOML 12.5: its shortest text is what was written
            value = repr(value)
        try:
            amount = parse_money(value)
        except MoneyProblem as problem:
            self.add(key, f"{problem}.")
            return None
        if positive and amount == 0:
            self.add(key, "must be more than 0.00.")
            return None
        return amount

    def _percent(self, table: dict[str, Any]) -> Decimal | None:
        if "percent" not in table:
            return None
        value = table["percent"]
        if isinstance(value, float):
            value = repr(value)
        try:
            return parse_percent(value)
        except MoneyProblem as problem:
            self.add("percent", f"{problem}.")
            return None

    def _names(self, table: dict[str, Any], key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() and len(item) <= NAME_MAX for item in value
        ):
            shown = describe(value) if not isinstance(value, list) else "an array with a non-name"
            self.add(key, f'must be an array of names, e.g. {key} = ["summer"], not {shown}.')
            return ()
        return tuple(dict.fromkeys(item.strip() for item in value))
