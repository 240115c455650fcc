"""Store and club events (JSON lines): parsed and validated one line at a time.

Pure: no I/O. `parse_line` turns one line of an events file into a typed event, or
raises `EventProblem` with a sentence saying what is wrong. Unknown fields are
ignored (stores send more than we read); missing or malformed known fields are
problems. Money is a decimal string (a JSON number is read exactly too).

Each event type has its `Event` class and a reader of its own fields, registered in
`_READERS`; what ingesting it does is its handler's (services/earning/handlers).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from loyaltyctl.domain.canonical import loads_plain, sorted_bytes
from loyaltyctl.domain.earning import PLATFORMS, SOCIAL_ACTIONS
from loyaltyctl.domain.values import (
    ValueProblem,
    validate_birthday,
    validate_email,
    validate_external_id,
    validate_phone,
)

JOINED = "member.joined"
ORDER_PAID = "order.paid"
ORDER_REFUNDED = "order.refunded"
REVIEW = "review.submitted"
SOCIAL = "social.action"
BIRTHDAY_CHANGED = "member.birthday_changed"
ORDER_CHARGEBACK = "order.chargeback"
SUBSCRIPTION_STARTED = "subscription.started"
SUBSCRIPTION_RENEWED = "subscription.renewed"
SUBSCRIPTION_CANCELLED = "subscription.cancelled"
SUBSCRIPTION_RESUMED = "subscription.resumed"
DISCOUNTS_MAX = 100  # discount slugs named on one order

ID_MAX = 200
REF_MAX = 100  # order ids, skus, products
NAME_MAX = 200
LINE_MAX = 1_000_000  # bytes: one event, however many items
MONEY_MAX = Decimal("1000000000000")  # far above any real order
QUANTITY_MAX = 1_000_000
COUPONS_MAX = 100  # coupon codes on one order
COUPON_CODE_MAX = 64
FUTURE_SLACK = timedelta(days=1)  # a store's clock a little ahead is fine, next week is not
_CONTROL_RE = re.compile(r"[\x00-\x1f]")
_MONEY_RE = re.compile(r"[0-9]{1,13}(\.[0-9]{1,6})?")


class EventProblem(ValueError):
    """What is wrong with one line, as one sentence; ``code`` and ``data`` let a front end
    word it its own way."""

    code = "bad_event"

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.data = data


class UnknownEventMember(EventProblem):
    """The event names a member nobody added. data: member."""

    code = "unknown_member"


@dataclass(slots=True)
class Event:
    line: int
    id: str
    type: str
    at: datetime
    digest: str  # sha256 of the fields read (`read_digest`): what "the same content" means
    member: str | None  # external id
    # the line as written (our own format): what an event ingested before 0010 was
    # digested from (`legacy_digest`)
    source: str | None = field(default=None, kw_only=True, repr=False)


@dataclass(slots=True)
class MemberJoined(Event):
    name: str
    email: str | None
    phone: str | None
    birthday: str | None


@dataclass(slots=True)
class OrderPaid(Event):
    order_id: str
    currency: str | None
    items: dict[str, tuple[int, Decimal]]  # sku -> (quantity, value = price x quantity)
    total: Decimal  # the items' value
    discount: Decimal
    shipping: Decimal
    coupons: tuple[str, ...] = ()  # codes as the store sent them (never recorded in clear)
    discounts: tuple[str, ...] = ()  # slugs of the discounts used on the order (statistics)
    tax: Decimal = Decimal(0)  # never earns; part of what a gross refund is a share of

    @property
    def value(self) -> Decimal:
        """What earns points: paid for the items after discounts, shipping excluded."""
        return self.total - self.discount


@dataclass(slots=True)
class OrderRefunded(Event):
    order_id: str
    items: dict[str, int] | None  # sku -> quantity; None with an amount or a full refund
    amount: Decimal | None  # of the value paid for items (after discounts)
    # a gross amount (items, shipping and tax together, as a payment platform refunds
    # it): the items' share of it is reversed
    gross: Decimal | None = None


@dataclass(slots=True)
class OrderChargeback(OrderRefunded):
    """The payment of an order was taken back: earned points are reversed as by a full
    refund (``items`` and ``amount`` are always None)."""


@dataclass(slots=True)
class ReviewSubmitted(Event):
    order_id: str
    product: str
    social_login: bool
    photos: int
    video: bool


@dataclass(slots=True)
class SocialAction(Event):
    platform: str
    action: str


@dataclass(slots=True)
class BirthdayChanged(Event):
    birthday: str


@dataclass(slots=True)
class SubscriptionEvent(Event):
    """subscription.started (member, package), .renewed and .resumed (renews_at),
    .cancelled: ``member`` and ``package`` only on started."""

    subscription_id: str
    package: str | None = None
    renews_at: datetime | None = None


NESTING_MAX = 32  # no event needs more; deeper ones would exhaust the stack
INTEGER_DIGITS_MAX = 30  # no count or amount needs more; Python refuses 4,300 digits


class _LongInteger(str):
    """A JSON integer with too many digits to be any field's value (named by _check_shape)."""


def _integer(text: str) -> int | _LongInteger:
    return _LongInteger(text) if len(text) > INTEGER_DIGITS_MAX else int(text)


def _check_shape(document: dict) -> None:
    """Refuse what no event holds: nesting past NESTING_MAX, integers past 30 digits
    (each named by its field). Iterative, so the check itself cannot exhaust the stack."""
    if _plain_shape(document, floats=True):
        return
    _name_shape_problem(document)


def _plain_shape(document: object, *, floats: bool) -> bool:
    """Whether nothing in the document is nested past NESTING_MAX or an integer of too
    many digits (nor, unless ``floats``, a float): the fast walk of every event, naming
    nothing; `_name_shape_problem` names what it finds."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        depth += 1
        for child in children:
            if depth > NESTING_MAX:  # a container at the deepest level holds something
                return False
            kind = type(child)
            if kind is str or kind is int or kind is bool or child is None:
                continue
            if isinstance(child, dict | list):
                stack.append((child, depth))
            elif kind is _LongInteger or (kind is float and not floats):
                return False
    return True


def _name_shape_problem(document: dict) -> None:
    """Raise the problem `_plain_shape` found, naming its field."""
    stack: list[tuple[str, object, int]] = [("", document, 0)]
    while stack:
        name, value, depth = stack.pop()
        if isinstance(value, _LongInteger):
            raise EventProblem(
                f"{name}: a number of {len(value.lstrip('-')):,} digits is too large"
            )
        if depth > NESTING_MAX:
            raise EventProblem(f"{name}: the JSON is nested deeper than {NESTING_MAX} levels")
        if isinstance(value, dict):
            stack.extend((f"{name}.{k}" if name else k, v, depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{name}[{i}]", v, depth + 1) for i, v in enumerate(value))


# one decoder for every line (json.loads with options makes a new one)
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_integer)


def digest_of(document: dict, *, plain: bool = True) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, no spaces): the same event
    written with other spacing or key order has the same digest. ``plain``: no NaN or
    Infinity in it (see domain/canonical.py)."""
    return hashlib.sha256(sorted_bytes(document, plain=plain)).hexdigest()


def parse_line(text: str, line: int, *, tz: ZoneInfo, now: datetime) -> Event:
    """One event from one line (not blank). Raises EventProblem."""
    if len(text) > LINE_MAX:
        raise EventProblem(f"the line is longer than {LINE_MAX:,} characters")
    document = loads_plain(text)  # the fast reading, when it is the reference's
    if type(document) is dict:
        event = _usual_order(document, line, tz=tz, now=now)
        if event is not None:
            event.source = text
            return event
    if type(document) is dict and _plain_shape(document, floats=False):
        event = parse_document(document, line, tz=tz, now=now, checked=True)
        event.source = text
        return event
    try:
        document = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise EventProblem(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise EventProblem(f"the JSON is nested deeper than {NESTING_MAX} levels") from None
    event = parse_document(document, line, tz=tz, now=now)
    event.source = text
    return event


def parse_document(
    document: object, line: int, *, tz: ZoneInfo, now: datetime, checked: bool = False
) -> Event:
    """One event from its decoded JSON (a line of ours, or what a store format's mapper
    made of a payload). Raises EventProblem. ``checked``: its shape was found plain."""
    if not isinstance(document, dict):
        raise EventProblem('each line must be one JSON object, e.g. {"id": ..., "type": ...}')
    if not checked:
        _check_shape(document)
    reader = _Fields(document, tz=tz)
    event_id = reader.ref("id", ID_MAX)
    kind = reader.text("type", 40)
    read = _READERS.get(kind)
    if read is None:
        raise EventProblem(f"unknown event type {kind!r}; known: {', '.join(TYPES)}")
    at = reader.moment("at", tz)
    if at > now + FUTURE_SLACK:
        raise EventProblem(f"at: {at:%Y-%m-%d %H:%M} UTC is in the future")
    event = read(reader, (line, event_id, kind, at, ""))
    event.digest = read_digest(event)
    return event


# what "the same content" leaves out: where the event was, and the coupons (secrets:
# `with_coupons` adds their keyed hashes once the ingest has the key ring)
_NOT_CONTENT = frozenset(("line", "digest", "source", "coupons"))
_CONTENT_FIELDS: dict[type, tuple[tuple[str, object], ...]] = {}


def _content_fields(kind: type) -> tuple[tuple[str, object], ...]:
    """(name, default) of the fields of an event class that are its content."""
    found = _CONTENT_FIELDS.get(kind)
    if found is None:
        found = tuple(
            (f.name, f.default) for f in fields(kind) if f.name not in _NOT_CONTENT and f.init
        )
        _CONTENT_FIELDS[kind] = found
    return found


def _decimal_text(value: Decimal) -> str:
    """An amount as its digest has it: 10.0 and 10.00 are the same amount, written
    ``format(value.normalize(), "f")``. Most amounts are written so already by ``str``
    (no exponent, no trailing zero after a point: normalizing changes nothing), which is
    several times faster; the others take the long way (a test compares the two)."""
    text = str(value)
    if "E" not in text and (text[-1] != "0" or "." not in text) and len(text) < 28:
        return text
    return format(value.normalize(), "f")


def _plain(value: object) -> object:
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def read_digest(event: Event) -> str:
    """SHA-256 of the fields the tool reads of the event, as it read them (so a store
    resending a payload with fields added or changed that nothing reads is the same
    event). A field left at its default is left out, so an event type that later reads
    one more optional field keeps the digests of the events ingested before."""
    return digest_of(read_content(event))


def read_content(event: Event) -> dict:
    """The fields `read_digest` covers, as plain JSON values."""
    if type(event) is OrderPaid:  # the bulk of a big ingest: the same content, spelled out
        return order_content(event)
    return generic_content(event)


def generic_content(event: Event) -> dict:
    """`read_content` of any event, from its class's fields."""
    content = {}
    for name, default in _content_fields(type(event)):
        value = getattr(event, name)
        if default is not MISSING and value == default:
            continue
        content[name] = _plain(value)
    return content


def order_content(event: OrderPaid) -> dict:
    """`generic_content` of an order.paid, field by field (a test keeps them equal): every
    field without a default always, ``discounts`` and ``tax`` when not at their default."""
    text = _decimal_text
    content = {
        "id": event.id,
        "type": event.type,
        "at": event.at.isoformat(),
        "member": event.member,
        "order_id": event.order_id,
        "currency": event.currency,
        "items": {sku: [quantity, text(value)] for sku, (quantity, value) in event.items.items()},
        "total": text(event.total),
        "discount": text(event.discount),
        "shipping": text(event.shipping),
    }
    if event.discounts != ():
        content["discounts"] = list(event.discounts)
    if event.tax != 0:
        content["tax"] = text(event.tax)
    return content


def refund_document(event: OrderRefunded) -> dict:
    """A refund (or chargeback) as our own format writes it: what `parse_document` reads
    back into the same event (a held refund is kept so)."""
    document: dict = {
        "id": event.id,
        "type": event.type,
        "at": event.at.isoformat(),
        "order_id": event.order_id,
    }
    if event.member is not None:
        document["member"] = event.member
    if event.items is not None:
        document["items"] = [{"sku": sku, "quantity": q} for sku, q in event.items.items()]
    for name in ("amount", "gross"):
        value = getattr(event, name)
        if value is not None:
            document[name] = format(value, "f")
    return document


def legacy_digest(text: str) -> str:
    """The digest an event ingested before schema 0010 was recorded with: of its whole
    line (coupons apart), whatever it read."""
    document = _DECODER.decode(text)
    document = {k: v for k, v in document.items() if k != "coupons"}
    plain = "NaN" not in text and "Infinity" not in text  # else the standard encoder's way
    return digest_of(document, plain=plain)


def with_coupons(digest: str, code_hashes: list[str]) -> str:
    """The digest of an event that names coupons: of the rest of it and the codes' keyed
    hashes (a stored digest from which a code could be guessed would reveal it)."""
    return hashlib.sha256(f"{digest}\x1fcoupons\x1f{','.join(code_hashes)}".encode()).hexdigest()


# --- each type's fields ---------------------------------------------------------------------
# ``common``: (line, id, type, at, digest), the fields every event starts with


def _joined(reader: _Fields, common: tuple) -> MemberJoined:
    return MemberJoined(
        *common,
        reader.member("member"),
        name=reader.text("name", NAME_MAX),
        email=reader.optional("email", validate_email),
        phone=reader.optional("phone", validate_phone),
        birthday=reader.optional("birthday", validate_birthday),
    )


def _review(reader: _Fields, common: tuple) -> ReviewSubmitted:
    return ReviewSubmitted(
        *common,
        reader.member("member"),
        order_id=reader.ref("order_id", REF_MAX),
        product=reader.ref("product", REF_MAX),
        social_login=reader.flag("social_login"),
        photos=reader.count("photos", minimum=0, default=0),
        video=reader.flag("video"),
    )


def _social(reader: _Fields, common: tuple) -> SocialAction:
    return SocialAction(
        *common,
        reader.member("member"),
        platform=reader.choice("platform", PLATFORMS),
        action=reader.choice("action", SOCIAL_ACTIONS),
    )


def _birthday_changed(reader: _Fields, common: tuple) -> BirthdayChanged:
    member = reader.member("member")
    return BirthdayChanged(*common, member, birthday=reader.required("birthday", validate_birthday))


def _order(reader: _Fields, common: tuple) -> OrderPaid:
    member = reader.member("member")
    items = _plain_items(reader.document.get("items"))
    if items is None:  # something unusual: the careful reading says what
        items = _items(reader)
    total = sum((value for _, value in items.values()), Decimal(0))
    discount = reader.money("discount", default=Decimal(0))
    if discount > total:
        raise EventProblem(f"discount: {discount} is more than the items' {total}")
    return OrderPaid(
        *common,
        member,
        order_id=reader.ref("order_id", REF_MAX),
        currency=reader.optional_text("currency", 8),
        items=items,
        total=total,
        discount=discount,
        shipping=reader.money("shipping", default=Decimal(0)),
        coupons=_coupon_codes(reader.document.get("coupons")),
        discounts=_discount_slugs(reader.document.get("discounts")),
        tax=reader.money("tax", default=Decimal(0)),
    )


def _usual_order(document: dict, line: int, *, tz: ZoneInfo, now: datetime) -> OrderPaid | None:
    """An order.paid written the usual way (the bulk of a big ingest), read without the
    careful reading's steps; None as soon as anything is not usual (another type, a
    container besides the items, a float, whitespace or a number where text is usual, a
    value the careful reading refuses), and `parse_document` reads it with its messages.
    What it accepts, it reads as `parse_document` does (a test compares the two)."""
    if document.get("type") != ORDER_PAID:
        return None
    listed = document.get("items")
    for value in document.values():  # text, numbers, booleans and nulls; the items apart
        kind = type(value)
        if not (kind is str or kind is int or kind is bool or value is None) and (
            value is not listed
        ):
            return None
    if type(listed) is not list:
        return None
    for item in listed:
        if type(item) is not dict:
            return None
        for value in item.values():
            kind = type(value)
            if not (kind is str or kind is int or kind is bool or value is None):
                return None
    items = _plain_items(listed)
    event_id = _usual_text(document.get("id"), ID_MAX)
    member = _usual_text(document.get("member"), 64)
    order_id = _usual_text(document.get("order_id"), REF_MAX)
    at = document.get("at")
    currency = document.get("currency")
    if currency is not None:
        currency = _usual_text(currency, 8)
        if currency is None:
            return None
    discount = _usual_money(document.get("discount"))
    shipping = _usual_money(document.get("shipping"))
    tax = _usual_money(document.get("tax"))
    if (
        items is None
        or event_id is None
        or member is None
        or order_id is None
        or type(at) is not str
        or discount is None
        or shipping is None
        or tax is None
        or document.get("coupons") is not None  # read (and refused) the careful way
        or document.get("discounts") is not None
    ):
        return None
    try:
        member = validate_external_id(member)
    except ValueProblem:
        return None
    try:
        moment = datetime.fromisoformat(at.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:  # no offset: the program time zone
        moment = moment.replace(tzinfo=tz)
    moment = moment.astimezone(UTC)
    if moment > now + FUTURE_SLACK:
        return None
    total = sum((value for _, value in items.values()), Decimal(0))
    if discount > total:
        return None
    event = OrderPaid(
        line,
        event_id,
        ORDER_PAID,
        moment,
        "",
        member,
        order_id=order_id,
        currency=currency,
        items=items,
        total=total,
        discount=discount,
        shipping=shipping,
        tax=tax,
    )
    event.digest = digest_of(order_content(event))
    return event


def _usual_text(value, limit: int) -> str | None:
    """`_Fields.text` of a value that is text, or None (refused, or not text)."""
    if type(value) is not str or len(value) > limit or _CONTROL_RE.search(value):
        return None
    return value.strip() or None


_ZERO = Decimal(0)


def _usual_money(value) -> Decimal | None:
    """`_Fields.money` with a default of 0, of a value absent or written as usual (text
    without spaces), or None."""
    if value is None:
        return _ZERO
    if type(value) is not str or not _MONEY_RE.fullmatch(value):
        return None
    amount = Decimal(value)
    return amount if amount <= MONEY_MAX else None


def _discount_slugs(listed) -> tuple[str, ...]:
    if listed is None:
        return ()
    if not isinstance(listed, list) or len(listed) > DISCOUNTS_MAX:
        raise EventProblem(f"discounts must be a list of at most {DISCOUNTS_MAX} discount slugs")
    for index, slug in enumerate(listed):
        if not isinstance(slug, str) or not slug.strip() or len(slug) > 64:
            raise EventProblem(f"discounts[{index}] must be a discount slug")
    return tuple(slug.strip() for slug in listed)


def _subscription(reader: _Fields, common: tuple) -> SubscriptionEvent:
    kind = common[2]
    started = kind == SUBSCRIPTION_STARTED
    member = reader.member("member") if started else None
    subscription_id = reader.ref("subscription_id", REF_MAX)
    package = reader.ref("package", REF_MAX) if started else None
    renews_at = None
    if kind != SUBSCRIPTION_CANCELLED and reader.document.get("renews_at") is not None:
        renews_at = reader.moment("renews_at", reader.tz)
    return SubscriptionEvent(
        *common, member, subscription_id=subscription_id, package=package, renews_at=renews_at
    )


def _coupon_codes(listed) -> tuple[str, ...]:
    """The order's coupon codes; a problem names the code's position, never the code."""
    if listed is None:
        return ()
    if not isinstance(listed, list) or len(listed) > COUPONS_MAX:
        raise EventProblem(f"coupons must be a list of at most {COUPONS_MAX} coupon codes")
    for index, code in enumerate(listed):
        if (
            not isinstance(code, str)
            or not code.strip()
            or len(code) > COUPON_CODE_MAX
            or _CONTROL_RE.search(code)
        ):
            raise EventProblem(
                f"coupons[{index}] must be a coupon code: a string of 1-{COUPON_CODE_MAX}"
                " characters"
            )
    return tuple(listed)


def _plain_items(listed) -> dict[str, tuple[int, Decimal]] | None:
    """The items of an order written the usual way (the hot path of a big ingest); None
    as soon as anything is not, and `_items` reads them with its messages."""
    if type(listed) is not list or not listed:
        return None
    items: dict[str, tuple[int, Decimal]] = {}
    for item in listed:
        if type(item) is not dict:
            return None
        sku, price, quantity = item.get("sku"), item.get("price"), item.get("quantity", 1)
        if (
            type(sku) is not str
            or not 0 < len(sku) <= REF_MAX
            or sku != sku.strip()
            or _CONTROL_RE.search(sku)
            or type(price) is not str
            or not _MONEY_RE.fullmatch(price)
            or type(quantity) is not int
            or not 1 <= quantity <= QUANTITY_MAX
        ):
            return None
        had_quantity, had_value = items.get(sku, (0, Decimal(0)))
        items[sku] = (had_quantity + quantity, had_value + Decimal(price) * quantity)
    return items


def _items(reader: _Fields) -> dict[str, tuple[int, Decimal]]:
    items: dict[str, tuple[int, Decimal]] = {}
    for index, item in enumerate(reader.array("items")):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise EventProblem(f"{where} must be an object with sku, price and quantity")
        part = _Fields(item, prefix=f"{where}.")
        sku = part.ref("sku", REF_MAX)
        price = part.money("price")
        quantity = part.count("quantity", minimum=1, default=1)
        had_quantity, had_value = items.get(sku, (0, Decimal(0)))
        items[sku] = (had_quantity + quantity, had_value + price * quantity)
    return items


def _refund(reader: _Fields, common: tuple) -> OrderRefunded:
    member = reader.member("member") if "member" in reader.document else None
    order_id = reader.ref("order_id", REF_MAX)
    has_items = reader.document.get("items") is not None
    has_amount = reader.document.get("amount") is not None
    has_gross = reader.document.get("gross") is not None
    if has_items + has_amount + has_gross > 1:
        raise EventProblem(
            "give items, amount or gross (or none of them, for a full refund), not several"
        )
    items = None
    if has_items:
        items = {}
        listed = reader.array("items")
        for index, item in enumerate(listed):
            where = f"items[{index}]"
            if not isinstance(item, dict):
                raise EventProblem(f"{where} must be an object with sku and quantity")
            part = _Fields(item, prefix=f"{where}.")
            sku = part.ref("sku", REF_MAX)
            items[sku] = items.get(sku, 0) + part.count("quantity", minimum=1, default=1)
    amount = reader.money("amount") if has_amount else None
    if amount is not None and amount <= 0:
        raise EventProblem("amount: a refund amount must be more than 0")
    gross = reader.money("gross") if has_gross else None
    if gross is not None and gross <= 0:
        raise EventProblem("gross: a refund amount must be more than 0")
    return OrderRefunded(
        *common, member, order_id=order_id, items=items, amount=amount, gross=gross
    )


def _chargeback(reader: _Fields, common: tuple) -> OrderChargeback:
    member = reader.member("member") if "member" in reader.document else None
    order_id = reader.ref("order_id", REF_MAX)
    return OrderChargeback(*common, member, order_id=order_id, items=None, amount=None)


_READERS = {
    JOINED: _joined,
    ORDER_PAID: _order,
    ORDER_REFUNDED: _refund,
    ORDER_CHARGEBACK: _chargeback,
    REVIEW: _review,
    SOCIAL: _social,
    BIRTHDAY_CHANGED: _birthday_changed,
    SUBSCRIPTION_STARTED: _subscription,
    SUBSCRIPTION_RENEWED: _subscription,
    SUBSCRIPTION_CANCELLED: _subscription,
    SUBSCRIPTION_RESUMED: _subscription,
}
TYPES = tuple(_READERS)


class _Fields:
    """Typed reads of an event's fields; each failure is one EventProblem."""

    def __init__(self, document: dict, prefix: str = "", tz: ZoneInfo | None = None) -> None:
        self.document = document
        self.prefix = prefix
        self.tz = tz

    def _get(self, key: str):
        value = self.document.get(key)
        if value is None:
            raise EventProblem(f"{self.prefix}{key} is missing")
        return value

    def text(self, key: str, limit: int) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise EventProblem(f"{self.prefix}{key} must be a non-empty string")
        if len(value) > limit or _CONTROL_RE.search(value):
            raise EventProblem(f"{self.prefix}{key} must be one line of at most {limit} characters")
        return value.strip()

    def optional_text(self, key: str, limit: int) -> str | None:
        return self.text(key, limit) if self.document.get(key) is not None else None

    def ref(self, key: str, limit: int) -> str:
        """An identifier: a string, or a whole number written without quotes."""
        value = self._get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key, limit)

    def member(self, key: str) -> str:
        value = self.ref(key, 64)
        try:
            return validate_external_id(value)
        except ValueProblem as exc:
            raise EventProblem(f"{self.prefix}{key}: {exc}") from None

    def required(self, key: str, validate) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise EventProblem(f"{self.prefix}{key} must be a string")
        try:
            return validate(value)
        except ValueProblem as exc:
            raise EventProblem(f"{self.prefix}{key}: {exc}") from None

    def optional(self, key: str, validate) -> str | None:
        return self.required(key, validate) if self.document.get(key) is not None else None

    def moment(self, key: str, tz: ZoneInfo) -> datetime:
        value = self._get(key)
        if not isinstance(value, str):
            raise EventProblem(f"{self.prefix}{key} must be an ISO 8601 timestamp string")
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise EventProblem(
                f"{self.prefix}{key}: {value!r} is not an ISO 8601 timestamp, "
                "e.g. 2026-11-02T10:00:00Z"
            ) from None
        if moment.tzinfo is None:  # no offset: the program time zone
            moment = moment.replace(tzinfo=tz)
        return moment.astimezone(UTC)

    def money(self, key: str, default: Decimal | None = None) -> Decimal:
        value = self.document.get(key)
        if value is None:
            if default is not None:
                return default
            raise EventProblem(f"{self.prefix}{key} is missing")
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise EventProblem(f'{self.prefix}{key} must be a decimal string, e.g. "10.00"')
        text = str(value).strip()
        if not _MONEY_RE.fullmatch(text):
            raise EventProblem(
                f'{self.prefix}{key}: {text!r} is not an amount of money (e.g. "10.00";'
                " no sign, at most 6 decimals)"
            )
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern rules it out
            raise EventProblem(f"{self.prefix}{key}: {text!r} is not a number") from None
        if amount > MONEY_MAX:
            raise EventProblem(f"{self.prefix}{key}: {text} is too large")
        return amount

    def count(self, key: str, *, minimum: int, default: int) -> int:
        value = self.document.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise EventProblem(f"{self.prefix}{key} must be a whole number")
        if not minimum <= value <= QUANTITY_MAX:
            raise EventProblem(f"{self.prefix}{key} must be between {minimum} and {QUANTITY_MAX:,}")
        return value

    def flag(self, key: str) -> bool:
        value = self.document.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise EventProblem(f"{self.prefix}{key} must be true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, 40)
        if value not in choices:
            raise EventProblem(f"{self.prefix}{key}: {value!r} is not one of {', '.join(choices)}")
        return value

    def array(self, key: str) -> list:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            raise EventProblem(f"{self.prefix}{key} must be a non-empty array")
        return value
