"""What a type of event does when a chunk of an events file applies it.

A handler applies the events of one type (`event_type`) and returns each one's points,
its details (recorded with the event) and its member's id; a bad event raises
EventProblem (a bad line, nothing of it applied). Handlers are registered by event type
in `handlers/__init__.py`.

An event type that earns points by the rules of one kind has a `RuleHandler`: its
`apply` finds the member and calls `earn`, the one rule loop of all of them. For each
active rule of the kind, in order, the loop

1. passes over a rule the member's tier does not earn (noted);
2. holds back a rule its own counters say was earned enough (`held`: once ever, once
   per order...) or whose limit is reached in the event's scope (noted; the event is
   capped);
3. works out the points for the member's tier, its multiplier or override (`points`),
   within what the rule may still give (`cap`: noted and capped when less);
4. awards them, pending for the rule's wait days, and counts the use in the rule's own
   counters (`counted`) and in its limit's;

and when the event earned points, looks at the member's tier again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Protocol
from zoneinfo import ZoneInfo

from loyaltyctl.domain.earning import EarningRule, Tier, eligible
from loyaltyctl.domain.events import Event
from loyaltyctl.domain.limits import limit_scope_at

if TYPE_CHECKING:
    from loyaltyctl.crypto import KeyRing
    from loyaltyctl.services.earning.engine import Earner, Earning
    from loyaltyctl.services.earning.in_force import RulesInForce
    from loyaltyctl.services.members import MemberChange
    from loyaltyctl.store.db import Session

Outcome = tuple[int, dict, int]  # (the event's points, its details, its member's id)


@dataclass
class Paid:
    """An order.paid event, ingested before or in this chunk: what its refunds read."""

    event_id: str
    member_id: int
    details: dict  # as recorded: the order's value, its items, and each rule's award


class Chunk(Protocol):
    """What a handler uses of the chunk applying it (`ingest`), in one transaction."""

    session: Session  # the chunk's transaction
    operator: str
    now: datetime  # when the chunk is applied (events have their own `at`)
    keys: Callable[[], KeyRing]  # the key ring, loaded when first asked (coupons)
    earner: Earner  # the chunk's members, locked
    rules: RulesInForce
    tz: ZoneInfo  # the program time zone
    paid: dict[str, Paid]  # order id -> its order.paid, for the orders the chunk names
    refunds: dict[str, list[dict]]  # order id -> the details of its refunds so far
    birthdays: list[MemberChange]  # saved when the chunk's events are applied
    created_at_line: dict[str, int]  # external id -> the line of the member.joined adding them
    cache: dict  # what a handler reads once per chunk (the discounts' triggers)

    def member(self, event: Event) -> Earning:
        """The event's member; raises EventProblem when there is none (yet)."""


class Handler:
    """Applies the events of one type (`apply`).

    What the chunk reads for the events before applying any, in one go for all of them,
    the class says:
    - ``reads_order``: the paid order an event names (``chunk.paid``);
    - ``reads_subscription``: the member of the subscription an event names is locked
      with the others (the event does not name one);
    - ``takes_back``: the order's refunds so far (``chunk.refunds``) and its pending
      lots too, and the order's member is the event's (locked with the others);
    - ``new_member``: None, or a method ``(event) -> MemberChange``: the member an event
      adds when no member has its id yet;
    - `scopes`: the counters of its rules an event reads.
    """

    event_type: ClassVar[str]
    rule_kind: ClassVar[str | None] = None  # the kind of rule its events earn by
    reads_order: ClassVar[bool] = False
    reads_subscription: ClassVar[bool] = False  # its member is its subscription's
    takes_back: ClassVar[bool] = False
    new_member: ClassVar[Callable[..., MemberChange] | None] = None

    def apply(self, chunk: Chunk, event) -> Outcome:
        raise NotImplementedError

    def scopes(self, rule: EarningRule, event) -> tuple[str, ...]:
        """The scopes of the rule's own counters an event reads (besides its limit's)."""
        return ()


def eligible_rules(
    rules: Iterable[EarningRule], tier: str | None, notes: list[str]
) -> Iterator[EarningRule]:
    """The rules a member of the tier labelled ``tier`` earns by, noting the others."""
    for rule in rules:
        if eligible(rule, tier):
            yield rule
        else:
            notes.append(f"{rule.slug}: only for tiers {', '.join(rule.tiers)}")


class RuleHandler(Handler):
    """Applies events that earn points by the rules of `rule_kind`, through `earn`.

    A subclass gives `points`; its `apply` calls `earn`. The loop's other steps are
    optional: None when the event type has none (the loop skips them without a call),
    else a method:
    - ``held(chunk, event, member_id, rule) -> str | None``: why the rule's own counters
      hold it back (earned once already...), or None;
    - ``cap(chunk, event, member_id, rule, points, notes) -> int``: how many of
      ``points`` the rule may still give, noting why when fewer;
    - ``counted(chunk, event, member_id, rule, points)``: an award counted in the rule's
      own counters (its limit's the loop counts).
    """

    rule_kind: ClassVar[str]
    keeps_lots: ClassVar[bool] = False  # an award names its pending lot (refunds take from it)
    held: ClassVar[Callable[..., str | None] | None] = None
    cap: ClassVar[Callable[..., int] | None] = None
    counted: ClassVar[Callable[..., None] | None] = None

    def points(self, event, rule: EarningRule, tier: Tier | None) -> int:
        """The rule's points for the event, for a member of ``tier``."""
        raise NotImplementedError

    def earn(
        self,
        chunk: Chunk,
        event,
        m: Earning,
        reason: str,
        order_id: str | None = None,
        *,
        rules: Iterable[EarningRule] | None = None,
        notes: list[str] | None = None,
    ) -> Outcome:
        """The rule loop (see the module). ``reason`` and ``order_id`` go on the ledger
        entries; ``rules`` are the rules the member's tier earns by (by default the
        `eligible_rules` of the kind), ``notes`` what was noted before them."""
        if notes is None:
            notes = []
        if rules is None:
            rules = eligible_rules(chunk.rules.of_kind(self.rule_kind), m.tier, notes)
        earner = chunk.earner
        counters = earner.counters
        member_id = m.state.id
        tier = chunk.rules.tier(m.tier)
        awards: list[list] = []
        capped = False
        for rule in rules:
            note = self.held(chunk, event, member_id, rule) if self.held else None
            limit = rule.limit
            if note is None and limit is not None:
                scope = limit_scope_at(limit, event.at, chunk.tz)
                if counters.get(rule, member_id, scope)[0] >= limit.count:
                    note = f"{rule.slug}: limit of {limit.describe()} reached"
            if note is not None:
                notes.append(note)
                capped = True
                continue
            points = self.points(event, rule, tier)
            if self.cap:
                allowed = self.cap(chunk, event, member_id, rule, points, notes)
                capped = capped or allowed < points
                points = allowed
            if points <= 0:
                continue
            wait = rule.wait_days
            _entry, lot_id = earner.award(
                m,
                rule,
                points,
                at=event.at,
                event_id=event.id,
                order_id=order_id,
                reason=reason,
                pending_until=event.at + timedelta(days=wait) if wait else None,
            )
            if self.counted:
                self.counted(chunk, event, member_id, rule, points)
            if limit is not None:
                counters.count(rule, member_id, scope, most_uses=limit.count)
            awards.append([rule.slug, points, lot_id] if self.keeps_lots else [rule.slug, points])
        total = sum(award[1] for award in awards)
        details: dict = {"awards": awards}
        if notes:
            details["notes"] = notes
        if capped and not total:
            details["capped"] = True
        if total:
            earner.recalculate(m, event.at, reason=f"event {event.id}")
        return total, details, member_id
