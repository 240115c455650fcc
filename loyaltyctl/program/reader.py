"""The base of the readers that validate each kind of table of a program file (perks,
campaigns, earning rules, tiers): where a problem is noted, and the typed values and
fields every kind shares. A kind of table is one `Reader` subclass, registered in
program/files.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from loyaltyctl.domain.perks import SLUG_MAX, Audience
from loyaltyctl.domain.values import ValueProblem, validate_label
from loyaltyctl.program.checks import (
    describe,
    did_you_mean,
    is_slug,
    quoted,
    text_problem,
    unknown_key,
)
from loyaltyctl.program.media import MediaProblem, read_media
from loyaltyctl.program.source import KeyPath, Position, SourceFile

AUDIENCE_KEYS = ("plans", "tiers", "groups", "tags")

Field = str | KeyPath  # under a perk or campaign: "redemption.type", ("code", 0, "inventory")


class Seen:
    """What earlier tables of the loaded files took, each -> "file:line" of its first
    use: slugs by kind (a perk and a campaign may share a slug: they are different
    things) and shared codes."""

    def __init__(self) -> None:
        self._slugs: dict[str, dict[str, str]] = {}
        self.codes: dict[str, str] = {}  # normalised shared code

    def slugs(self, kind: str) -> dict[str, str]:
        return self._slugs.setdefault(kind, {})


def tables_of(file: SourceFile, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """The `[[kind]]` tables of the file with their index; problems of their shape noted."""
    value = file.document.get(kind)
    if value is None:
        return []
    if not isinstance(value, list):
        file.add((kind,), kind, f"must be written as [[{kind}]] tables, one per {kind}.")
        return []
    tables: list[tuple[int, dict[str, Any]]] = []
    for index, table in enumerate(value):
        if isinstance(table, dict):
            tables.append((index, table))
        else:
            file.add((kind, index), kind, f"each {kind} must be a table of keys.")
    return tables


def keys_of(field: Field) -> KeyPath:
    return tuple(field.split(".")) if isinstance(field, str) else field


def last_key(field: Field) -> str:
    """The key a field ends with: "type" of "redemption.type"."""
    return str(keys_of(field)[-1])


class Reader:
    """Validates one table of a kind; every problem is noted, then `read` gives None.

    A kind of table subclasses it: `kind` names the top-level array of tables it reads
    and `read` builds the kind's spec with the helpers below (typed values and the
    fields several kinds share).
    """

    kind = ""  # "perk", "campaign", "earning_rule", "tier": the top-level array of tables
    noun = ""  # how messages name one (the kind when empty)
    example_slug = ""

    def __init__(self, file: SourceFile, index: int, table: dict[str, Any], seen: Seen) -> None:
        self.file = file
        self.index = index
        self.table = table
        self.seen = seen
        self.ok = True
        self.slug_ok = False

    @classmethod
    def read_all(cls, file: SourceFile, seen: Seen) -> list[Any]:
        """The file's valid tables of this kind as specs; problems (also of duplicate
        slugs) go to the file."""
        specs = []
        for index, table in tables_of(file, cls.kind):
            reader = cls(file, index, table, seen)
            spec = reader.read()
            if reader.unique_slug(seen.slugs(cls.kind)) and spec is not None:
                specs.append(spec)
        return specs

    def read(self) -> Any:
        """The table's spec, or None when a problem was noted."""
        raise NotImplementedError

    def add(self, field: Field, message: str) -> None:
        """Note a problem at `field` (keys under this table); the field named in the
        problem leaves out array indexes, the position tells which item it is."""
        keys = keys_of(field)
        self.ok = False
        name = ".".join(k for k in keys if isinstance(k, str)) or None
        self.file.add((self.kind, self.index, *keys), name, message)

    def where(self, *keys: str | int) -> Position:
        return self.file.where((self.kind, self.index, *keys))

    def positions(self, keys: tuple[str, ...]) -> dict[str, Position]:
        return {key: self.where(*key.split(".")) for key in keys}

    def unique_slug(self, slugs: dict[str, str]) -> bool:
        """False (noted) when an earlier table of this kind has the same slug."""
        slug = self.table.get("slug")
        if not (self.slug_ok and isinstance(slug, str)):
            return True
        if slug in slugs:
            self.add(
                "slug",
                f"{quoted(slug)} is already the slug of the {self.noun or self.kind} at"
                f" {slugs[slug]}.",
            )
            return False
        slugs[slug] = f"{self.file.source}:{self.where()[0]}"
        return True

    def unknown_keys(
        self, table: dict[str, Any], known: tuple[str, ...], *under: str | int
    ) -> None:
        for key in table:
            if key not in known:
                self.add((*under, key), unknown_key(key, known))

    # -- typed values

    def _present(self, key: str, table: dict[str, Any], field: Field, required: bool) -> bool:
        if key in table:
            return True
        if required:
            self.add(field, f"is missing; every {self.noun or self.kind} needs a {key}.")
        return False

    def choice(
        self,
        field: Field,
        table: dict[str, Any],
        choices: tuple[str, ...],
        *,
        default=None,
        noun: str | None = None,
    ) -> str | None:
        """One of ``choices``; a bad or missing value is noted (missing: only when there
        is no default) and gives the default."""
        key = last_key(field)
        if key not in table:
            if default is None:
                self.add(field, f"is missing; use one of {', '.join(choices)}.")
            return default
        value = table[key]
        if not isinstance(value, str):
            self.add(field, f"must be a string, not {describe(value)}.")
            return default
        if value not in choices:
            self.add(
                field,
                f"{quoted(value)} is not "
                + (f"a {noun}; use one of " if noun else "one of ")
                + f"{', '.join(choices)}"
                f"{did_you_mean(value, choices)}.",
            )
            return default
        return value

    def text(
        self,
        field: Field,
        table: dict[str, Any],
        limit: int,
        *,
        required: bool = False,
        multiline: bool = False,
    ) -> str | None:
        key = last_key(field)
        if not self._present(key, table, field, required):
            return None
        value = table[key]
        if not isinstance(value, str):
            self.add(field, f"must be a string, not {describe(value)}.")
            return None
        if required and not value.strip():
            self.add(field, "is empty; give it some text.")
            return None
        problem = text_problem(value, limit, multiline=multiline)
        if problem:
            self.add(field, problem)
            return None
        return value.strip() if required else value

    def boolean(self, field: Field, table: dict[str, Any], *, default: bool) -> bool:
        value = table.get(last_key(field), default)
        if not isinstance(value, bool):
            self.add(field, f"must be true or false, not {describe(value)}.")
            return default
        return value

    def whole(
        self,
        field: Field,
        table: dict[str, Any] | None = None,
        *,
        minimum: int,
        maximum: int,
        required: bool = False,
    ) -> int | None:
        table = self.table if table is None else table
        key = last_key(field)
        if not self._present(key, table, field, required):
            return None
        value = table[key]
        # bool is an int subclass in Python, but `price = true` is a mistake, not 1
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, f"must be a whole number, not {describe(value)}.")
            return None
        if value < minimum:
            if minimum == 1:
                self.add(
                    field, f"is {value}, but it must be at least 1; leave it out for no limit."
                )
            else:
                self.add(field, f"is {value}, but it must be {minimum} or more.")
            return None
        if value > maximum:
            self.add(field, f"is {value:,}; it may be at most {maximum:,}.")
            return None
        return value

    def moment(self, key: str, *, end_of_day: bool) -> datetime | None:
        if key not in self.table:
            return None
        value = self.table[key]
        # datetime is a subclass of date: test it first
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            # a date-only window includes the whole of its last day
            moment = datetime.combine(value, time.max if end_of_day else time.min)
        else:
            self.add(
                key,
                f"must be a TOML date or datetime without quotes, e.g. 2026-12-01T00:00:00Z,"
                f" not {describe(value)}.",
            )
            return None
        if moment.tzinfo is None:  # local date-time: in the program's time zone
            moment = moment.replace(tzinfo=self.file.tz)
        return moment.astimezone(UTC)

    # -- fields

    def slug(self) -> str | None:
        if not self._present("slug", self.table, "slug", True):
            return None
        slug = self.table["slug"]
        if not isinstance(slug, str):
            self.add("slug", f"must be a string, not {describe(slug)}.")
            return None
        if not is_slug(slug):
            self.add(
                "slug",
                f"{quoted(slug)} is not a valid slug; use lowercase letters, digits and single"
                f' hyphens, at most {SLUG_MAX} characters, e.g. "{self.example_slug}".',
            )
            return None
        self.slug_ok = True
        return slug

    def window(self) -> tuple[datetime | None, datetime | None]:
        valid_from = self.moment("valid_from", end_of_day=False)
        valid_until = self.moment("valid_until", end_of_day=True)
        if valid_from is not None and valid_until is not None and valid_from >= valid_until:
            self.add(
                "valid_until",
                f"is not after valid_from ({valid_until:%Y-%m-%d %H:%M} UTC is not after"
                f" {valid_from:%Y-%m-%d %H:%M} UTC); the window must end after it starts.",
            )
        return valid_from, valid_until

    def media(
        self, field: Field, value: object, *, images_only: bool = False
    ) -> tuple[str | None, str | None, int | None]:
        """(absolute path or https URL, MIME type, size of a local file) of one image or
        video; images only when asked. Nones after a noted problem."""
        try:
            return read_media(
                value,
                key=last_key(field),
                folder=self.file.path.parent,
                kind=self.kind,
                images_only=images_only,
            )
        except MediaProblem as exc:
            self.add(field, str(exc))
            return None, None, None

    def subtable(self, key: str, example: str, what: str = "a table") -> dict[str, Any] | None:
        """The inline table at ``key`` of this table; None when absent or not a table
        (that problem noted, with an ``example`` of one)."""
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, dict):
            self.add(key, f"must be {what}, e.g. {example}, not {describe(value)}.")
            return None
        return value

    def audience(self) -> Audience:
        value = self.subtable("audience", 'audience = { tiers = ["gold"] }')
        if value is None:
            return Audience()
        self.unknown_keys(value, AUDIENCE_KEYS, "audience")
        lists = {
            key: self.labels(f"audience.{key}", value.get(key, []), key[:-1])
            for key in AUDIENCE_KEYS
        }
        return Audience(**lists)

    def labels(self, field: Field, items: object, what: str) -> tuple[str, ...]:
        """An array of names that match members' labels (tiers, groups, tags, plans)."""
        if not isinstance(items, list):
            example = f'e.g. {last_key(field)} = ["gold"]'
            self.add(field, f"must be an array of names, {example}, not {describe(items)}.")
            return ()
        names: list[str] = []
        for item in items:
            if not isinstance(item, str) or not item.strip():
                self.add(field, f"must list each {what} as a non-empty string.")
                break
            try:
                names.append(validate_label(item, what))  # the rule members' labels follow
            except ValueProblem as exc:
                self.add(field, f"{exc}.")
                break
        return tuple(dict.fromkeys(names))  # a repeated name changes nothing
