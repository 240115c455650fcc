"""The codes' alphabet: how a typed code is compared (normalised) and how a generated
one's check symbol tells a typo from an unknown code. Apart from the campaigns' rules
(`domain.promo`, which names these too) so that a checkout's `coupon check` finds a code,
and a claim draws its coupon's, without importing them.

Codes use Crockford's base32 alphabet (no I, L, O, U), upper case; the look-alikes
O -> 0, I and L -> 1 are mapped when a code is typed.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
MIN_LENGTH = 6  # of a campaign's generated codes
GROUP = 4  # printed as XXXX-XXXX-XX


def normalize(code: str) -> str:
    """How a typed code is compared: upper case, no spaces or dashes, look-alikes mapped."""
    return "".join(code.split()).replace("-", "").upper().translate(LOOK_ALIKES)


def random_body(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def generated_code(prefix: str, length: int) -> str:
    """A new code, normalised (prefix + random symbols + check symbol)."""
    body = normalize(prefix) + random_body(length)
    return body + check_symbol(body)


def display(normalized: str, prefix: str = "") -> str:
    """For people: the prefix, then groups of four (SUMMER-7KQ4-M2XA-H9)."""
    prefix = normalize(prefix)
    rest = normalized[len(prefix) :] if prefix and normalized.startswith(prefix) else normalized
    groups = [rest[i : i + GROUP] for i in range(0, len(rest), GROUP)]
    return "-".join(([prefix] if prefix else []) + groups)


def check_symbol(body: str) -> str:
    """The symbol a generated code ends with: a weighted sum mod 31 (a prime), weights
    1..30 repeating, so never 0 mod 31. A single wrong symbol or two swapped neighbours
    change it, except when the two symbols are 0 and Z (their values, 0 and 31, are
    equal mod 31)."""
    total = sum((i % 30 + 1) * _symbol_value(c) for i, c in enumerate(body))
    return ALPHABET[total % 31]


def _symbol_value(symbol: str) -> int:
    """A symbol's value in the check sum. U is not in the alphabet (random symbols never
    use it) but a prefix may (SUMMER): it counts as V, the letter after it."""
    return ALPHABET.index("V" if symbol == "U" else symbol)


def _checkable(normalized: str) -> bool:
    return all(c in ALPHABET or c == "U" for c in normalized)


def looks_mistyped(normalized: str, shortest: int = MIN_LENGTH + 1) -> bool:
    """A code in the generated codes' alphabet and length whose check symbol does not
    match: a typo, told as such (it says nothing about which codes exist)."""
    return (
        len(normalized) >= shortest and _checkable(normalized) and not has_valid_check(normalized)
    )


def has_valid_check(normalized: str) -> bool:
    body, check = normalized[:-1], normalized[-1:]
    return bool(body) and _checkable(body) and check in ALPHABET and check_symbol(body) == check
