"""`[[perk]]` tables: validated into `PerkSpec`s. The `[perk.redemption]` table is read
by the reader of its type (program/redemptions/)."""

from __future__ import annotations

from loyaltyctl.domain.perks import CATEGORIES, POSITIONED_KEYS, PerkSpec
from loyaltyctl.domain.values import MAX_AMOUNT
from loyaltyctl.program.checks import (
    COUNT_MAX,
    NAME_MAX,
    TEXT_MAX,
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
    "max_per_member",
    "valid_from",
    "valid_until",
    "audience",
    "redemption",
)


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
        max_per_member = self.whole("max_per_member", minimum=1, maximum=COUNT_MAX)
        valid_from, valid_until = self.window()
        audience = self.audience()
        redemption = read_redemption(self)
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
            max_per_member=max_per_member,
            valid_from=valid_from,
            valid_until=valid_until,
            audience=audience,
            **redemption,
            source=self.file.source,
            line=self.where()[0],
            positions=self.positions(POSITIONED_KEYS),
        )
