"""Perk and campaign files: validate every `[[perk]]` and `[[campaign]]`, report every
problem at once.

`read_program_files` reads files and directories, validates each `[[perk]]` into a
`PerkSpec`, each `[[campaign]]` into a `CampaignSpec` and each `[[earning_rule]]` and
`[[tier]]` (program/earning.py), and raises `BadInputFile` with every problem of
every file (nothing is returned then), each placed at `file:line:column`.
`read_perk_files` is the same, giving the perks only. Reading the files and placing
keys is program/source.py.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loyaltyctl.domain.earning import EarningRule, Tier
from loyaltyctl.domain.errors import BadInputFile, Problem
from loyaltyctl.domain.perks import (
    CATEGORIES,
    POSITIONED_KEYS,
    REDEMPTION_TYPES,
    SLUG_MAX,
    PerkSpec,
)
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
from loyaltyctl.program import earning as earning_files
from loyaltyctl.program.source import (
    COUNT_MAX,
    NAME_MAX,
    TEXT_MAX,
    URL_MAX,
    KeyPath,
    Reader,
    Seen,
    SourceFile,
    describe,
    did_you_mean,
    is_slug,
    program_files,
    quoted,
    read_source,
    tables_of,
    text_problem,
    unknown_key,
    url_problem,
)

# the top-level arrays of tables a file may hold
TABLES = ("perk", "campaign", *earning_files.TABLES)
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
REDEMPTION_KEYS = (
    "type",
    "value",
    "value_env",
    "value_file",
    "instructions",
    "single_use",
    "iframe",
    "checkout_url",
    "webhook_url",
    "webhook_secret",
    "webhook_secret_env",
    "webhook_secret_file",
)
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
SECRET_MAX = 500
SINGLE_USE_BASE_MAX = 60  # leaves room for the "-SUFFIX" added per claim


@dataclass(frozen=True)
class ProgramFiles:
    """What program files hold, validated, in file order."""

    perks: list[PerkSpec]
    campaigns: list[CampaignSpec]
    rules: list[EarningRule] = field(default_factory=list)
    tiers: list[Tier] = field(default_factory=list)


def read_program_files(paths: list[Path], *, env: Mapping[str, str], tz: ZoneInfo) -> ProgramFiles:
    """Every perk, campaign, earning rule and tier of these files and directories
    (`*.toml`, recursively).

    `env` resolves `value_env` / `webhook_secret_env`; `tz` places dates and local
    datetimes. Raises `BadInputFile` listing every problem of every kind, sorted by
    file, line and column, when there is any.
    """
    problems: list[Problem] = []
    program = ProgramFiles(perks=[], campaigns=[])
    seen = Seen()
    for file in program_files(paths, problems):
        context = read_source(file, env=env, tz=tz, problems=problems)
        if context is not None:
            _top_level(context)
            program.perks.extend(_perks(context, seen))
            program.campaigns.extend(_campaigns(context, seen))
            program.rules.extend(earning_files.rules(context, seen))
            program.tiers.extend(earning_files.tiers(context, seen))
    if problems:
        problems.sort(key=lambda p: (p.file, p.line, p.column or 0))
        raise BadInputFile(problems)
    return program


def read_perk_files(paths: list[Path], *, env: Mapping[str, str], tz: ZoneInfo) -> list[PerkSpec]:
    """The perks of `read_program_files` (its campaigns are validated too, then left out)."""
    return read_program_files(paths, env=env, tz=tz).perks


# --- validation ----------------------------------------------------------------------


def _top_level(file: SourceFile) -> None:
    """Problems of the keys outside the program's tables, and of an empty file."""
    document = file.document
    holds = f"a file holds only {_tables_named('and')} tables"
    for key in document:
        if key not in TABLES:
            message = f"unknown top-level key {quoted(key)}; {holds}{did_you_mean(key, TABLES)}."
            file.add((key,), key, message)
    if not document:
        message = f"the file holds no {_tables_named('or')} table."
        file.problems.append(Problem(file.source, 1, None, message))


def _tables_named(conjunction: str) -> str:
    """ "[[perk]], [[campaign]], [[earning_rule]] and [[tier]]"."""
    names = [f"[[{table}]]" for table in TABLES]
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def _perks(file: SourceFile, seen: Seen) -> list[PerkSpec]:
    """The file's valid perks; problems (also of duplicate slugs) go to `file.problems`."""
    specs: list[PerkSpec] = []
    for index, table in tables_of(file, "perk"):
        reader = _PerkReader(file, index, table)
        spec = reader.read()
        if reader.unique_slug(seen.slugs("perk")) and spec is not None:
            specs.append(spec)
    return specs


def _campaigns(file: SourceFile, seen: Seen) -> list[CampaignSpec]:
    """The file's valid campaigns; problems (also of duplicate slugs and shared codes)
    go to `file.problems`."""
    specs: list[CampaignSpec] = []
    for index, table in tables_of(file, "campaign"):
        reader = _CampaignReader(file, index, table, seen.codes)
        spec = reader.read()
        if reader.unique_slug(seen.slugs("campaign")) and spec is not None:
            specs.append(spec)
    return specs


class _PerkReader(Reader):
    """Validates one `[[perk]]` table."""

    kind = "perk"
    example_slug = "free-coffee"

    def read(self) -> PerkSpec | None:
        t = self.table
        self.unknown_keys(t, PERK_KEYS)
        slug = self._slug()
        name = self._text("name", t, NAME_MAX, required=True)
        description = self._text("description", t, TEXT_MAX, multiline=True)
        price = self._whole("price", required=True, minimum=0, maximum=MAX_AMOUNT)
        category = self._category()
        active = self._bool("active", t, default=True)
        media, media_type, media_size = (
            self._media("media", t["media"]) if "media" in t else (None, None, None)
        )
        max_supply = self._whole("max_supply", minimum=0, maximum=COUNT_MAX)
        max_per_member = self._whole("max_per_member", minimum=1, maximum=COUNT_MAX)
        valid_from, valid_until = self._window()
        audience = self._audience()
        redemption = self._redemption()
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

    def _category(self) -> str:
        value = self.table.get("category", "general")
        if not isinstance(value, str):
            self.add("category", f"must be a string, not {describe(value)}.")
        elif value not in CATEGORIES:
            self.add(
                "category",
                f"{quoted(value)} is not a category; use one of {', '.join(CATEGORIES)}"
                f"{did_you_mean(value, CATEGORIES)}.",
            )
        else:
            return value
        return "general"

    def _redemption(self) -> dict[str, Any]:
        """The PerkSpec's redemption fields (meaningless when a problem was noted)."""
        table = self.table.get("redemption")
        if table is None:
            return {"redemption_type": "none"}
        if not isinstance(table, dict):
            self.add("redemption", "must be a table: write [perk.redemption] below the perk.")
            return {}
        for key in table:
            if key not in REDEMPTION_KEYS:
                self.add(("redemption", key), unknown_key(key, REDEMPTION_KEYS))
        kind = self._redemption_type(table)
        instructions = self._text("redemption.instructions", table, TEXT_MAX, multiline=True)
        single_use = self._bool("redemption.single_use", table, default=False)
        iframe = self._bool("redemption.iframe", table, default=False)
        checkout_url = self._text("redemption.checkout_url", table, URL_MAX)
        webhook_url = self._text("redemption.webhook_url", table, URL_MAX)

        value_keys = [k for k in ("value", "value_env", "value_file") if k in table]
        value = None
        if kind == "none" and value_keys:
            for key in value_keys:
                self.add(
                    f"redemption.{key}",
                    'is not used by type "none", which gives the member nothing to redeem;'
                    ' remove it or choose type "code", "link" or "webhook".',
                )
        else:
            value = self._secret(table, "value")
        secret_keys = [
            k for k in ("webhook_secret", "webhook_secret_env", "webhook_secret_file") if k in table
        ]
        webhook_secret = None
        if kind not in (None, "webhook") and secret_keys:
            for key in secret_keys:
                self.add(f"redemption.{key}", 'is only used with type "webhook".')
        else:
            webhook_secret = self._secret(table, "webhook_secret")

        if kind == "link" and value is not None and url_problem(value, schemes=("https", "http")):
            # the value may be a secret: say what is expected, never echo it
            self.add(f"redemption.{value_keys[0]}", 'must be an http(s) URL for type "link".')
        if single_use and kind not in (None, "code"):
            self.add(
                "redemption.single_use",
                'only works with type "code": a unique suffix is added to the code per claim.',
            )
        if single_use and kind == "code" and value is not None and len(value) > SINGLE_USE_BASE_MAX:
            self.add(
                f"redemption.{value_keys[0]}",
                f"is {len(value)} characters long; a single-use code may be at most"
                f" {SINGLE_USE_BASE_MAX} before its suffix.",
            )
        if iframe and kind == "none":
            self.add("redemption.iframe", 'is not used by type "none"; remove it.')
        elif iframe and checkout_url is None and "checkout_url" not in table:
            self.add(
                "redemption.iframe",
                "needs checkout_url, an https URL with {code} where the code goes.",
            )
        if checkout_url is not None:
            problem = url_problem(checkout_url, schemes=("https",))
            if not iframe:
                self.add(
                    "redemption.checkout_url",
                    "is only used with iframe = true; set iframe = true or remove it.",
                )
            elif problem:
                self.add("redemption.checkout_url", problem)
            elif "{code}" not in checkout_url:
                self.add(
                    "redemption.checkout_url",
                    "must contain {code}, where the member's code is put in the URL.",
                )
        if kind == "webhook" and webhook_url is None and "webhook_url" not in table:
            self.add(
                "redemption.type",
                'type "webhook" needs webhook_url, the https URL each claim is POSTed to.',
            )
        if webhook_url is not None:
            if kind not in (None, "webhook"):
                self.add("redemption.webhook_url", 'is only used with type "webhook".')
            else:
                problem = url_problem(webhook_url, schemes=("https",), local_http=True)
                if problem:
                    self.add("redemption.webhook_url", problem)

        return {
            "redemption_type": kind or "none",  # None: its problem is noted, no spec is built
            "value": value,
            "instructions": instructions,
            "single_use": single_use,
            "iframe": iframe,
            "checkout_url": checkout_url,
            "webhook_url": webhook_url,
            "webhook_secret": webhook_secret,
        }

    def _redemption_type(self, table: dict[str, Any]) -> str | None:
        if "type" not in table:
            self.add(
                "redemption.type",
                f"is missing; [perk.redemption] needs a type: {', '.join(REDEMPTION_TYPES)}.",
            )
            return None
        kind = table["type"]
        if not isinstance(kind, str):
            self.add("redemption.type", f"must be a string, not {describe(kind)}.")
            return None
        if kind not in REDEMPTION_TYPES:
            self.add(
                "redemption.type",
                f"{quoted(kind)} is not a redemption type; use one of"
                f" {', '.join(REDEMPTION_TYPES)}{did_you_mean(kind, REDEMPTION_TYPES)}.",
            )
            return None
        return kind

    def _secret(self, table: dict[str, Any], base: str) -> str | None:
        """The secret from `base`, `base_env` or `base_file`; None when none is given
        (the stored one is kept). Messages never quote the secret itself."""
        given = [k for k in (base, f"{base}_env", f"{base}_file") if k in table]
        if not given:
            return None
        if len(given) > 1:
            self.add(
                f"redemption.{given[1]}",
                f"give only one of {base}, {base}_env and {base}_file; this perk gives"
                f" {' and '.join(given)}.",
            )
            return None
        key = given[0]
        field = f"redemption.{key}"
        raw = table[key]
        if not isinstance(raw, str):
            self.add(field, f"must be a string, not {describe(raw)}.")
            return None
        if key != base and (problem := text_problem(raw, URL_MAX, multiline=False)):
            self.add(field, problem)  # a name or path: one line, and no NUL for the OS
            return None
        if key == base:
            secret, origin = raw, "it"
        elif key.endswith("_env"):
            secret, origin = self.file.env.get(raw, ""), f"the environment variable {raw}"
            if not secret:
                self.add(field, f"{origin} is not set or is empty; set it before running apply.")
                return None
        else:
            path = self.file.path.parent / raw
            origin = f"the file {path}"
            try:
                secret = path.read_bytes().decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                self.add(field, f"{origin} is not UTF-8 text.")
                return None
            except OSError as exc:
                self.add(field, f"cannot read {origin}: {exc.strerror}.")
                return None
        if not secret:
            self.add(field, f"{origin} is empty; leave {base} out to keep the stored one.")
            return None
        if len(secret) > SECRET_MAX:
            self.add(field, f"{origin} holds {len(secret)} characters; at most {SECRET_MAX}.")
            return None
        if any(unicodedata.category(ch) == "Cc" for ch in secret):
            self.add(field, f"{origin} must hold one line of text without control characters.")
            return None
        return secret


class _CampaignReader(Reader):
    """Validates one `[[campaign]]` table and its `[[campaign.code]]` tables.

    `codes` holds the shared codes read so far (normalised -> "file:line"), so a code
    equal to an earlier one in any file is reported where it repeats.
    """

    kind = "campaign"
    example_slug = "summer-2026"

    def __init__(
        self, file: SourceFile, index: int, table: dict[str, Any], codes: dict[str, str]
    ) -> None:
        super().__init__(file, index, table)
        self.codes = codes

    def read(self) -> CampaignSpec | None:
        t = self.table
        self.unknown_keys(t, CAMPAIGN_KEYS)
        slug = self._slug()
        name = self._text("name", t, NAME_MAX, required=True)
        description = self._text("description", t, TEXT_MAX, multiline=True)
        valid_from, valid_until = self._window()
        points = self._whole("points", minimum=0, maximum=MAX_AMOUNT)
        perks = self._perk_slugs()
        grants_ok = (points is not None or "points" not in t) and perks is not None
        if grants_ok and not points and not perks:
            where = next((k for k in ("points", "perks") if k in t), ())
            self.add(
                where,
                "a campaign must grant points, perks or both; give points above 0"
                ' or a list of perk slugs, e.g. perks = ["free-coffee"].',
            )
        per_member = self._whole("per_member", minimum=1, maximum=COUNT_MAX)
        # a daily limit above the total one is allowed: the total one then decides
        per_member_daily = self._whole("per_member_daily", minimum=1, maximum=COUNT_MAX)
        audience = self._audience()
        status = self._status()
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

    def _status(self) -> str:
        value = self.table.get("status", "active")
        if not isinstance(value, str):
            self.add("status", f"must be a string, not {describe(value)}.")
        elif value not in STATUSES:
            self.add(
                "status",
                f"{quoted(value)} is not a status; use one of {', '.join(STATUSES)}"
                f"{did_you_mean(value, STATUSES)}.",
            )
        else:
            return value
        return "active"

    def _share(self) -> dict[str, str] | None:
        """title / subtitle / image (resolved), as given; None when there is no share."""
        value = self._table("share", 'share = { title = "Summer codes" }')
        if value is None:
            return None
        self.unknown_keys(value, SHARE_KEYS, "share")
        share: dict[str, str] = {}
        for key in ("title", "subtitle"):
            text = self._text(("share", key), value, NAME_MAX)
            if text is not None:
                share[key] = text
        if "image" in value:
            image = self._media(("share", "image"), value["image"], images_only=True)[0]
            if image is not None:
                share["image"] = image
        return share

    def _page(self) -> dict[str, Any] | None:
        """Free-form, kept as plain JSON values; `banner` resolved like an image."""
        value = self._table("page", 'page = { background = "#0b3d2e" }')
        if value is None:
            return None
        page: dict[str, Any] = {}
        for key, item in value.items():
            if key == "banner":
                page[key] = self._media(("page", "banner"), item, images_only=True)[0]
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
        inventory = self._whole(("code", index, "inventory"), table, minimum=1, maximum=COUNT_MAX)
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
        if normal in self.codes:
            self.add(
                field,
                f"is the same code as the one at {self.codes[normal]} once case, spaces, dashes"
                " and O/0, I/L/1 are ignored; shared codes must differ across all campaigns.",
            )
            return None
        self.codes[normal] = f"{self.file.source}:{line}"
        return SharedCodeSpec(code=code, inventory=inventory, line=line, column=column)
