"""Currencies' minor units (ISO 4217): how many decimals an amount in minor units has.

Pure: no I/O. Stripe sends amounts in the currency's smallest unit (cents for USD, yen
for JPY, fils for KWD); reading them as whole units would multiply an order by 100. The
exponent of every currency that does not have two decimals is listed; the rest have two.
"""

from __future__ import annotations

import re
from decimal import Decimal

# ISO 4217 minor units other than 2 (the table's "0", "3" and "4" rows)
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
            "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip
_CODE_RE = re.compile(r"[A-Za-z]{3}")


class CurrencyProblem(ValueError):
    """Not a currency code."""


def exponent(currency: str) -> int:
    """The number of decimals of ``currency`` (a three-letter ISO 4217 code, any case)."""
    if not isinstance(currency, str) or not _CODE_RE.fullmatch(currency):
        raise CurrencyProblem(f"{currency!r} is not a three-letter currency code such as USD")
    return EXPONENTS.get(currency.upper(), 2)


def from_minor(amount: int, currency: str) -> Decimal:
    """An amount in minor units as a decimal amount of the currency: 2000 USD cents is
    20.00, 2000 JPY is 2000, 2000 KWD fils is 2.000."""
    places = exponent(currency)
    return Decimal(amount).scaleb(-places) if places else Decimal(amount)
