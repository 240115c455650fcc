"""Stores' own formats in `events ingest --format NAME` and `events map`: payloads as
the platforms deliver them, mapped to our events (`domain.stores`), and the member each
one's customer is.

Mapping is pure and happens while the file is read; the members are found in the
chunk's transaction (`resolve`), so a customer that a payload earlier in the file added
is found by the ones after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from loyaltyctl.domain.events import EventProblem, UnknownEventMember
from loyaltyctl.domain.stores import FORMATS, Customer, PayloadProblem, read_payloads
from loyaltyctl.domain.values import (
    ValueProblem,
    phone_digits,
    validate_email,
    validate_external_id,
)
from loyaltyctl.store import members as member_store
from loyaltyctl.store.db import Session


class UnknownCustomer(UnknownEventMember):
    """No member (or more than one) is the payload's customer. data: member."""

    code = "unknown_customer"


@dataclass(frozen=True)
class Pending:
    """A mapped event whose member is not found yet (``customer`` None: it names none)."""

    line: int
    document: dict
    customer: Customer | None = None
    adds: bool = False


@dataclass(frozen=True)
class Note:
    """Something a payload says that is reported, not applied (not a bad line)."""

    line: int
    message: str


@dataclass(frozen=True)
class Bad:
    line: int
    message: str


def mapped(lines: Iterable[str], format_name: str) -> Iterator[Pending | Note | Bad]:
    """What each payload of a file maps to, in file order."""
    mapper = FORMATS[format_name]
    for payload in read_payloads(lines):
        if payload.problem is not None:
            yield Bad(payload.line, payload.problem)
            continue
        if not isinstance(payload.document, dict):
            yield Bad(payload.line, f"not a {format_name} payload: each must be a JSON object")
            continue
        try:
            mapping = mapper.map(payload.document)
        except PayloadProblem as exc:
            yield Bad(payload.line, str(exc))
            continue
        except (ArithmeticError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # a shape no check foresaw: still one bad line, never a crash of the file
            yield Bad(payload.line, f"not a {format_name} payload this tool can read ({exc})")
            continue
        for event in mapping.events:
            yield Pending(payload.line, event.document, event.customer, event.adds)
        for note in mapping.notes:
            yield Note(payload.line, note)


def unsupported(event_type: str) -> str:
    """What a mapped event of a type this version does not apply says."""
    return f"{event_type} events are not applied by this version of loyaltyctl: skipped"


def _lookup_values(customer: Customer, key: str) -> str | None:
    """The customer's value for a member key, as members store it."""
    try:
        if key == "external_id":
            return validate_external_id(customer.id) if customer.id else None
        if key == "email":
            return validate_email(customer.email) if customer.email else None
        digits = phone_digits(customer.phone)
        return digits[::-1] if digits else None
    except ValueProblem:
        return None


def _keys(member_key: str | None) -> tuple[str, ...]:
    return (member_key,) if member_key else ("external_id", "email")


class Resolver:
    """Finds the members of a chunk's customers: by ``member_key`` only when given, else
    by the customer's id against external ids and then by email. Customers that a
    member.joined of the same run added are remembered."""

    def __init__(self, member_key: str | None) -> None:
        self.keys = _keys(member_key)
        self.added: dict[tuple[str, str], str] = {}  # (key, value) -> external id

    def documents(self, session: Session, pending: list[Pending]) -> Iterator[tuple]:
        """(pending, its document with "member" set) or (pending, EventProblem)."""
        wanted: dict[str, set[str]] = {key: set() for key in self.keys}
        for item in pending:
            if item.customer:
                for key in self.keys:
                    value = _lookup_values(item.customer, key)
                    if value is not None:
                        wanted[key].add(value)
        found = {
            key: member_store.external_ids_by(session, key, values)
            for key, values in wanted.items()
            if values
        }
        for item in pending:
            if item.customer is None:
                yield item, item.document
                continue
            try:
                member = self._member(item, found)
            except EventProblem as problem:
                yield item, problem
                continue
            yield item, {**item.document, "member": member}

    def _member(self, item: Pending, found: dict) -> str:
        customer = item.customer
        for key in self.keys:
            value = _lookup_values(customer, key)
            if value is None:
                continue
            if (key, value) in self.added:
                return self.added[(key, value)]
            matches = found.get(key, {}).get(value, [])
            if len(matches) > 1:
                raise UnknownCustomer(
                    f"the customer's {key} {value if key != 'phone' else customer.phone!r}"
                    f" is more than one member's ({', '.join(sorted(matches)[:3])});"
                    " choose the member key with --member-key",
                    member=value,
                )
            if matches:
                return matches[0]
        if item.adds and customer.id:
            try:
                member = validate_external_id(customer.id)
            except ValueProblem as exc:
                raise EventProblem(f"id: {exc}") from None
            for key in ("external_id", "email", "phone"):
                value = _lookup_values(customer, key)
                if value is not None:
                    self.added.setdefault((key, value), member)
            return member
        shown = (
            ", ".join(
                f"{name} {value}"
                for name, value in (("id", customer.id), ("email", customer.email))
                if value
            )
            or "no id or email"
        )
        raise UnknownCustomer(
            f"no member matches the payload's customer ({shown}) by"
            f" {' or '.join(self.keys)}; add them first (their customers/create payload or"
            " `member add`), or choose the member key with --member-key",
            member=customer.id or customer.email or "",
        )
