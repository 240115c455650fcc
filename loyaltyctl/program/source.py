"""Reading program files (TOML): the files, where each key is written, and the base of
the readers that validate each kind of table (perks, campaigns, earning rules, tiers).

`tomllib` keeps no positions, so a small scanner (`_KeyScanner`) walks the same
source once more, after it parsed, and notes where each table header and key is
written. It only has to understand valid TOML, which keeps it short. Every problem
is placed at `file:line:column`.

No network: an https media URL is checked by its extension only.
"""

from __future__ import annotations

import codecs
import difflib
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

from loyaltyctl.domain.errors import Problem
from loyaltyctl.domain.media import SNIFF_BYTES, SUPPORTED, is_video, max_bytes, sniff
from loyaltyctl.domain.media import type_from_extension as media_type_from_extension
from loyaltyctl.domain.perks import SLUG_MAX, SLUG_PATTERN, Audience
from loyaltyctl.domain.values import ValueProblem, validate_label

AUDIENCE_KEYS = ("plans", "tiers", "groups", "tags")
NAME_MAX = 200  # also a share's title and subtitle
TEXT_MAX = 2000  # description, instructions
URL_MAX = 1000  # the database columns of URLs and media paths
# max_supply / max_per_member / per_member / inventory: far above any real use, and fits
# any integer column
COUNT_MAX = 1_000_000_000
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # plain http allowed here, for local webhook tests
MB = 1024 * 1024
IMAGES = "jpeg, png, webp or gif"  # what share.image and page.banner accept

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SYNTAX_RE = re.compile(r"^(.*) \(at (?:line (\d+), column (\d+)|end of document)\)$", re.DOTALL)

KeyPath = tuple[str | int, ...]  # e.g. ("perk", 0, "redemption", "type")
Position = tuple[int, int]  # (line, column), both 1-based
Field = str | KeyPath  # under a perk or campaign: "redemption.type", ("code", 0, "inventory")


# --- files -----------------------------------------------------------------------


def program_files(paths: list[Path], problems: list[Problem]) -> list[Path]:
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
class SourceFile:
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


def read_source(
    path: Path, *, env: Mapping[str, str], tz: ZoneInfo, problems: list[Problem]
) -> SourceFile | None:
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
    return SourceFile(path, document, positions, env, tz, problems)


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

    The helpers shared by every kind live here.
    """

    kind = ""  # "perk", "campaign", "earning_rule", "tier": the top-level array of tables
    noun = ""  # how messages name one (the kind when empty)
    example_slug = ""

    def __init__(self, file: SourceFile, index: int, table: dict[str, Any]) -> None:
        self.file = file
        self.index = index
        self.table = table
        self.ok = True
        self.slug_ok = False

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

    def _text(
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

    def _bool(self, field: Field, table: dict[str, Any], *, default: bool) -> bool:
        value = table.get(last_key(field), default)
        if not isinstance(value, bool):
            self.add(field, f"must be true or false, not {describe(value)}.")
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
                f" not {describe(value)}.",
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
            self.add(field, f"must be a path or an https URL, not {describe(value)}.")
            return none
        if not value.strip():
            self.add(
                field, f"is empty; give a path or an https URL, or leave {last_key(field)} out."
            )
            return none
        if problem := text_problem(value, URL_MAX, multiline=False):
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
        problem = url_problem(url, schemes=("https",))
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

    def _table(self, key: str, example: str, what: str = "a table") -> dict[str, Any] | None:
        """The inline table at ``key`` of this table; None when absent or not a table
        (that problem noted, with an ``example`` of one)."""
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, dict):
            self.add(key, f"must be {what}, e.g. {example}, not {describe(value)}.")
            return None
        return value

    def _audience(self) -> Audience:
        value = self._table("audience", 'audience = { tiers = ["gold"] }')
        if value is None:
            return Audience()
        self.unknown_keys(value, AUDIENCE_KEYS, "audience")
        lists = {
            key: self._labels(f"audience.{key}", value.get(key, []), key[:-1])
            for key in AUDIENCE_KEYS
        }
        return Audience(**lists)

    def _labels(self, field: Field, items: object, what: str) -> tuple[str, ...]:
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


# --- small helpers -------------------------------------------------------------------


def text_problem(value: str, limit: int, *, multiline: bool) -> str | None:
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,} are allowed."
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        if multiline:
            return "contains a control character; only newlines and tabs are allowed."
        return "must be one line of text, without tabs or control characters."
    return None


def url_problem(url: str, *, schemes: tuple[str, ...], local_http: bool = False) -> str | None:
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


def describe(value: object) -> str:
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


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def did_you_mean(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {quoted(close[0])}?)" if close else ""


def unknown_key(key: str, known: tuple[str, ...]) -> str:
    return f"unknown key {quoted(key)}{did_you_mean(key, known)}."


def is_slug(text: str) -> bool:
    return len(text) <= SLUG_MAX and SLUG_PATTERN.fullmatch(text) is not None
