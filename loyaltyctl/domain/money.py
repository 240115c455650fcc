"""Money in the store currency: exact, two decimals, one rounding rule, spreads that add up.

Pure: no I/O. Amounts are `Decimal`s of whole cents; a float never enters (JSON is read
with ``parse_float=Decimal``). Input takes at most two decimals: more is a bad value, never
rounded silently. A computed amount is rounded half up to the cent once; an amount spread
over several lines is split in proportion to them in whole cents, the cents left over going
by largest remainder, so the parts always add up to the whole whatever the lines' order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY_MAX = Decimal("1000000000.00")  # a billion: far above any cart, far below overflow
_MONEY_RE = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_PERCENT_RE = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


class MoneyProblem(ValueError):
    """A value that is not an amount of money; the message says what a good one looks like."""


def parse_money(value: object) -> Decimal:
    """A non-negative amount with at most two decimals, given as a string (``"10.00"``),
    a whole number, or a JSON number read as a `Decimal`. Floats and booleans are refused:
    they cannot be trusted to the cent."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MoneyProblem(
            f'{value!r} is not an amount of money; write it as a string, e.g. "10.00"'
        )
    text = str(value).strip()
    if not _MONEY_RE.fullmatch(text):
        raise MoneyProblem(
            f"{text!r} is not an amount of money: digits with at most 2 decimals, no sign "
            '(e.g. "10.00")'
        )
    amount = Decimal(text)
    if amount > MONEY_MAX:
        raise MoneyProblem(f"{text} is more than {money_text(MONEY_MAX)}")
    return amount.quantize(CENT)


def parse_percent(value: object, *, allow_zero: bool = False) -> Decimal:
    """A percentage up to 100 with at most two decimals (above 0 unless ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MoneyProblem(f"{value!r} is not a percentage; write a number such as 10 or 12.5")
    text = str(value).strip()
    if not _PERCENT_RE.fullmatch(text):
        raise MoneyProblem(f"{text!r} is not a percentage: a number with at most 2 decimals")
    percent = Decimal(text)
    if percent > 100 or (percent == 0 and not allow_zero):
        low = "from 0" if allow_zero else "above 0"
        raise MoneyProblem(f"{text} is not a percentage {low} up to 100")
    return percent


def money_text(amount: Decimal) -> str:
    """``"10.00"``: the form every output uses."""
    return f"{amount.quantize(CENT):f}"


def round_half_up(amount: Decimal) -> Decimal:
    """The one rounding of a computed amount: half up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_down(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_FLOOR)


def round_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``amount``, rounded half up once."""
    return round_half_up(amount * percent / 100)


def cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def from_cents(count: int) -> Decimal:
    return (Decimal(count) / 100).quantize(CENT)


def spread_cents(total: int, weights: Sequence[int], ties: Sequence[object]) -> list[int]:
    """``total`` cents split in proportion to ``weights`` (whole cents each), the cents
    left over going to the largest remainders; equal remainders go to the smaller tie key.

    The parts add up to ``total`` exactly and do not depend on the order of the input
    (given distinct tie keys). A part never exceeds its weight when ``total`` does not
    exceed their sum; nothing is negative."""
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("spread_cents takes no negative amounts")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot spread an amount over nothing")
        return [0] * len(weights)
    parts, remainders = [], []
    for weight in weights:
        share, remainder = divmod(total * weight, whole)
        parts.append(share)
        remainders.append(remainder)
    left = total - sum(parts)
    ranked = sorted(range(len(weights)), key=lambda i: (-remainders[i], ties[i]))
    for i in ranked[:left]:
        parts[i] += 1
    return parts


def spread_over_lines(total: Decimal, lines: Sequence[tuple[Decimal, str, int]]) -> list[Decimal]:
    """``total`` spread over cart lines given as (amount, sku, position): in proportion to
    their amounts, leftover cents to the largest remainders, ties to the larger amount, then
    the lower sku, then the earlier line."""
    weights = [cents(amount) for amount, _, _ in lines]
    ties = [
        (-weight, sku, position) for weight, (_, sku, position) in zip(weights, lines, strict=True)
    ]
    return [from_cents(c) for c in spread_cents(cents(total), weights, ties)]
