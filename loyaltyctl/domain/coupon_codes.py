"""Coupon codes: their shape, how they are typed back, stored and shown masked.

Pure: no I/O. A coupon code has the shape of a generated promo code (domain.promo):
11 random symbols of Crockford's base32 alphabet and a check symbol, 12 in all, shown
in groups of four (``7KQ4-M2XA-HP3C``). 32**11 ≈ 3.6e16 codes: a guess hits one of a
million issued coupons with a chance of about 3e-11, and the check symbol tells most
typos apart before anything is looked up.

At rest a code is only its keyed hash (`KeyRing.lookup_hash` of the normalized form,
UNIQUE) and a ciphertext bound to the coupon (`secret_binding`); listings show the last
four symbols (`masked`), as a card's last four digits.
"""

from __future__ import annotations

from loyaltyctl.domain import code_alphabet

RANDOM_SYMBOLS = 11
LENGTH = RANDOM_SYMBOLS + 1  # with the check symbol
TAIL = 4


def new_code() -> str:
    """A new code, normalized (12 symbols, no dashes)."""
    return code_alphabet.generated_code("", RANDOM_SYMBOLS)


def normalize(typed: str) -> str:
    """How a typed code is compared: case, spaces and dashes ignored, look-alikes mapped
    (O -> 0, I and L -> 1), as promo codes are."""
    return code_alphabet.normalize(typed)


def display(normalized: str) -> str:
    """For people: groups of four (``7KQ4-M2XA-HP3C``)."""
    return code_alphabet.display(normalized)


def is_well_formed(normalized: str) -> bool:
    """12 symbols of the alphabet whose last one is the check symbol of the others."""
    return len(normalized) == LENGTH and code_alphabet.has_valid_check(normalized)


def tail(normalized: str) -> str:
    """The last four symbols, kept in clear for masked listings."""
    return normalized[-TAIL:]
