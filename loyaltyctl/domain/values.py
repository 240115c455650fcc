"""Parsing and validating the values users type: amounts, dates, durations, phones."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_AMOUNT = 1_000_000_000
UTC = UTC

_AMOUNT_RE = re.compile(r"[0-9]+")
_SIGNED_AMOUNT_RE = re.compile(r"-?[0-9]+")
_DURATION_RE = re.compile(r"([0-9]{1,12})\s*([hdw])")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")
_BIRTHDAY_FULL_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BIRTHDAY_SHORT_RE = re.compile(r"[0-9]{2}-[0-9]{2}")


class ValueProblem(ValueError):
    """A value that does not parse; the message says what a good one looks like."""


def bounded_int(digits: str) -> int:
    """``int(digits)`` for text already matched as digits (with an optional sign); past 15
    digits a stand-in of 10**15 (as big as any range check needs): Python refuses to
    convert 4,300 digits and nothing here needs more than ten."""
    unsigned = digits.lstrip("+-").lstrip("0")
    if len(unsigned) > 15:
        return -(10**15) if digits.startswith("-") else 10**15
    return int(digits)


def parse_amount(text: str) -> int:
    """A positive whole number of points, at most 1,000,000,000 (no sign, no decimals)."""
    text = text.strip().replace("_", "") if isinstance(text, str) else str(text)
    if not _AMOUNT_RE.fullmatch(text):
        raise ValueProblem(f"{text!r} is not a whole number of points (use digits only, e.g. 250)")
    value = bounded_int(text)
    if value <= 0:
        raise ValueProblem("the amount must be at least 1")
    if value > MAX_AMOUNT:
        raise ValueProblem(f"the amount must be at most {MAX_AMOUNT:,}")
    return value


def parse_signed_amount(text: str) -> int:
    """A non-zero whole number; negative means a write-off (CSV imports)."""
    text = text.strip()
    if not _SIGNED_AMOUNT_RE.fullmatch(text):
        raise ValueProblem(f"{text!r} is not a whole number of points")
    value = bounded_int(text)
    if value == 0:
        raise ValueProblem("the amount must not be 0")
    if abs(value) > MAX_AMOUNT:
        raise ValueProblem(f"the amount must be at most {MAX_AMOUNT:,} either way")
    return value


DURATION_MAX_DAYS = 36_500


def parse_duration(text: str) -> timedelta:
    """``90d``, ``2w`` or ``12h``."""
    match = _DURATION_RE.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueProblem(f"{text!r} is not a duration; use e.g. 90d, 2w or 12h")
    number, unit = int(match.group(1)), match.group(2)
    hours = number * {"h": 1, "d": 24, "w": 24 * 7}[unit]
    if hours > DURATION_MAX_DAYS * 24:  # timedelta and dates end at year 9999
        raise ValueProblem(f"{text!r} is too long; at most {DURATION_MAX_DAYS:,}d (100 years)")
    return timedelta(hours=hours)


def _as_utc(moment: datetime, tz: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_moment(text: str, tz: ZoneInfo, *, end_of_day: bool) -> datetime:
    """A date or timestamp as an aware UTC datetime.

    A bare date is the start of that day, or its end (the last microsecond) when it
    closes a window; a timestamp without an offset is read in the program time zone.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            local = datetime.combine(day, time.max if end_of_day else time.min)
            return _as_utc(local, tz)
        return _as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
    except ValueError:
        raise ValueProblem(f"{text!r} is not a date; use YYYY-MM-DD or an ISO timestamp") from None


# LOYALTYCTL_CLOCK (tests only): how far the program's clock is set from the real one
_clock_offset = timedelta(0)


def set_clock(moment: datetime | None) -> None:
    """Set "now" for everything this process does from here on (None: the real clock).

    The one override of the clock, used by the CLI for LOYALTYCTL_CLOCK: time then goes
    on from ``moment`` at its real pace (leases and retry deadlines still measure real
    seconds), and every service that asks `utcnow` sees the same clock.
    """
    global _clock_offset
    _clock_offset = timedelta(0) if moment is None else moment - datetime.now(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the form every timestamp has inside the program."""
    return datetime.now(UTC) + _clock_offset


def iso_utc(moment: datetime | None) -> str | None:
    """A timestamp as ISO 8601 in UTC with a Z, for JSON."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def phone_digits(phone: str | None) -> str | None:
    """The digits of a phone number, used to find a member by its last digits."""
    if not phone:
        return None
    digits = re.sub(r"[^0-9]", "", phone)
    return digits or None


def validate_phone(phone: str) -> str:
    digits = phone_digits(phone) or ""
    if not 4 <= len(digits) <= 20 or re.search(r"[^0-9+()\-.\s]", phone):
        raise ValueProblem(f"{phone!r} is not a phone number")
    return phone.strip()


def validate_email(email: str) -> str:
    email = email.strip()
    if not _EMAIL_RE.fullmatch(email):
        raise ValueProblem(f"{email!r} is not an email address")
    return email.lower()


def validate_external_id(external_id: str) -> str:
    external_id = external_id.strip()
    if not _EXTERNAL_ID_RE.fullmatch(external_id):
        raise ValueProblem(
            f"{external_id!r} is not a member id (letters, digits and . _ : @ / -, up to 64)"
        )
    return external_id


def validate_birthday(text: str) -> str:
    """``YYYY-MM-DD``, or ``MM-DD`` when the year is not known.

    February 29 is taken with any year (the spec's own example is 1990-02-29): the
    birthday is that day, celebrated on March 1 in the years without it.
    """
    text = text.strip()
    try:
        if _BIRTHDAY_FULL_RE.fullmatch(text):
            date.fromisoformat(text if text[5:] != "02-29" else f"2000-{text[5:]}")
            return text
        if _BIRTHDAY_SHORT_RE.fullmatch(text):
            date.fromisoformat(f"2000-{text}")  # a leap year, so 02-29 is accepted
            return text
    except ValueError:
        pass
    raise ValueProblem(f"{text!r} is not a birthday; use YYYY-MM-DD or MM-DD")


def validate_label(text: str, what: str = "label") -> str:
    text = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}", text):
        raise ValueProblem(f"{text!r} is not a valid {what} (letters, digits, space . _ -)")
    return text


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def validate_reason(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueProblem("a reason is required")
    if len(text) > 500:
        raise ValueProblem("the reason is longer than 500 characters")
    if _CONTROL_RE.search(text):
        raise ValueProblem("the reason must be one line of text (no tabs or control characters)")
    return text


# bidirectional overrides and isolates: they reorder what a terminal shows after them
_BIDI_RE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NAME_MAX = 200


def validate_name(text: str) -> str:
    """A member's name: one line of printable text (an escape sequence or a bidirectional
    override in a name would reach the terminal of whoever lists members)."""
    text = text.strip()
    if not text:
        raise ValueProblem("a name is required")
    if len(text) > NAME_MAX:
        raise ValueProblem(f"the name is longer than {NAME_MAX} characters")
    if _CONTROL_RE.search(text) or _BIDI_RE.search(text):
        raise ValueProblem(
            "the name must be one line of printable text (no tabs, escape sequences, "
            "control characters or direction overrides)"
        )
    return text


def validate_key(text: str) -> str:
    text = text.strip()
    if not 1 <= len(text) <= 200:
        raise ValueProblem("an idempotency key has 1 to 200 characters")
    return text


def split_list(text: str | None) -> list[str]:
    """``a;b;c`` as used by the CSV groups and tags columns."""
    if not text:
        return []
    return [part.strip() for part in text.split(";") if part.strip()]


def expiry_problem(
    expires_at: datetime | None, pending_until: datetime | None, now: datetime
) -> str | None:
    """Why a credit's expiry cannot be used, or None when it can."""
    if expires_at is None:
        return None
    if expires_at <= now:
        return "the expiry is in the past: the points would expire at once"
    if pending_until is not None and expires_at <= pending_until:
        return "the expiry must be after the end of the pending period"
    return None
