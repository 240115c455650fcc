"""`[[campaign]]` tables and their `[[campaign.code]]` shared codes: validated into
`CampaignSpec`s."""

from __future__ import annotations

import math
from datetime import date, time
from typing import Any

from loyaltyctl.domain.perks import SLUG_MAX
from loyaltyctl.domain.promo import (
    CAMPAIGN_POSITIONED_KEYS,
    SHARED_CODE_MAX,
    STATUSES,
    CampaignSpec,
    SharedCodeSpec,
    normalize,
    shared_code_problem,
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
from loyaltyctl.program.source import KeyPath

CAMPAIGN_KEYS = (
    "slug",
    "name",
    "description",
    "valid_from",
    "valid_until",
    "points",
    "perks",
    "per_member",
    "per_member_daily",
    "audience",
    "status",
    "share",
    "page",
    "code",
)
SHARE_KEYS = ("title", "subtitle", "image")
CODE_KEYS = ("code", "inventory")


class CampaignReader(Reader):
    """Validates one `[[campaign]]` table and its `[[campaign.code]]` tables.

    `seen.codes` holds the shared codes read so far (normalised -> "file:line"), so a
    code equal to an earlier one in any file is reported where it repeats.
    """

    kind = "campaign"
    example_slug = "summer-2026"

    def read(self) -> CampaignSpec | None:
        t = self.table
        self.unknown_keys(t, CAMPAIGN_KEYS)
        slug = self.slug()
        name = self.text("name", t, NAME_MAX, required=True)
        description = self.text("description", t, TEXT_MAX, multiline=True)
        valid_from, valid_until = self.window()
        points = self.whole("points", minimum=0, maximum=MAX_AMOUNT)
        perks = self._perk_slugs()
        grants_ok = (points is not None or "points" not in t) and perks is not None
        if grants_ok and not points and not perks:
            where = next((k for k in ("points", "perks") if k in t), ())
            self.add(
                where,
                "a campaign must grant points, perks or both; give points above 0"
                ' or a list of perk slugs, e.g. perks = ["free-coffee"].',
            )
        per_member = self.whole("per_member", minimum=1, maximum=COUNT_MAX)
        # a daily limit above the total one is allowed: the total one then decides
        per_member_daily = self.whole("per_member_daily", minimum=1, maximum=COUNT_MAX)
        audience = self.audience()
        status = self.choice("status", self.table, STATUSES, default="active", noun="status")
        share = self._share()
        page = self._page()
        codes = self._shared_codes()
        if not self.ok:
            return None
        assert slug is not None and name is not None and perks is not None
        positions = self.positions(tuple(k for k in CAMPAIGN_POSITIONED_KEYS if k != "code"))
        if "code" in CAMPAIGN_POSITIONED_KEYS:
            positions["code"] = self.where("code", 0)  # the first shared code's table
        return CampaignSpec(
            slug=slug,
            name=name,
            description=description,
            valid_from=valid_from,
            valid_until=valid_until,
            points=points or 0,
            perks=perks,
            per_member=per_member,
            per_member_daily=per_member_daily,
            audience=audience,
            status=status,
            share=share,
            page=page,
            codes=codes,
            source=self.file.source,
            line=self.where()[0],
            positions=positions,
        )

    def _perk_slugs(self) -> tuple[str, ...] | None:
        """The prize perks' slugs; None after a noted problem."""
        value = self.table.get("perks", [])
        if not isinstance(value, list):
            self.add(
                "perks",
                'must be an array of perk slugs, e.g. perks = ["free-coffee"],'
                f" not {describe(value)}.",
            )
            return None
        slugs: list[str] = []
        ok = True
        for position, item in enumerate(value):
            field = ("perks", position)
            if not isinstance(item, str):
                self.add(field, f"must list each perk by its slug, a string, not {describe(item)}.")
                ok = False
            elif not is_slug(item):
                self.add(
                    field,
                    f"{quoted(item)} is not a valid perk slug; a slug has lowercase letters,"
                    f" digits and single hyphens, at most {SLUG_MAX} characters.",
                )
                ok = False
            elif item in slugs:
                self.add(field, f"{quoted(item)} is listed twice; list each prize perk once.")
                ok = False
            else:
                slugs.append(item)
        return tuple(slugs) if ok else None

    def _share(self) -> dict[str, str] | None:
        """title / subtitle / image (resolved), as given; None when there is no share."""
        value = self.subtable("share", 'share = { title = "Summer codes" }')
        if value is None:
            return None
        self.unknown_keys(value, SHARE_KEYS, "share")
        share: dict[str, str] = {}
        for key in ("title", "subtitle"):
            text = self.text(("share", key), value, NAME_MAX)
            if text is not None:
                share[key] = text
        if "image" in value:
            image = self.media(("share", "image"), value["image"], images_only=True)[0]
            if image is not None:
                share["image"] = image
        return share

    def _page(self) -> dict[str, Any] | None:
        """Free-form, kept as plain JSON values; `banner` resolved like an image."""
        value = self.subtable("page", 'page = { background = "#0b3d2e" }')
        if value is None:
            return None
        page: dict[str, Any] = {}
        for key, item in value.items():
            if key == "banner":
                page[key] = self.media(("page", "banner"), item, images_only=True)[0]
            else:
                page[key] = self._json(("page", key), item)
        return page

    def _json(self, field: KeyPath, value: Any) -> Any:
        """`value` as plain JSON data; TOML's dates and times, nan and inf are problems."""
        if isinstance(value, dict):
            return {key: self._json((*field, key), item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._json((*field, i), item) for i, item in enumerate(value)]
        if isinstance(value, date | time):
            self.add(
                field,
                f"is {describe(value)}; page values are kept as JSON, which has none:"
                f" use a string, e.g. {quoted(value.isoformat())}.",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.add(field, f"is {value}, which JSON cannot hold; use a string or a number.")
            return None
        return value

    def _shared_codes(self) -> tuple[SharedCodeSpec, ...]:
        if "code" not in self.table:
            return ()
        value = self.table["code"]
        if not isinstance(value, list):
            self.add(
                "code",
                "must be written as [[campaign.code]] tables (double brackets), one per shared"
                f" code, not {'[campaign.code]' if isinstance(value, dict) else describe(value)}.",
            )
            return ()
        codes: list[SharedCodeSpec] = []
        for index, table in enumerate(value):
            if not isinstance(table, dict):
                self.add(
                    ("code", index),
                    "each shared code must be a table: write [[campaign.code]] with code = ...,"
                    f" not {describe(table)}.",
                )
                continue
            spec = self._shared_code(index, table)
            if spec is not None:
                codes.append(spec)
        return tuple(codes)

    def _shared_code(self, index: int, table: dict[str, Any]) -> SharedCodeSpec | None:
        """One `[[campaign.code]]`. Messages never quote a code: it works like a password."""
        self.unknown_keys(table, CODE_KEYS, "code", index)
        field = ("code", index, "code")
        inventory = self.whole(("code", index, "inventory"), table, minimum=1, maximum=COUNT_MAX)
        if "code" not in table:
            self.add(("code", index), "is missing; every [[campaign.code]] table needs a code.")
            return None
        code = table["code"]
        if not isinstance(code, str):
            self.add(field, f"must be a string, not {describe(code)}.")
            return None
        normal = normalize(code)
        if (why := shared_code_problem(code)) is not None:
            self.add(field, why)
            return None
        if not normal:
            self.add(field, "has no letter or digit; a code needs at least one.")
            return None
        if len(normal) > SHARED_CODE_MAX:
            self.add(
                field,
                f"is {len(normal)} characters long without its spaces and dashes;"
                f" at most {SHARED_CODE_MAX} are allowed.",
            )
            return None
        line, column = self.where(*field)
        if normal in self.seen.codes:
            self.add(
                field,
                f"is the same code as the one at {self.seen.codes[normal]} once case, spaces,"
                " dashes and O/0, I/L/1 are ignored; shared codes must differ across all"
                " campaigns.",
            )
            return None
        self.seen.codes[normal] = f"{self.file.source}:{line}"
        return SharedCodeSpec(code=code, inventory=inventory, line=line, column=column)
