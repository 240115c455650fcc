"""Reading program files (TOML): the files of a set of paths, each parsed, and where each
key is written.

`tomllib` keeps no positions, so a small scanner (`_KeyScanner`) walks the same
source once more, after it parsed, and notes where each table header and key is
written. It only has to understand valid TOML, which keeps it short. Every problem
is placed at `file:line:column`. The tables are validated by the readers of each
kind (program/reader.py).
"""

from __future__ import annotations

import codecs
import re
import tomllib
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loyaltyctl.domain.errors import Problem

_SYNTAX_RE = re.compile(r"^(.*) \(at (?:line (\d+), column (\d+)|end of document)\)$", re.DOTALL)

KeyPath = tuple[str | int, ...]  # e.g. ("perk", 0, "redemption", "type")
Position = tuple[int, int]  # (line, column), both 1-based


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
    deep = _too_deep(text)
    if deep is not None:
        message = f"arrays and tables are nested deeper than {NESTING_MAX} levels here."
        problems.append(Problem(source, deep[0], None, message, deep[1]))
        return None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _syntax_error(str(exc), text)
        problems.append(Problem(source, line, None, message, column))
        return None
    positions = _KeyScanner(text).scan()
    return SourceFile(path, document, positions, env, tz, problems)


NESTING_MAX = 32  # no program needs more; tomllib recurses once per level


def _too_deep(text: str) -> tuple[int, int] | None:
    """(line, column) where brackets and braces first nest past NESTING_MAX, outside
    strings and comments; None when they never do (then tomllib cannot recurse too far)."""
    depth, i, size = 0, 0, len(text)
    while i < size:
        char = text[i]
        if char in "\"'":
            i = _string_end(text, i)
            continue
        if char == "#":
            end = text.find("\n", i)
            i = size if end < 0 else end
            continue
        if char in "[{":
            depth += 1
            if depth > NESTING_MAX:
                line = text.count("\n", 0, i) + 1
                return line, i - (text.rfind("\n", 0, i) + 1) + 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _string_end(text: str, start: int) -> int:
    """The offset just past the string opening at ``start`` (the text's end if it never
    closes: tomllib reports that)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        end = text.find(quote * 3, start + 3)
        return len(text) if end < 0 else end + 3
    i = start + 1
    while i < len(text) and text[i] not in (quote, "\n"):
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i + 1


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
