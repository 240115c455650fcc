"""Payload files as the platforms' webhooks deliver them, and as people save them: one
JSON document per line (JSON lines), a JSON array of documents, or documents written
over several lines (pretty-printed). Each payload keeps the line it starts on.

Pure: reads an iterator of text lines, no file access.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

_DECODER = json.JSONDecoder(parse_float=Decimal)
_WHITESPACE = " \t\r\n\ufeff"


@dataclass(frozen=True)
class Payload:
    line: int
    document: object | None  # None with a problem
    problem: str | None = None


def looks_like_one_document(first_line: str) -> bool:
    """A file whose first line is not a whole JSON document on its own: an array, or a
    document over several lines."""
    text = first_line.strip(_WHITESPACE)
    if not text:
        return False
    if text.startswith("["):
        return True
    try:
        _DECODER.decode(text)
    except json.JSONDecodeError:
        return text.startswith("{")
    except (RecursionError, ValueError):  # too deep, or a number too long: a bad line
        return False
    return False


def read_payloads(lines: Iterable[str]) -> Iterator[Payload]:
    """The payloads of a file, each with its first line. JSON lines are read one line at
    a time (a bad line is reported and the next read); any other layout is read whole:
    an array gives its elements, documents over several lines each give themselves."""
    lines = iter(lines)
    head: list[str] = []
    for text in lines:
        head.append(text)
        if text.strip(_WHITESPACE):
            break
    if not head or not head[-1].strip(_WHITESPACE):
        return
    if not looks_like_one_document(head[-1]):
        for number, text in enumerate(_chain(head, lines), 1):
            if not text.strip(_WHITESPACE):
                continue
            try:
                yield Payload(number, _DECODER.decode(text.strip(_WHITESPACE)))
            except (RecursionError, ValueError) as exc:
                yield Payload(number, None, _not_json(exc))
        return
    yield from _whole("".join(_chain(head, lines)))


def _not_json(exc: BaseException) -> str:
    """What a payload that could not be decoded is: bad JSON, nested too deeply for any
    payload, or holding a number with more digits than Python reads."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "the JSON is nested too deeply for any payload"
    return f"a number in it is too long ({exc})"


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


def _whole(text: str) -> Iterator[Payload]:
    position, line = 0, 1
    while True:
        start = _skip(text, position)
        line += text.count("\n", position, start)
        if start >= len(text):
            return
        try:
            document, end = _DECODER.raw_decode(text, start)
        except (RecursionError, ValueError) as exc:
            yield Payload(getattr(exc, "lineno", line), None, _not_json(exc))
            return
        if isinstance(document, list) and text[start] == "[":
            yield from _elements(text, start, line)
        else:
            yield Payload(line, document)
        line += text.count("\n", start, end)
        position = end


def _elements(text: str, start: int, line: int) -> Iterator[Payload]:
    """The elements of the array at ``start``, each with the line it starts on."""
    position = _skip(text, start + 1)
    line += text.count("\n", start, position)
    if text[position] == "]":
        return
    while True:
        document, end = _DECODER.raw_decode(text, position)
        yield Payload(line, document)
        after = _skip(text, end)
        line += text.count("\n", position, after)
        if text[after] == "]":
            return
        following = _skip(text, after + 1)  # past the comma
        line += text.count("\n", after, following)
        position = following


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position
