"""Canonical JSON bytes for hashes: the chain hash of every ledger entry and audit event
(a JSON array of its fields) and the digest of every event (its document, keys sorted).

Each comes from two paths that give the same bytes: orjson (a compiled codec, a
dependency: ~0.3 us an entry against ~6 us, and ~3 us an event document against ~14 us
for the standard library's encoder, the largest single cost of an ingest), and the
standard library's `json`, the reference. The standard library's path is taken whenever
orjson refuses a value (integers beyond 64 bits, lone surrogates, keys that are not
text) or could encode one differently (floats; a document whose line has NaN or
Infinity in it), so the bytes, and so every stored hash and digest, are the same as
before orjson was used. tests/domain/test_canonical.py checks the two paths agree.
"""

from __future__ import annotations

import json

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; the reference path still works
    orjson = None

_ARRAY = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SORTED = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_PLAIN = frozenset({str, int, bool, type(None)})
# datetimes and dataclasses go to ``default`` as the standard library's would (str)
_SORT = (
    0
    if orjson is None
    else orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def array_reference(values: list) -> bytes:
    """The standard library's compact JSON array of text, integers and nulls."""
    return _ARRAY.encode(values).encode()


def sorted_reference(document: dict) -> bytes:
    """The standard library's compact JSON of a document, keys sorted, other values as
    ``str`` (Decimal amounts)."""
    return _SORTED.encode(document).encode()


def array_bytes(values: list) -> bytes:
    """`array_reference`, faster when every value is text, an integer, a boolean or null
    (a ledger entry's are: its timestamps are text by then); anything else goes the
    reference way."""
    if orjson is not None and set(map(type, values)) <= _PLAIN:
        try:
            return orjson.dumps(values)
        except TypeError:  # orjson.JSONEncodeError: big integers, lone surrogates
            pass
    return array_reference(values)


def sorted_bytes(document: dict, *, plain: bool = True) -> bytes:
    """`sorted_reference`, faster. ``plain``: the document holds no float (events are
    read with decimals as Decimal; only NaN and Infinity become floats, so a caller
    passes False when its line has either)."""
    if orjson is not None and plain:
        try:
            return orjson.dumps(document, default=str, option=_SORT)
        except TypeError:  # orjson.JSONEncodeError: big integers, lone surrogates, keys
            pass
    return sorted_reference(document)


_ASCII_SORTED = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
_SORT_STRICT = 0 if orjson is None else orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def sorted_ascii_text(document: dict) -> str:
    """Compact JSON text of a document, keys sorted, non-ASCII characters escaped, as the
    standard library writes it (what an ingest stores of each event's awards, read back
    with ``json.loads``): through orjson when its output is ASCII already."""
    if orjson is not None:
        try:
            encoded = orjson.dumps(document, option=_SORT_STRICT)
        except TypeError:  # what orjson refuses, the standard library is asked
            encoded = None
        # ASCII, and no DEL: the standard library escapes it (\u007f), orjson does not
        if encoded is not None and encoded.isascii() and b"\x7f" not in encoded:
            return encoded.decode()
    return _ASCII_SORTED.encode(document)


def loads_plain(text: str) -> object | None:
    """orjson's reading of a JSON text, or None when orjson refuses it (or is missing):
    the caller then asks the standard library's decoder, the reference. orjson reads
    every number with a fraction or exponent, and every integer past 64 bits, as a
    float: a caller that needs those exact takes a document with a float in it as
    refused too."""
    if orjson is None:
        return None
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError: NaN, Infinity, lone surrogates, bad JSON
        return None
