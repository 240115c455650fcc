"""Reading program files (TOML): parse, validate every perk and campaign, report every
problem at once.

`load_program` reads files and directories, validates each `[[perk]]` into a
`PerkSpec` and each `[[campaign]]` into a `CampaignSpec`, and raises
`BadInputFile` with every problem of every file (nothing is returned then), each
placed at `file:line:column`. `load_perk_files` is the same, giving the perks only.

`tomllib` keeps no positions, so a small scanner (`_KeyScanner`) walks the same
source once more, after it parsed, and notes where each table header and key is
written. It only has to understand valid TOML, which keeps it short.

No network: an https media URL is checked by its extension only.
"""

from __future__ import annotations

import codecs
import difflib
import math
import os
import re
import tomllib
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from loyaltyctl.domain.errors import BadInputFile, Problem
from loyaltyctl.domain.media import SNIFF_BYTES, SUPPORTED, is_video, max_bytes, sniff
from loyaltyctl.domain.media import type_from_extension as media_type_from_extension
from loyaltyctl.domain.perks import (
    CATEGORIES,
    POSITIONED_KEYS,
    REDEMPTION_TYPES,
    SLUG_MAX,
    SLUG_PATTERN,
    Audience,
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
from loyaltyctl.domain.values import MAX_AMOUNT, ValueProblem, validate_label

TABLES = ("perk", "campaign")  # the top-level arrays of tables a file may hold
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
AUDIENCE_KEYS = ("plans", "tiers", "groups", "tags")
# top-level tables that later versions read; named so the message says "not yet", not "typo"
NOT_YET_SUPPORTED = {"earning_rule": "earning rules", "tier": "tiers"}

NAME_MAX = 200  # also a share's title and subtitle
TEXT_MAX = 2000  # description, instructions
SECRET_MAX = 500
SINGLE_USE_BASE_MAX = 60  # leaves room for the "-SUFFIX" added per claim
URL_MAX = 1000  # the database columns of URLs and media paths
# max_supply / max_per_member / per_member / inventory: far above any real use, and fits
# any integer column
COUNT_MAX = 1_000_000_000
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # plain http allowed here, for local webhook tests
MB = 1024 * 1024
IMAGES = "jpeg, png, webp or gif"  # what share.image and page.banner accept

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SYNTAX_RE = re.compile(r"^(.*) \(at (?:line (\d+), column (\d+)|end of document)\)$", re.DOTALL)
_SHARED_CODE_RE = re.compile(r"[A-Za-z0-9 -]*")  # as written, before `normalize`

KeyPath = tuple[str | int, ...]  # e.g. ("perk", 0, "redemption", "type")
Position = tuple[int, int]  # (line, column), both 1-based
Field = str | KeyPath  # under a perk or campaign: "redemption.type", ("code", 0, "inventory")


@dataclass(frozen=True)
class ProgramFiles:
    """What program files hold, validated, in file order."""

    perks: list[PerkSpec]
    campaigns: list[CampaignSpec]


def load_program(paths: list[Path], *, env: Mapping[str, str], tz: ZoneInfo) -> ProgramFiles:
    """Every perk and campaign of these files and directories (`*.toml`, recursively).

    `env` resolves `value_env` / `webhook_secret_env`; `tz` places dates and local
    datetimes. Raises `BadInputFile` listing every problem of both kinds, sorted by
    file, line and column, when there is any.
    """
    problems: list[Problem] = []
    perks: list[PerkSpec] = []
    campaigns: list[CampaignSpec] = []
    seen = _Seen()
    for file in _program_files(paths, problems):
        context = _read(file, env=env, tz=tz, problems=problems)
        if context is not None:
            _top_level(context)
            perks.extend(_perks(context, seen))
            campaigns.extend(_campaigns(context, seen))
    if problems:
        problems.sort(key=lambda p: (p.file, p.line, p.column or 0))
        raise BadInputFile(problems)
    return ProgramFiles(perks=perks, campaigns=campaigns)


def load_perk_files(paths: list[Path], *, env: Mapping[str, str], tz: ZoneInfo) -> list[PerkSpec]:
    """The perks of `load_program` (its campaigns are validated too, then left out)."""
    return load_program(paths, env=env, tz=tz).perks


# --- files -----------------------------------------------------------------------


def _program_files(paths: list[Path], problems: list[Problem]) -> list[Path]:
    """The files to read, in a stable order, each once even when named twice."""
    files: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not found:
                # an empty folder is most likely the wrong one; `apply --prune` would disable all
                problems.append(Problem(str(path), 1, None, "the folder holds no *.toml file."))
        elif path.exists():
            found = [path]
        else:
            problems.append(Problem(str(path), 1, None, "no such file or folder."))
            continue
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files


@dataclass
class _File:
    """One parsed file and where its problems go."""

    path: Path
    document: dict[str, Any]
    positions: dict[KeyPath, Position]
    env: Mapping[str, str]
    tz: ZoneInfo
    problems: list[Problem]

    @property
    def source(self) -> str:
        return str(self.path)

    def where(self, path: KeyPath) -> Position:
        """Where `path` is written, else its nearest written parent (a missing key: its table)."""
        for end in range(len(path), 0, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return 1, 1

    def add(self, path: KeyPath, field: str | None, message: str) -> None:
        line, column = self.where(path)
        self.problems.append(Problem(self.source, line, field, message, column))


def _read(
    path: Path, *, env: Mapping[str, str], tz: ZoneInfo, problems: list[Problem]
) -> _File | None:
    """The file parsed, or None after noting why it cannot be."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(source, 1, None, f"cannot read the file: {exc.strerror}."))
        return None
    if data.startswith(codecs.BOM_UTF8):  # some Windows editors write one
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        message = f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be read)."
        problems.append(Problem(source, line, None, message, column))
        return None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _syntax_error(str(exc), text)
        problems.append(Problem(source, line, None, message, column))
        return None
    positions = _KeyScanner(text).scan()
    return _File(path, document, positions, env, tz, problems)


def _syntax_error(error: str, text: str) -> tuple[int, int, str]:
    """(line, column, message) of a TOMLDecodeError; 3.11's has no lineno attribute."""
    match = _SYNTAX_RE.match(error)
    if match is None:
        return 1, 1, error
    message, line, column = match.groups()
    if line is not None:
        return int(line), int(column), message
    # "at end of document": point just past the last written character
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1, message


# --- positions ---------------------------------------------------------------------


class _KeyScanner:
    """Where each table header and key of a valid TOML document is written.

    Paths index arrays of tables the way `tomllib` builds them: the second
    `[[perk]]` is ("perk", 1); its `[perk.redemption]` is ("perk", 1, "redemption");
    items of an inline array (`perk = [{...}]`) are numbered the same way. A key
    is placed at its first character; a header at its opening bracket.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.positions: dict[KeyPath, Position] = {}
        self._tables: dict[KeyPath, int] = {}  # array of tables -> index of its last element

    def scan(self) -> dict[KeyPath, Position]:
        table: KeyPath = ()
        try:
            while True:
                self._skip_blank(newlines=True)
                if self.i >= len(self.text):
                    break
                start = self.i
                if self.text[self.i] == "[":
                    table = self._header()
                else:
                    self._key_value(table)
                self._moved(start)
        except (IndexError, ValueError):  # positions are a help, never a reason to fail
            pass
        return self.positions

    # -- helpers

    def _where(self, offset: int) -> Position:
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def _note(self, path: KeyPath, offset: int) -> None:
        """Place `path` and its parents not yet placed (a dotted key defines them)."""
        position = self._where(offset)
        for end in range(1, len(path) + 1):
            self.positions.setdefault(path[:end], position)

    def _moved(self, start: int) -> None:
        """Stop the scan (keeping what it found) rather than loop forever on a surprise."""
        if self.i <= start:
            raise ValueError("the key scanner is stuck")

    def _peek(self, token: str) -> bool:
        return self.text.startswith(token, self.i)

    def _skip_blank(self, *, newlines: bool) -> None:
        """Spaces, tabs and comments; newlines too when asked."""
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char in " \t" or (newlines and char in "\r\n"):
                self.i += 1
            elif char == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            else:
                break

    def _resolve(self, keys: list[str]) -> KeyPath:
        """A header's keys as a path, with the current index of each array of tables."""
        path: list[str | int] = []
        for key in keys:
            path.append(key)
            index = self._tables.get(tuple(path))
            if index is not None:
                path.append(index)
        return tuple(path)

    # -- grammar (valid TOML only)

    def _header(self) -> KeyPath:
        start = self.i
        double = self._peek("[[")
        self.i += 2 if double else 1
        self._skip_blank(newlines=False)
        keys, _ = self._key()
        self._skip_blank(newlines=False)
        self.i += 2 if double else 1
        if double:
            base = self._resolve(keys[:-1]) + (keys[-1],)
            index = self._tables.get(base, -1) + 1
            self._tables[base] = index
            path = base + (index,)
        else:
            path = self._resolve(keys)
        self._note(path, start)
        return path

    def _key_value(self, table: KeyPath) -> None:
        keys, start = self._key()
        path = table + tuple(keys)
        self._note(path, start)
        self._skip_blank(newlines=False)
        self.i += 1  # "="
        self._skip_blank(newlines=False)
        self._value(path)

    def _key(self) -> tuple[list[str], int]:
        """A dotted key's parts and the offset of its first character."""
        start = self.i
        keys: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            begin = self.i
            char = self.text[self.i]
            if char == '"':
                self._basic_string()
                raw = self.text[begin : self.i]
                try:  # let tomllib undo the escapes, so the key matches the parsed one
                    keys.append(tomllib.loads(f"k = {raw}")["k"])
                except tomllib.TOMLDecodeError:
                    keys.append(raw[1:-1])
            elif char == "'":
                self.i = self.text.index("'", self.i + 1) + 1
                keys.append(self.text[begin + 1 : self.i - 1])
            else:
                while self.i < len(self.text) and (
                    self.text[self.i].isascii()
                    and (self.text[self.i].isalnum() or self.text[self.i] in "_-")
                ):
                    self.i += 1
                keys.append(self.text[begin : self.i])
            self._skip_blank(newlines=False)
            if not self._peek("."):
                return keys, start
            self.i += 1

    def _value(self, path: KeyPath) -> None:
        if self._peek('"""'):
            self._multiline_string('"""')
        elif self._peek("'''"):
            self._multiline_string("'''")
        elif self._peek('"'):
            self._basic_string()
        elif self._peek("'"):
            self.i = self.text.index("'", self.i + 1) + 1
        elif self._peek("["):
            self._array(path)
        elif self._peek("{"):
            self._inline_table(path)
        else:  # number, boolean, date: up to what ends a value (a date may hold a space)
            while self.i < len(self.text) and self.text[self.i] not in ",]}#\r\n":
                self.i += 1

    def _basic_string(self) -> None:
        self.i += 1
        while self.text[self.i] != '"':
            self.i += 2 if self.text[self.i] == "\\" else 1
        self.i += 1

    def _multiline_string(self, quotes: str) -> None:
        self.i += 3
        while not self._peek(quotes):
            # in basic strings a backslash escapes the next character, even a quote
            self.i += 2 if quotes == '"""' and self.text[self.i] == "\\" else 1
        self.i += 3
        for _ in range(2):  # up to two quotes right before the closing ones belong to the text
            if self._peek(quotes[0]):
                self.i += 1

    def _array(self, path: KeyPath) -> None:
        self.i += 1
        index = 0
        while True:
            self._skip_blank(newlines=True)
            if self._peek("]"):
                self.i += 1
                return
            start = self.i
            self._note(path + (index,), start)
            self._value(path + (index,))
            index += 1
            self._skip_blank(newlines=True)
            if self._peek(","):
                self.i += 1
            self._moved(start)

    def _inline_table(self, path: KeyPath) -> None:
        self.i += 1
        while True:
            self._skip_blank(newlines=True)
            if self._peek("}"):
                self.i += 1
                return
            start = self.i
            self._key_value(path)
            self._skip_blank(newlines=True)
            if self._peek(","):
                self.i += 1
            self._moved(start)


# --- validation ----------------------------------------------------------------------


class _Seen:
    """What earlier tables of the loaded files took, each -> "file:line" of its first
    use. A perk and a campaign may share a slug: they are different things."""

    def __init__(self) -> None:
        self.perk_slugs: dict[str, str] = {}
        self.campaign_slugs: dict[str, str] = {}
        self.codes: dict[str, str] = {}  # normalised shared code


def _top_level(file: _File) -> None:
    """Problems of the keys outside [[perk]] and [[campaign]], and of an empty file."""
    document = file.document
    holds = "a file holds only [[perk]] and [[campaign]] tables"
    for key in document:
        if key in TABLES:
            continue
        if key in NOT_YET_SUPPORTED:
            message = (
                f"{NOT_YET_SUPPORTED[key].capitalize()} are not supported by this version yet;"
                f" {holds}."
            )
        else:
            message = f"unknown top-level key {_quoted(key)}; {holds}{_did_you_mean(key, TABLES)}."
        file.add((key,), key, message)
    if not document:
        message = "the file holds no [[perk]] or [[campaign]] table."
        file.problems.append(Problem(file.source, 1, None, message))


def _tables(file: _File, kind: str) -> list[tuple[int, dict[str, Any]]]:
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


def _perks(file: _File, seen: _Seen) -> list[PerkSpec]:
    """The file's valid perks; problems (also of duplicate slugs) go to `file.problems`."""
    specs: list[PerkSpec] = []
    for index, table in _tables(file, "perk"):
        reader = _PerkReader(file, index, table)
        spec = reader.read()
        if reader.unique_slug(seen.perk_slugs) and spec is not None:
            specs.append(spec)
    return specs


def _campaigns(file: _File, seen: _Seen) -> list[CampaignSpec]:
    """The file's valid campaigns; problems (also of duplicate slugs and shared codes)
    go to `file.problems`."""
    specs: list[CampaignSpec] = []
    for index, table in _tables(file, "campaign"):
        reader = _CampaignReader(file, index, table, seen.codes)
        spec = reader.read()
        if reader.unique_slug(seen.campaign_slugs) and spec is not None:
            specs.append(spec)
    return specs


def _keys(field: Field) -> KeyPath:
    return tuple(field.split(".")) if isinstance(field, str) else field


def _key(field: Field) -> str:
    """The key a field ends with: "type" of "redemption.type"."""
    return str(_keys(field)[-1])


class _Reader:
    """Validates one table of a kind; every problem is noted, then `read` gives None.

    The helpers shared by perks and campaigns live here.
    """

    kind = ""  # "perk" or "campaign": the top-level array of tables
    example_slug = ""

    def __init__(self, file: _File, index: int, table: dict[str, Any]) -> None:
        self.file = file
        self.index = index
        self.table = table
        self.ok = True
        self.slug_ok = False

    def add(self, field: Field, message: str) -> None:
        """Note a problem at `field` (keys under this table); the field named in the
        problem leaves out array indexes, the position tells which item it is."""
        keys = _keys(field)
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
                "slug", f"{_quoted(slug)} is already the slug of the {self.kind} at {slugs[slug]}."
            )
            return False
        slugs[slug] = f"{self.file.source}:{self.where()[0]}"
        return True

    def unknown_keys(
        self, table: dict[str, Any], known: tuple[str, ...], *under: str | int
    ) -> None:
        for key in table:
            if key not in known:
                self.add((*under, key), _unknown(key, known))

    # -- typed values

    def _present(self, key: str, table: dict[str, Any], field: Field, required: bool) -> bool:
        if key in table:
            return True
        if required:
            self.add(field, f"is missing; every {self.kind} needs a {key}.")
        return False

    def _text(
        self,
        field: Field,
        table: dict[str, Any],
        limit: int,
        *,
        required: bool = False,
        multiline: bool = False,
    ) -> str | None:
        key = _key(field)
        if not self._present(key, table, field, required):
            return None
        value = table[key]
        if not isinstance(value, str):
            self.add(field, f"must be a string, not {_describe(value)}.")
            return None
        if required and not value.strip():
            self.add(field, "is empty; give it some text.")
            return None
        problem = _text_problem(value, limit, multiline=multiline)
        if problem:
            self.add(field, problem)
            return None
        return value.strip() if required else value

    def _bool(self, field: Field, table: dict[str, Any], *, default: bool) -> bool:
        value = table.get(_key(field), default)
        if not isinstance(value, bool):
            self.add(field, f"must be true or false, not {_describe(value)}.")
            return default
        return value

    def _whole(
        self,
        field: Field,
        table: dict[str, Any] | None = None,
        *,
        minimum: int,
        maximum: int,
        required: bool = False,
    ) -> int | None:
        table = self.table if table is None else table
        key = _key(field)
        if not self._present(key, table, field, required):
            return None
        value = table[key]
        # bool is an int subclass in Python, but `price = true` is a mistake, not 1
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, f"must be a whole number, not {_describe(value)}.")
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

    def _moment(self, key: str, *, end_of_day: bool) -> datetime | None:
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
                f" not {_describe(value)}.",
            )
            return None
        if moment.tzinfo is None:  # local date-time: in the program's time zone
            moment = moment.replace(tzinfo=self.file.tz)
        return moment.astimezone(UTC)

    # -- fields

    def _slug(self) -> str | None:
        if not self._present("slug", self.table, "slug", True):
            return None
        slug = self.table["slug"]
        if not isinstance(slug, str):
            self.add("slug", f"must be a string, not {_describe(slug)}.")
            return None
        if not _is_slug(slug):
            self.add(
                "slug",
                f"{_quoted(slug)} is not a valid slug; use lowercase letters, digits and single"
                f' hyphens, at most {SLUG_MAX} characters, e.g. "{self.example_slug}".',
            )
            return None
        self.slug_ok = True
        return slug

    def _window(self) -> tuple[datetime | None, datetime | None]:
        valid_from = self._moment("valid_from", end_of_day=False)
        valid_until = self._moment("valid_until", end_of_day=True)
        if valid_from is not None and valid_until is not None and valid_from >= valid_until:
            self.add(
                "valid_until",
                f"is not after valid_from ({valid_until:%Y-%m-%d %H:%M} UTC is not after"
                f" {valid_from:%Y-%m-%d %H:%M} UTC); the window must end after it starts.",
            )
        return valid_from, valid_until

    def _media(
        self, field: Field, value: object, *, images_only: bool = False
    ) -> tuple[str | None, str | None, int | None]:
        """(absolute path or https URL, MIME type, size of a local file) of one image or
        video; images only when asked. Nones after a noted problem."""
        none: tuple[str | None, str | None, int | None] = (None, None, None)
        if isinstance(value, list):
            what = "image" if images_only else "image or video"
            self.add(field, f"must be one {what} only, not an array.")
            return none
        if not isinstance(value, str):
            self.add(field, f"must be a path or an https URL, not {_describe(value)}.")
            return none
        if not value.strip():
            self.add(field, f"is empty; give a path or an https URL, or leave {_key(field)} out.")
            return none
        if problem := _text_problem(value, URL_MAX, multiline=False):
            self.add(field, problem)  # also keeps a NUL byte away from the file system
            return none
        scheme = _SCHEME_RE.match(value)
        if scheme is not None:
            return self._media_url(field, value, scheme.group(1).lower(), images_only)
        return self._media_file(field, value, images_only)

    def _media_url(
        self, field: Field, url: str, scheme: str, images_only: bool
    ) -> tuple[str | None, str | None, int | None]:
        if scheme != "https":
            self.add(field, f"must be https; {scheme}:// URLs are not accepted.")
            return None, None, None
        problem = _url_problem(url, schemes=("https",))
        if problem:
            self.add(field, problem)
            return None, None, None
        # offline: the URL is never fetched, so its extension is all we know of its type
        mime = media_type_from_extension(urlsplit(url).path)
        if images_only and mime is not None and is_video(mime):
            self.add(field, f"must be an image ({IMAGES}), not a video.")
            return None, None, None
        if mime is None:
            endings = (
                ".jpg, .jpeg, .png, .webp or .gif"
                if images_only
                else ".jpg, .jpeg, .png, .webp, .gif, .mp4, .webm or .mov"
            )
            self.add(
                field,
                f"the URL's path must end in {endings} so its type is known without"
                " downloading it.",
            )
            return None, None, None
        return url, mime, None

    def _media_file(
        self, field: Field, value: str, images_only: bool
    ) -> tuple[str | None, str | None, int | None]:
        path = (self.file.path.parent / value).resolve()
        if len(str(path)) > URL_MAX:
            self.add(field, f"the full path is longer than {URL_MAX} characters.")
            return None, None, None
        if not path.exists():
            self.add(
                field, f"{path} does not exist; a media path is relative to the {self.kind} file."
            )
            return None, None, None
        if not path.is_file():
            self.add(field, f"{path} is not a file.")
            return None, None, None
        try:
            with path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
                size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            self.add(field, f"cannot read {path}: {exc.strerror}.")
            return None, None, None
        mime = sniff(head)
        if images_only and mime is not None and is_video(mime):
            self.add(field, f"{path} is a video; only an image ({IMAGES}) is accepted here.")
            return None, None, None
        if mime is None:
            what = (
                f"image; its content is none of {IMAGES}"
                if images_only
                else f"image or video; its content is none of {SUPPORTED}"
            )
            self.add(field, f"{path} is not a supported {what}.")
            return None, None, None
        limit = max_bytes(mime)
        if size > limit:
            kind = "a video" if is_video(mime) else "an image"
            self.add(
                field,
                f"{path} is {size / MB:.1f} MB ({size:,} bytes); {kind} may be at most"
                f" {limit // MB} MB.",
            )
            return None, None, None
        return str(path), mime, size

    def _audience(self) -> Audience:
        value = self.table.get("audience")
        if value is None:
            return Audience()
        if not isinstance(value, dict):
            self.add(
                "audience",
                f'must be a table, e.g. audience = {{ tiers = ["gold"] }}, not {_describe(value)}.',
            )
            return Audience()
        self.unknown_keys(value, AUDIENCE_KEYS, "audience")
        lists: dict[str, tuple[str, ...]] = {}
        for key in AUDIENCE_KEYS:
            items = value.get(key, [])
            field = f"audience.{key}"
            what = key[:-1]  # "tiers" -> "tier"
            if not isinstance(items, list):
                example = f'e.g. {key} = ["gold"]'
                self.add(field, f"must be an array of names, {example}, not {_describe(items)}.")
                continue
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
            lists[key] = tuple(dict.fromkeys(names))  # a repeated name changes nothing
        return Audience(**lists)


class _PerkReader(_Reader):
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
            self.add("category", f"must be a string, not {_describe(value)}.")
        elif value not in CATEGORIES:
            self.add(
                "category",
                f"{_quoted(value)} is not a category; use one of {', '.join(CATEGORIES)}"
                f"{_did_you_mean(value, CATEGORIES)}.",
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
                self.add(("redemption", key), _unknown(key, REDEMPTION_KEYS))
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

        if kind == "link" and value is not None and _url_problem(value, schemes=("https", "http")):
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
            problem = _url_problem(checkout_url, schemes=("https",))
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
                problem = _url_problem(webhook_url, schemes=("https",), local_http=True)
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
            self.add("redemption.type", f"must be a string, not {_describe(kind)}.")
            return None
        if kind not in REDEMPTION_TYPES:
            self.add(
                "redemption.type",
                f"{_quoted(kind)} is not a redemption type; use one of"
                f" {', '.join(REDEMPTION_TYPES)}{_did_you_mean(kind, REDEMPTION_TYPES)}.",
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
            self.add(field, f"must be a string, not {_describe(raw)}.")
            return None
        if key != base and (problem := _text_problem(raw, URL_MAX, multiline=False)):
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


class _CampaignReader(_Reader):
    """Validates one `[[campaign]]` table and its `[[campaign.code]]` tables.

    `codes` holds the shared codes read so far (normalised -> "file:line"), so a code
    equal to an earlier one in any file is reported where it repeats.
    """

    kind = "campaign"
    example_slug = "summer-2026"

    def __init__(
        self, file: _File, index: int, table: dict[str, Any], codes: dict[str, str]
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
                f" not {_describe(value)}.",
            )
            return None
        slugs: list[str] = []
        ok = True
        for position, item in enumerate(value):
            field = ("perks", position)
            if not isinstance(item, str):
                self.add(
                    field, f"must list each perk by its slug, a string, not {_describe(item)}."
                )
                ok = False
            elif not _is_slug(item):
                self.add(
                    field,
                    f"{_quoted(item)} is not a valid perk slug; a slug has lowercase letters,"
                    f" digits and single hyphens, at most {SLUG_MAX} characters.",
                )
                ok = False
            elif item in slugs:
                self.add(field, f"{_quoted(item)} is listed twice; list each prize perk once.")
                ok = False
            else:
                slugs.append(item)
        return tuple(slugs) if ok else None

    def _status(self) -> str:
        value = self.table.get("status", "active")
        if not isinstance(value, str):
            self.add("status", f"must be a string, not {_describe(value)}.")
        elif value not in STATUSES:
            self.add(
                "status",
                f"{_quoted(value)} is not a status; use one of {', '.join(STATUSES)}"
                f"{_did_you_mean(value, STATUSES)}.",
            )
        else:
            return value
        return "active"

    def _share(self) -> dict[str, str] | None:
        """title / subtitle / image (resolved), as given; None when there is no share."""
        if "share" not in self.table:
            return None
        value = self.table["share"]
        if not isinstance(value, dict):
            self.add(
                "share",
                'must be a table, e.g. share = { title = "Summer codes" },'
                f" not {_describe(value)}.",
            )
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
        if "page" not in self.table:
            return None
        value = self.table["page"]
        if not isinstance(value, dict):
            self.add(
                "page",
                'must be a table, e.g. page = { background = "#0b3d2e" },'
                f" not {_describe(value)}.",
            )
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
                f"is {_describe(value)}; page values are kept as JSON, which has none:"
                f" use a string, e.g. {_quoted(value.isoformat())}.",
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
                f" code, not {'[campaign.code]' if isinstance(value, dict) else _describe(value)}.",
            )
            return ()
        codes: list[SharedCodeSpec] = []
        for index, table in enumerate(value):
            if not isinstance(table, dict):
                self.add(
                    ("code", index),
                    "each shared code must be a table: write [[campaign.code]] with code = ...,"
                    f" not {_describe(table)}.",
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
            self.add(field, f"must be a string, not {_describe(code)}.")
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


# --- small helpers -------------------------------------------------------------------


def _text_problem(value: str, limit: int, *, multiline: bool) -> str | None:
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,} are allowed."
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        if multiline:
            return "contains a control character; only newlines and tabs are allowed."
        return "must be one line of text, without tabs or control characters."
    return None


def _url_problem(url: str, *, schemes: tuple[str, ...], local_http: bool = False) -> str | None:
    """What is wrong with `url` as one sentence, or None."""
    if len(url) > URL_MAX:
        return f"is longer than {URL_MAX:,} characters."
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return "is not a valid URL: it contains a space or control character."
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL."
    scheme = parts.scheme.lower()
    if scheme not in schemes and not (local_http and scheme == "http" and host in LOCAL_HOSTS):
        need = " or ".join(f"{s}://" for s in schemes)
        if local_http:
            need += " (http:// only for 127.0.0.1, localhost or ::1)"
        return f"must be a URL starting with {need}."
    if not host:
        return "is not a valid URL: it has no host, e.g. https://shop.example.org/..."
    return None


def _describe(value: object) -> str:
    """What a TOML value is, in the words of the TOML spec."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time of day"
    if isinstance(value, list):
        return "an array"
    return "a table"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _did_you_mean(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {_quoted(close[0])}?)" if close else ""


def _unknown(key: str, known: tuple[str, ...]) -> str:
    return f"unknown key {_quoted(key)}{_did_you_mean(key, known)}."


def _is_slug(text: str) -> bool:
    return len(text) <= SLUG_MAX and SLUG_PATTERN.fullmatch(text) is not None
