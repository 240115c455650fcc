"""What every store format's mapper shares: the mapped events, the customer a payload
names, problems that name the platform's own field, and typed reads of payload fields.

Pure: no I/O. A mapper turns one payload (one webhook body, as the platform delivers
it) into the events of our own format (see `domain.events`), with notes for what it
read but does not apply (an order not paid yet, a refund of shipping only). The member
is found later, by the service, from the `Customer` the payload names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from loyaltyctl.domain.stores.currency import CurrencyProblem, exponent, from_minor

REF_MAX = 100  # as domain.events: order ids and skus
_CONTROL_RE = re.compile(r"[\x00-\x1f]")
_DECIMAL_RE = re.compile(r"-?[0-9]{1,13}(\.[0-9]{1,6})?")
MINOR_MAX = 10**17  # far above any real order in any currency's smallest unit


class PayloadProblem(ValueError):
    """What is wrong with a payload, naming the platform's field (``line_items[2].price``)."""

    code = "bad_payload"


@dataclass(frozen=True)
class Customer:
    """Who a payload names: the platform's customer id, email and phone (any may be None)."""

    id: str | None = None
    email: str | None = None
    phone: str | None = None

    def __bool__(self) -> bool:
        return bool(self.id or self.email or self.phone)


@dataclass
class MappedEvent:
    """One event of our own format. ``document`` lacks "member" when ``customer`` is
    set: the member that customer is, found by the service, goes there. ``adds`` (a
    member.joined): when nobody matches, the customer's id becomes the new member's."""

    document: dict
    customer: Customer | None = None
    adds: bool = False


@dataclass
class Mapping:
    events: list[MappedEvent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Mapper:
    """One store format. ``map`` reads one payload; raises PayloadProblem."""

    name: str = ""
    description: str = ""

    def map(self, payload: dict) -> Mapping:  # pragma: no cover - each format has its own
        raise NotImplementedError


def money_text(amount: Decimal) -> str:
    """A decimal amount as our events write it: no exponent, trailing zeros kept."""
    return format(amount, "f")


class Fields:
    """Typed reads of a payload's fields; a failure is a PayloadProblem naming the field
    by its path in the payload (``refund_line_items[0].quantity``)."""

    def __init__(self, document: dict, path: str = "") -> None:
        self.document = document
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}{key}"

    def problem(self, key: str, message: str) -> PayloadProblem:
        return PayloadProblem(f"{self.where(key)}: {message}")

    def has(self, key: str) -> bool:
        return self.document.get(key) is not None

    def get(self, key: str):
        value = self.document.get(key)
        if value is None:
            raise PayloadProblem(f"{self.where(key)} is missing")
        return value

    def nested(self, key: str, *, required: bool = True) -> Fields | None:
        value = self.document.get(key)
        if value is None and not required:
            return None
        value = self.get(key)
        if not isinstance(value, dict):
            raise self.problem(key, "must be an object")
        return Fields(value, f"{self.where(key)}.")

    def items(self, key: str, *, required: bool = True) -> list[Fields]:
        """The objects of an array field (absent or null: none, unless required)."""
        value = self.document.get(key)
        if value is None:
            if required:
                raise PayloadProblem(f"{self.where(key)} is missing")
            return []
        if not isinstance(value, list):
            raise self.problem(key, "must be an array")
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise PayloadProblem(f"{self.where(key)}[{index}]: must be an object")
            found.append(Fields(item, f"{self.where(key)}[{index}]."))
        return found

    def ref(self, key: str, *, required: bool = True) -> str | None:
        """An identifier: a string, or a whole number (platforms send ids as numbers)."""
        value = self.document.get(key)
        if value is None and not required:
            return None
        value = self.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise self.problem(key, f"{value} is not an id")
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.problem(key, "must be an id (a string or a whole number)")
        if len(value.strip()) > REF_MAX or _CONTROL_RE.search(value):
            raise self.problem(key, f"must be one line of at most {REF_MAX} characters")
        return value.strip()

    def text(self, key: str, *, limit: int = 200) -> str | None:
        """An optional string ("" counts as absent)."""
        value = self.document.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.problem(key, "must be a string")
        value = value.strip()
        if len(value) > limit or _CONTROL_RE.search(value):
            raise self.problem(key, f"must be one line of at most {limit} characters")
        return value or None

    def choice(self, key: str) -> str | None:
        return self.text(key, limit=60)

    def flag(self, key: str) -> bool:
        value = self.document.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.problem(key, "must be true or false")
        return value

    def count(self, key: str, *, default: int | None = None, signed: bool = False) -> int:
        value = self.document.get(key)
        if value is None and default is not None:
            return default
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.problem(key, f"{value!r} is not a whole number")
        if signed:
            value = abs(value)
        if not 0 <= value <= 1_000_000:
            raise self.problem(key, f"{value} is not a quantity from 0 to 1,000,000")
        return value

    def amount(self, key: str, *, default: str | None = None, signed: bool = False) -> Decimal:
        """An amount in the currency's whole units, as a decimal string (or a JSON number
        read exactly). ``signed``: a negative amount (WooCommerce's refunds) is taken as
        its size."""
        value = self.document.get(key)
        if value is None and default is not None:
            return Decimal(default)
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self.problem(
                key, f'{value!r} is not an amount; expected a string such as "10.00"'
            )
        text = str(value).strip()
        if not _DECIMAL_RE.fullmatch(text):
            raise self.problem(key, f"{text!r} is not an amount (digits, at most 6 decimals)")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern rules it out
            raise self.problem(key, f"{text!r} is not a number") from None
        if amount < 0:
            if not signed:
                raise self.problem(key, f"{text} is negative")
            amount = -amount
        return amount

    def minor(self, key: str, currency: str, *, default: int | None = None) -> Decimal:
        """An amount in the currency's minor units (a whole number: Stripe's cents), as a
        decimal amount of the currency (its ISO 4217 exponent)."""
        value = self.document.get(key)
        if value is None and default is not None:
            value = default
        value = self.get(key) if value is None else value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.problem(
                key, f"{value!r} is not an amount in minor units (a whole number, e.g. 2000)"
            )
        if not 0 <= value <= MINOR_MAX:
            raise self.problem(key, f"{value} is not an amount from 0 in minor units")
        return from_minor(value, currency)

    def currency(self, key: str, *, required: bool = True) -> str | None:
        value = self.document.get(key)
        if value is None and not required:
            return None
        value = self.get(key)
        try:
            exponent(value)
        except CurrencyProblem as exc:
            raise self.problem(key, str(exc)) from None
        return value.upper()

    def moment(self, key: str, *, naive_utc: bool = False) -> str | None:
        """An ISO 8601 timestamp, or a Unix time (seconds), as ISO text in UTC (or, for
        a string without an offset, as given: the program time zone reads it — unless
        ``naive_utc``, for platforms' ``*_gmt`` fields)."""
        value = self.document.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 32_503_680_000:  # year 3000
                raise self.problem(key, f"{value} is not a Unix time")
            return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
        if not isinstance(value, str):
            raise self.problem(key, "must be an ISO 8601 timestamp")
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.problem(key, f"{text!r} is not an ISO 8601 timestamp") from None
        if moment.tzinfo is None and naive_utc:
            return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        return text

    def first_moment(self, *keys: str, naive_utc: tuple[str, ...] = ()) -> str:
        for key in keys:
            found = self.moment(key, naive_utc=key in naive_utc)
            if found is not None:
                return found
        raise PayloadProblem(f"{self.where(keys[0])} is missing")

    def sku(self, key: str, fallback: str) -> str:
        """A line's sku; lines without one are told apart by ``fallback`` (its id)."""
        value = self.document.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return fallback
        if not isinstance(value, str):
            raise self.problem(key, "must be a string")
        if len(value.strip()) > REF_MAX or _CONTROL_RE.search(value):
            raise self.problem(key, f"must be one line of at most {REF_MAX} characters")
        return value.strip()


def spread_items(sku: str, quantity: int, line_total: Decimal) -> list[dict]:
    """Our items for a line known by its total: ``price x quantity`` must equal the
    line's total exactly, so the units that the total does not divide evenly cost one
    smallest unit more (the parser adds lines of one sku together)."""
    if quantity <= 0:
        return []
    places = max(-line_total.as_tuple().exponent, 0)
    unit = Decimal(1).scaleb(-places)
    smallest = int(line_total.scaleb(places))
    base, more = divmod(smallest, quantity)
    found = []
    if more:
        found.append({"sku": sku, "price": money_text((base + 1) * unit), "quantity": more})
    if quantity - more:
        found.append({"sku": sku, "price": money_text(base * unit), "quantity": quantity - more})
    return found


def joined(
    mapping: Mapping,
    platform: str,
    customer: Customer,
    *,
    at: str,
    name: str | None,
) -> None:
    """A customer payload as a member.joined: the customer's id becomes the new member's
    id when no member matches (``name``: the customer's, else their email or id)."""
    document = {
        "id": f"{platform}:customer:{customer.id}",
        "type": "member.joined",
        "at": at,
        "name": name or customer.email or f"Customer {customer.id}",
    }
    if customer.email:
        document["email"] = customer.email
    if customer.phone:
        document["phone"] = customer.phone
    mapping.events.append(MappedEvent(document, customer, adds=True))


def full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(part for part in (first, last) if part) or None
