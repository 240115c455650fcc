"""`[[perk]]` tables: validated into `PerkSpec`s. The `[perk.redemption]` table is read
by the reader of its type (program/redemptions/)."""

from __future__ import annotations

import re

from loyaltyctl.domain.perks import (
    CATEGORIES,
    MAX_BUCKETS,
    POSITIONED_KEYS,
    PerkSpec,
    tier_multiple,
)
from loyaltyctl.domain.values import MAX_AMOUNT
from loyaltyctl.program.checks import (
    COUNT_MAX,
    NAME_MAX,
    TEXT_MAX,
    describe,
    is_slug,
    quoted,
)
from loyaltyctl.program.reader import Reader
from loyaltyctl.program.redemptions import REDEMPTIONS, read_redemption

PERK_KEYS = (
    "slug",
    "name",
    "price",
    "category",
    "description",
    "active",
    "media",
    "max_supply",
    "supply_buckets",
    "max_per_member",
    "valid_from",
    "valid_until",
    "audience",
    "tier_prices",
    "redemption",
)
TIER_MULTIPLE = re.compile(r"[0-9]+(\.[0-9]{1,2})?x")


class PerkReader(Reader):
    """Validates one `[[perk]]` table."""

    kind = "perk"
    example_slug = "free-coffee"

    def read(self) -> PerkSpec | None:
        t = self.table
        # a redemption type may read a table of the perk's own (a coupon's [perk.coupon])
        self.unknown_keys(
            t, PERK_KEYS + tuple(k for r in REDEMPTIONS.values() for k in r.perk_keys)
        )
        slug = self.slug()
        name = self.text("name", t, NAME_MAX, required=True)
        description = self.text("description", t, TEXT_MAX, multiline=True)
        price = self.whole("price", required=True, minimum=0, maximum=MAX_AMOUNT)
        category = self.choice("category", t, CATEGORIES, default="general", noun="category")
        active = self.boolean("active", t, default=True)
        media, media_type, media_size = (
            self.media("media", t["media"]) if "media" in t else (None, None, None)
        )
        max_supply = self.whole("max_supply", minimum=0, maximum=COUNT_MAX)
        supply_buckets = self.whole("supply_buckets", minimum=0, maximum=MAX_BUCKETS)
        if supply_buckets == 0:
            self.add(
                "supply_buckets",
                "is 0, but it must be at least 1 (1 keeps the supply in one counter); leave "
                "it out to let loyaltyctl choose.",
            )
        max_per_member = self.whole("max_per_member", minimum=0, maximum=COUNT_MAX)
        valid_from, valid_until = self.window()
        audience = self.audience()
        redemption = read_redemption(self)
        if "coupon" in t and redemption.get("redemption_type") != "coupon":
            self.add("coupon", 'is only used with [perk.redemption] type = "coupon".')
        tier_prices = self._tier_prices(redemption.get("coupon"))
        if not self.ok:
            return None
        assert slug is not None and name is not None and price is not None
        return PerkSpec(
            slug=slug,
            name=name,
            price=price,
            category=category,
            description=description,
            active=active,
            media=media,
            media_type=media_type,
            media_size=media_size,
            max_supply=max_supply or None,  # 0 means unlimited
            supply_buckets=supply_buckets,
            max_per_member=max_per_member or None,  # 0 means unlimited, as for max_supply
            valid_from=valid_from,
            valid_until=valid_until,
            audience=audience,
            tier_prices=tier_prices,
            **redemption,
            source=self.file.source,
            line=self.where()[0],
            positions=self.positions(POSITIONED_KEYS),
        )

    def _tier_prices(self, coupon) -> dict[str, int | str]:
        """`tier_prices = { gold = 80, platinum = "0.5x" }`: whole points, or a multiple of
        price (rounded up to whole points when claimed). Whether each tier exists is told
        when planning (a warning: tiers may come later)."""
        table = self.subtable("tier_prices", '{ gold = 80, platinum = "0.5x" }')
        if table is None:
            return {}
        if coupon is not None and coupon.kind == "convert":
            self.add(
                "tier_prices",
                "is not used by a convert coupon: the member chooses the points to convert.",
            )
            return {}
        prices: dict[str, int | str] = {}
        for tier, value in table.items():
            field = ("tier_prices", tier)
            if not is_slug(tier):
                self.add(
                    field, f"{quoted(tier)} is not a tier slug (lowercase letters, digits, dashes)."
                )
            elif isinstance(value, str) and TIER_MULTIPLE.fullmatch(value.strip()):
                multiple = tier_multiple(value.strip())
                if multiple <= 0 or multiple > 100:
                    self.add(
                        field, f"{quoted(value)}: the multiple must be above 0x and at most 100x."
                    )
                else:
                    prices[tier] = value.strip()
            elif isinstance(value, int) and not isinstance(value, bool):
                if self.whole(field, table, minimum=0, maximum=MAX_AMOUNT) is not None:
                    prices[tier] = value
            else:
                self.add(
                    field,
                    f'must be whole points (e.g. 80) or a multiple of price (e.g. "0.5x"),'
                    f" not {describe(value)}.",
                )
        return prices
