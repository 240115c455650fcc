"""Reading a small JSON document with the position of every value, so that a bad field is
reported at its line and column (carts are read this way).

Pure: no I/O. Numbers are read as `Decimal` (never float) and integers as `int`; nesting
is limited, so no input can exhaust the stack.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from json.decoder import scanstring

Path = tuple[str | int, ...]
Position = tuple[int, int]  # line, column (1-based)

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 30  # no count or amount needs more; Python refuses 4,300 anyway
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_SPACE = re.compile(r"[ \t\n\r]*")
_LITERALS = {"true": True, "false": False, "null": None}


class JsonProblem(ValueError):
    """Not JSON, or not JSON this reader takes; ``position`` says where."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def path_text(path: Path) -> str:
    """``items[0].price``: how a field is named in messages."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.positions: dict[Path, Position] = {}
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(self, offset: int) -> Position:
        low, high = 0, len(self._line_starts) - 1
        while low < high:  # the last line start at or before offset
            middle = (low + high + 1) // 2
            if self._line_starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low + 1, offset - self._line_starts[low] + 1

    def fail(self, message: str, offset: int) -> JsonProblem:
        return JsonProblem(message, self.where(offset))

    def skip(self, offset: int) -> int:
        return _SPACE.match(self.text, offset).end()

    def value(self, offset: int, path: Path, depth: int) -> tuple[object, int]:
        offset = self.skip(offset)
        self.positions[path] = self.where(offset)
        if offset >= len(self.text):
            raise self.fail("the document ends where a value was expected", offset)
        char = self.text[offset]
        if char in "{[":
            if depth >= MAX_DEPTH:
                raise self.fail(f"nested more than {MAX_DEPTH} levels deep", offset)
            if char == "{":
                return self.object(offset + 1, path, depth + 1)
            return self.array(offset + 1, path, depth + 1)
        if char == '"':
            return self.string(offset)
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, offset):
                return literal, offset + len(word)
        return self.number(offset)

    def string(self, offset: int) -> tuple[str, int]:
        try:
            return scanstring(self.text, offset + 1, True)
        except json.JSONDecodeError as error:
            raise self.fail(f"bad string: {error.msg}", error.pos) from None

    def number(self, offset: int) -> tuple[object, int]:
        match = _NUMBER.match(self.text, offset)
        if not match:
            raise self.fail(
                "expected a value (a string, number, object, array, true, false or null)", offset
            )
        text = match.group()
        if match.group(1) or match.group(2):
            return Decimal(text), match.end()
        if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
            raise self.fail(f"a number of {len(text)} digits is too long", offset)
        return int(text), match.end()

    def object(self, offset: int, path: Path, depth: int) -> tuple[dict, int]:
        result: dict = {}
        offset = self.skip(offset)
        if self.text.startswith("}", offset):
            return result, offset + 1
        while True:
            offset = self.skip(offset)
            if not self.text.startswith('"', offset):
                raise self.fail("expected a key in double quotes", offset)
            key, offset = self.string(offset)
            offset = self.skip(offset)
            if not self.text.startswith(":", offset):
                raise self.fail(f"expected ':' after the key {key!r}", offset)
            result[key], offset = self.value(offset + 1, (*path, key), depth)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset += 1
            elif self.text.startswith("}", offset):
                return result, offset + 1
            else:
                raise self.fail("expected ',' or '}'", offset)

    def array(self, offset: int, path: Path, depth: int) -> tuple[list, int]:
        result: list = []
        offset = self.skip(offset)
        if self.text.startswith("]", offset):
            return result, offset + 1
        while True:
            item, offset = self.value(offset, (*path, len(result)), depth)
            result.append(item)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset += 1
            elif self.text.startswith("]", offset):
                return result, offset + 1
            else:
                raise self.fail("expected ',' or ']'", offset)


def read_json(text: str) -> tuple[object, dict[Path, Position]]:
    """The document and the position of each of its values, by path from the root."""
    reader = _Reader(text.removeprefix("\ufeff"))
    document, offset = reader.value(0, (), 0)
    offset = reader.skip(offset)
    if offset != len(reader.text):
        raise reader.fail("unexpected text after the document", offset)
    return document, reader.positions
