"""Checks and words every reader of a program file shares: limits, text and URL checks,
and how messages name TOML values and keys."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time
from urllib.parse import urlsplit

from loyaltyctl.domain.perks import SLUG_MAX, SLUG_PATTERN
from loyaltyctl.domain.suggest import closest

NAME_MAX = 200  # also a share's title and subtitle
TEXT_MAX = 2000  # description, instructions
URL_MAX = 1000  # the database columns of URLs and media paths
# max_supply / max_per_member / per_member / inventory: far above any real use, and fits
# any integer column
COUNT_MAX = 1_000_000_000
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # plain http allowed here, for local webhook tests


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
    close = closest(word, known, limit=1)
    return f" (did you mean {quoted(close[0])}?)" if close else ""


def unknown_key(key: str, known: tuple[str, ...]) -> str:
    """An unknown key, with the closest known one, else the known ones (as `member import`
    lists its columns) when they are few enough to read."""
    hint = did_you_mean(key, known)
    if not hint and 0 < len(known) <= 8:
        hint = f" (known: {', '.join(known)})"
    return f"unknown key {quoted(key)}{hint}."


def is_slug(text: str) -> bool:
    return len(text) <= SLUG_MAX and SLUG_PATTERN.fullmatch(text) is not None
