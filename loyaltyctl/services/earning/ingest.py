"""`events ingest`: store and club events applied through the earning rules in force.

The file is read line by line and applied in chunks of events. Without `--strict`
each chunk is its own transaction, so a long ingest holds member locks only briefly
and a crash loses at most the chunk in flight: every event is applied whole or not at
all, the committed ones are recorded by id (`ingested_event`), and running the file
again replays those and applies the rest. With `--strict` (and `--dry-run`) the whole
file is one transaction, rolled back when any line is bad (or always, for a dry run).

An event id seen before with the same content is replayed (nothing happens); with
different content it is a bad line. Bad lines (not JSON, unknown type, missing or
malformed fields, an unknown member or order, a refund beyond the order) are reported
with their line numbers and skipped.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from loyaltyctl.domain import earning as rules_domain
from loyaltyctl.domain import events as domain
from loyaltyctl.domain.events import EventProblem, UnknownEventMember
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.earning.engine import NO_LIMIT, Earner, Earning
from loyaltyctl.services.earning.rules import RULE_KIND_OF, RulesInForce, load_rules_in_force
from loyaltyctl.services.members import MemberChange, MemberFields, save_members
from loyaltyctl.store import events as store
from loyaltyctl.store import ledger as ledger_store
from loyaltyctl.store import members as member_store
from loyaltyctl.store.db import Session

CHUNK = 5000  # events per transaction
_DETAILS = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
MAX_ERRORS = 1000  # listed; the rest are counted


@dataclass(frozen=True)
class LineError:
    line: int
    message: str
    code: str = EventProblem.code  # with data: what a front end words its own way
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    file: str
    events: int  # lines holding an event, good or bad
    applied: int  # applied now (an event capped by a limit is applied with 0 points)
    replayed: int  # ingested before with the same content: nothing done
    skipped: int  # not applied: bad lines (with --strict, every event of the file)
    points_awarded: int
    points_reversed: int
    points_pending: int  # of the points awarded, held as pending (an order's wait)
    shortfall: int  # reversals due that found the points spent already
    capped: int  # events a rule's limit or cap held back
    members_created: int
    tier_changes: int
    dry_run: bool
    strict: bool
    rolled_back: bool  # --strict found a bad line: nothing was applied
    errors: tuple[LineError, ...]
    errors_total: int


@dataclass
class _Tally:
    events: int = 0
    applied: int = 0
    replayed: int = 0
    awarded: int = 0
    reversed: int = 0
    pending: int = 0
    shortfall: int = 0
    capped: int = 0
    created: int = 0
    tier_changes: int = 0
    errors: list[LineError] = field(default_factory=list)
    errors_total: int = 0

    def error(self, line: int, message: str, code: str = EventProblem.code, **data) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(LineError(line, message, code, data))

    def add(self, other: _Tally) -> None:
        for name in (
            "applied",
            "replayed",
            "awarded",
            "reversed",
            "pending",
            "shortfall",
            "capped",
            "created",
            "tier_changes",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for item in other.errors:
            self.error(item.line, item.message, item.code, **item.data)
        self.errors_total += other.errors_total - len(other.errors)


class _Rollback(Exception):
    """--strict found bad lines: undo the whole file."""

    def __init__(self, tally: _Tally) -> None:
        super().__init__("bad lines")
        self.tally = tally


def ingest_events(
    *,
    database,
    path: Path,
    tz: ZoneInfo,
    operator: str,
    strict: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Apply an events file (JSON lines). Takes the database, not a session: without
    ``strict`` or ``dry_run`` each chunk of events commits on its own."""
    now = now or utcnow()
    with _collector_paused():
        if strict or dry_run:
            tally, rolled_back = _whole_file(
                database, path, tz, operator, strict, dry_run, now, progress
            )
        else:
            tally, rolled_back = _by_chunks(database, path, tz, operator, now, progress), False
    applied = 0 if rolled_back else tally.applied
    return IngestResult(
        file=str(path),
        events=tally.events,
        applied=applied,
        replayed=tally.replayed,
        skipped=tally.events - applied - tally.replayed,
        points_awarded=0 if rolled_back else tally.awarded,
        points_reversed=0 if rolled_back else tally.reversed,
        points_pending=0 if rolled_back else tally.pending,
        shortfall=0 if rolled_back else tally.shortfall,
        capped=tally.capped,
        members_created=0 if rolled_back else tally.created,
        tier_changes=0 if rolled_back else tally.tier_changes,
        dry_run=dry_run,
        strict=strict,
        rolled_back=rolled_back,
        errors=tuple(sorted(tally.errors, key=lambda e: e.line)),
        errors_total=tally.errors_total,
    )


def _whole_file(database, path, tz, operator, strict, dry_run, now, progress):
    """(tally, rolled back): one transaction, undone for a dry run or a bad line."""

    def work(session: Session) -> _Tally:
        tally = _Tally()
        for chunk in _chunks(path, tz, now, tally):
            tally.add(_apply(session, chunk, tz=tz, operator=operator, now=now))
            if progress:
                progress(tally.events)
        if strict and tally.errors_total:
            raise _Rollback(tally)
        return tally

    try:
        return database.run(work, rollback=dry_run), False
    except _Rollback as undone:
        return undone.tally, True


def _by_chunks(database, path, tz, operator, now, progress) -> _Tally:
    """Each chunk of events its own transaction."""
    tally = _Tally()
    for number, chunk in enumerate(_chunks(path, tz, now, tally), 1):
        if number % 50 == 0:
            gc.collect()  # what cycles the chunks' transactions left (few and small)
        tally.add(
            database.run(lambda s, chunk=chunk: _apply(s, chunk, tz=tz, operator=operator, now=now))
        )
        if progress:
            progress(tally.events)
    return tally


@contextmanager
def _collector_paused():
    """Python's cycle collector walks every live object each time enough new ones were
    made, and an ingest makes millions (measured: 16% of an ingest's time at 100,000
    members). Reference counting frees them as usual; the few cycles wait for a
    collection every 50 chunks, or the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(path: Path, tz: ZoneInfo, now: datetime, tally: _Tally) -> Iterator[list]:
    """Lists of parsed events (or the LineError of a bad line), CHUNK events each."""
    chunk: list = []
    # undecodable bytes become surrogates, so they are reported on their own line
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            tally.events += 1
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                chunk.append(LineError(number, "the line is not UTF-8 text"))
                continue
            try:
                chunk.append(domain.parse_line(text, number, tz=tz, now=now))
            except EventProblem as exc:
                chunk.append(LineError(number, str(exc), exc.code, exc.data))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# --- one chunk, one transaction --------------------------------------------------------------


@dataclass
class _Paid:
    event_id: str
    member_id: int
    details: dict


def _apply(session: Session, chunk: list, *, tz: ZoneInfo, operator: str, now: datetime) -> _Tally:
    """Apply a chunk's events in file order (the caller's transaction)."""
    return _Chunk(session, chunk, tz=tz, operator=operator, now=now).run()


class _Chunk:
    def __init__(self, session: Session, items: list, *, tz, operator: str, now: datetime):
        self.session, self.tz, self.operator, self.now = session, tz, operator, now
        self.tally = _Tally()
        self.events: list[domain.Event] = []
        for item in items:
            if isinstance(item, LineError):
                self.tally.error(item.line, item.message, item.code, **item.data)
            else:
                self.events.append(item)
        self.rules: RulesInForce = load_rules_in_force(session)
        self.earner = Earner(session, self.rules, operator=operator, now=now)
        self.rows: list[dict] = []
        self.birthdays: list[MemberChange] = []
        self.applied: dict[str, str] = {}  # event id -> digest, applied in this chunk
        self.members: dict[str, int] = {}  # external id -> member id
        self.created_at_line: dict[str, int] = {}  # members a member.joined of this chunk adds
        self.paid: dict[str, _Paid] = {}
        self.refunds: dict[str, list[dict]] = {}

    # -- setting up

    def run(self) -> _Tally:
        if not self.events:
            return self.tally
        self._members()
        refunded = [e.order_id for e in self.events if isinstance(e, domain.OrderRefunded)]
        # a refund's member is its order's: locked with the rest, in id order
        owners = {p[1] for p in store.paid_orders(self.session, refunded).values()}
        self.earner.lock(set(self.members.values()) | owners, bounds=self._bounds())
        # read under the locks: what a concurrent ingest committed meanwhile is seen
        self.known = store.digests(self.session, [e.id for e in self.events])
        self._orders()
        self.earner.lock({p.member_id for p in self.paid.values()}, bounds={})  # paid meanwhile
        locked = self.earner.members
        refunding = {
            self.paid[e.order_id].member_id
            for e in self.events
            if isinstance(e, domain.OrderRefunded) and e.order_id in self.paid
        }
        ledger_store.prefetch_lots(self.session, [locked[m].state for m in refunding])
        self.earner.load_counters(self._counter_keys())
        handlers = {
            domain.JOINED: self._joined,
            domain.ORDER_PAID: self._order,
            domain.ORDER_REFUNDED: self._refund,
            domain.REVIEW: self._review,
            domain.SOCIAL: self._social,
            domain.BIRTHDAY_CHANGED: self._birthday_changed,
        }
        for event in self.events:
            before = self.applied.get(event.id) or self.known.get(event.id)
            if before is not None:
                if before == event.digest:
                    self.tally.replayed += 1
                else:
                    self.tally.error(
                        event.line,
                        f"the event id {event.id!r} was ingested before with different content;"
                        " give a changed event a new id",
                    )
                continue
            try:
                points, details = handlers[event.type](event)
            except EventProblem as exc:
                self.tally.error(event.line, str(exc), exc.code, **exc.data)
                continue
            self._record(event, points, details)
        self.earner.flush()
        totals = self.earner.totals
        self.tally.awarded, self.tally.reversed = totals.awarded, totals.reversed
        self.tally.pending, self.tally.shortfall = totals.pending, totals.shortfall
        self.tally.tier_changes = len(totals.tier_changes)
        if self.birthdays:
            save_members(
                session=self.session,
                changes=self.birthdays,
                operator=self.operator,
                create=False,
                now=self.now,
            )
        store.insert_records(self.session, self.rows)
        return self.tally

    def _members(self) -> None:
        """The members the events name; a member.joined of an unknown member adds it."""
        named = {e.member for e in self.events if e.member is not None}
        self.members = member_store.ids_by_external(self.session, named)
        new = []
        for event in self.events:
            if (
                isinstance(event, domain.MemberJoined)
                and event.member not in self.members
                and event.member not in self.created_at_line
            ):
                self.created_at_line[event.member] = event.line
                new.append(
                    MemberChange(
                        event.member,
                        MemberFields(
                            name=event.name,
                            email=event.email,
                            phone=event.phone,
                            birthday=event.birthday,
                        ),
                    )
                )
        if new:
            save_members(
                session=self.session,
                changes=new,
                operator=self.operator,
                create=True,
                now=self.now,
            )
            self.members.update(
                member_store.ids_by_external(self.session, [c.external_id for c in new])
            )
            self.tally.created = len(new)

    def _orders(self) -> None:
        """Paid orders the events name (refunds read theirs), and the refunds before."""
        orders = [
            e.order_id
            for e in self.events
            if isinstance(e, domain.OrderPaid | domain.OrderRefunded)
        ]
        if not orders:
            return
        for order_id, (event_id, member_id, _at, details) in store.paid_orders(
            self.session, orders
        ).items():
            self.paid[order_id] = _Paid(event_id, member_id, details)
        refunded = [e.order_id for e in self.events if isinstance(e, domain.OrderRefunded)]
        if refunded:
            self.refunds = store.refunds(self.session, refunded)
            self.earner.load_lots(
                lot_id
                for order_id in refunded
                if order_id in self.paid
                for _slug, _points, lot_id in self.paid[order_id].details["awards"]
                if lot_id is not None
            )

    def _bounds(self) -> dict[int, int]:
        """member id -> the most points this chunk's events may earn them (what decides
        whose history is read: a tier of a period within reach)."""
        if not self.rules.has_tiers:
            return {}
        most = self.rules.most_points
        bounds: dict[int, int] = {}
        for event in self.events:
            member_id = self.members.get(event.member) if event.member else None
            if member_id is not None:
                bounds[member_id] = bounds.get(member_id, 0) + most(event)
        return bounds

    def _counter_keys(self) -> list[tuple[int, int, str]]:
        """The counters this chunk's events may read, loaded in one go."""
        ids = self.rules.rule_ids
        keys = []
        for event in self.events:
            member_id = self.members.get(event.member) if event.member else None
            if member_id is None:
                continue
            kind = RULE_KIND_OF.get(event.type)
            for rule in self.rules.of_kind(kind) if kind else ():
                for scope in self._scopes(rule, event):
                    keys.append((ids[rule.slug], member_id, scope))
        return keys

    def _scopes(self, rule: rules_domain.EarningRule, event: domain.Event) -> list[str]:
        scopes = []
        if rule.kind == "join":
            scopes.append(rules_domain.LIFETIME)
        if rule.kind == "review":
            scopes += [f"order:{event.order_id}", f"review:{event.order_id}:{event.product}"]
        limit = self._limit_scope(rule, event)
        if limit is not None:
            scopes.append(limit)
        return scopes

    def _limit_scope(self, rule: rules_domain.EarningRule, event: domain.Event) -> str | None:
        if rule.limit is None:
            return None
        return rules_domain.limit_scope(rule.limit.per, event.at.astimezone(self.tz).date())

    # -- applying

    def _record(self, event: domain.Event, points: int, details: dict) -> None:
        self.applied[event.id] = event.digest
        self.tally.applied += 1
        if details.get("capped"):
            self.tally.capped += 1
        # a refund names its member through the order
        member_id = details.pop("_member_id", None) or self.members.get(event.member)
        self.rows.append(
            {
                "id": event.id,
                "type": event.type,
                "at": event.at,
                "member_id": member_id,
                "order_id": getattr(event, "order_id", None),
                "digest": event.digest,
                "points": points,
                "details": _DETAILS.encode(details),
                "ingested_at": self.now,
                "operator": self.operator,
            }
        )

    def _member(self, event: domain.Event) -> Earning:
        member_id = self.members.get(event.member)
        created = self.created_at_line.get(event.member)
        if member_id is None or (created is not None and created > event.line):
            raise UnknownEventMember(
                f"no member has the id {event.member!r}; add them first (a member.joined event"
                " does)",
                member=event.member,
            )
        return self.earner.members[member_id]

    def _rules(self, kind: str, m: Earning, notes: list[str]):
        """The active rules of a kind this member may earn (the rest noted)."""
        for rule in self.rules.of_kind(kind):
            if self.earner.eligible(rule, m):
                yield rule
            else:
                notes.append(f"{rule.slug}: only for tiers {', '.join(rule.tiers)}")

    def _within_limit(self, rule, m: Earning, event, notes: list[str]) -> bool:
        scope = self._limit_scope(rule, event)
        if scope is None or self.earner.counter(rule, m.state.id, scope)[0] < rule.limit.count:
            return True
        notes.append(f"{rule.slug}: limit of {rule.limit.describe()} reached")
        return False

    def _count_limit(self, rule, m: Earning, event) -> None:
        scope = self._limit_scope(rule, event)
        if scope is not None:
            self.earner.count(rule, m.state.id, scope, most_uses=rule.limit.count)

    def _finish(
        self, m: Earning, event: domain.Event, awards: list, notes: list[str], capped: bool
    ) -> tuple[int, dict]:
        """(the event's points, its details): what each rule awarded and why not; the
        member's tier is computed again after points were earned."""
        points = sum(a[1] for a in awards)
        details: dict = {"awards": awards}
        if notes:
            details["notes"] = notes
        if capped and not points:
            details["capped"] = True
        if points:
            self.earner.recalculate(m, event.at, reason=f"event {event.id}")
        return points, details

    def _joined(self, event: domain.MemberJoined) -> tuple[int, dict]:
        m = self._member(event)
        awards, notes, capped = [], [], False
        for rule in self._rules("join", m, notes):
            if self.earner.counter(rule, m.state.id, rules_domain.LIFETIME)[0] >= 1:
                notes.append(f"{rule.slug}: earned once already")
                capped = True
                continue
            points = rules_domain.flat_points(rule, None)
            if points <= 0:
                continue
            self.earner.award(m, rule, points, at=event.at, event_id=event.id, reason="joined")
            self.earner.count(rule, m.state.id, rules_domain.LIFETIME, most_uses=1)
            awards.append([rule.slug, points])
        total, details = self._finish(m, event, awards, notes, capped)
        details["created"] = self.created_at_line.get(event.member) == event.line
        return total, details

    def _order(self, event: domain.OrderPaid) -> tuple[int, dict]:
        m = self._member(event)
        earlier = self.paid.get(event.order_id)
        if earlier is not None:
            raise EventProblem(
                f"order {event.order_id} was paid already (event {earlier.event_id});"
                " an order is paid once"
            )
        tier = self.earner.tier_of(m)
        awards, notes, capped = [], [], False
        for rule in self._rules("order", m, notes):
            if not self._within_limit(rule, m, event, notes):
                capped = True
                continue
            points = rules_domain.order_points(rule, tier, event.value)
            if points <= 0:
                continue
            wait = timedelta(days=rule.wait_days) if rule.wait_days else None
            _entry, lot_id = self.earner.award(
                m,
                rule,
                points,
                at=event.at,
                event_id=event.id,
                order_id=event.order_id,
                reason=f"order {event.order_id}",
                pending_until=event.at + wait if wait else None,
            )
            self._count_limit(rule, m, event)
            awards.append([rule.slug, points, lot_id])
        total, details = self._finish(m, event, awards, notes, capped)
        details.update(
            currency=event.currency,
            total=str(event.total),
            discount=str(event.discount),
            shipping=str(event.shipping),
            value=str(event.value),
            items={sku: [qty, str(value)] for sku, (qty, value) in event.items.items()},
        )
        self.paid[event.order_id] = _Paid(event.id, m.state.id, details)
        return total, details

    def _refund(self, event: domain.OrderRefunded) -> tuple[int, dict]:
        paid = self.paid.get(event.order_id)
        if paid is None:
            raise EventProblem(
                f"order {event.order_id} is not known: no order.paid event was ingested for it"
            )
        m = self.earner.members[paid.member_id]
        if event.member is not None and event.member != m.state.external_id:
            raise EventProblem(
                f"order {event.order_id} belongs to member {m.state.external_id},"
                f" not {event.member}"
            )
        before = self.refunds.get(event.order_id, [])
        share_before = sum((Fraction(r["share"]) for r in before), Fraction(0))
        share = self._share(event, paid.details, before, share_before)
        share_after = share_before + share
        due_before: dict[str, int] = {}
        for refund in before:
            for slug, due, _taken in refund["reversed"]:
                due_before[slug] = due_before.get(slug, 0) + due
        reversed_ = []
        for slug, points, lot_id in paid.details["awards"]:
            due = rules_domain.reversal_due(points, share_after) - due_before.get(slug, 0)
            if due <= 0:
                continue
            taken = self.earner.reverse(
                m,
                slug,
                due,
                lot_id=lot_id,
                at=event.at,
                event_id=event.id,
                order_id=event.order_id,
                reason=f"refund of order {event.order_id}",
            )
            reversed_.append([slug, due, taken])
        details = {
            "share": f"{share.numerator}/{share.denominator}",
            "items": event.items,
            "amount": None if event.amount is None else str(event.amount),
            "reversed": reversed_,
            "_member_id": m.state.id,
        }
        if share == 0:
            details["notes"] = [f"order {event.order_id} was refunded in full already"]
        shortfall = sum(due - taken for _slug, due, taken in reversed_)
        if shortfall:
            details["shortfall"] = shortfall
        self.refunds.setdefault(event.order_id, []).append(details)
        if reversed_:
            self.earner.review_soon(m, event.at)
        return -sum(taken for _slug, _due, taken in reversed_), details

    @staticmethod
    def _share(
        event: domain.OrderRefunded, paid: dict, before: list[dict], share_before: Fraction
    ) -> Fraction:
        """The share of the order this refund returns: by the refunded items' value (their
        share of the discount goes with them), by an amount of what was paid for items,
        or all that is left."""
        order = event.order_id
        left = 1 - share_before
        total, value = Fraction(Decimal(paid["total"])), Fraction(Decimal(paid["value"]))
        if event.items is not None:
            refunded: dict[str, int] = {}
            for refund in before:
                for sku, quantity in (refund.get("items") or {}).items():
                    refunded[sku] = refunded.get(sku, 0) + quantity
            gross = Fraction(0)
            for sku, quantity in event.items.items():
                if sku not in paid["items"]:
                    raise EventProblem(f"order {order} has no item {sku!r}")
                bought, line_value = paid["items"][sku]
                if quantity > bought - refunded.get(sku, 0):
                    raise EventProblem(
                        f"order {order} has {bought} of {sku} and {refunded.get(sku, 0)}"
                        f" refunded already; this refund names {quantity}"
                    )
                gross += Fraction(Decimal(line_value)) * quantity / bought
            share = gross / total if total else left
        elif event.amount is not None:
            share = Fraction(event.amount) / value if value else left
        else:
            share = left
        if share > left:
            remaining = float(left * value)
            raise EventProblem(
                f"the refund is more than is left of order {order} ({remaining:.2f} of"
                f" {float(value):.2f} paid for items)"
            )
        return share

    def _review(self, event: domain.ReviewSubmitted) -> tuple[int, dict]:
        m = self._member(event)
        tier = self.earner.tier_of(m)
        member_id = m.state.id
        order_scope = f"order:{event.order_id}"
        product_scope = f"review:{event.order_id}:{event.product}"
        awards, notes, capped = [], [], False
        for rule in self._rules("review", m, notes):
            in_order = self.earner.counter(rule, member_id, order_scope)
            if rule.once_per == "order" and in_order[0] >= 1:
                notes.append(f"{rule.slug}: a review of order {event.order_id} earned already")
                capped = True
                continue
            if (
                rule.once_per == "review"
                and self.earner.counter(rule, member_id, product_scope)[0] >= 1
            ):
                notes.append(f"{rule.slug}: {event.product} of this order earned already")
                capped = True
                continue
            if not self._within_limit(rule, m, event, notes):
                capped = True
                continue
            points = rules_domain.review_points(
                rule, tier, social_login=event.social_login, photos=event.photos, video=event.video
            )
            if rule.max_per_order is not None and points > rule.max_per_order - in_order[1]:
                points = max(rule.max_per_order - in_order[1], 0)
                notes.append(f"{rule.slug}: at most {rule.max_per_order} per order")
                capped = True
            if points <= 0:
                continue
            self.earner.award(
                m,
                rule,
                points,
                at=event.at,
                event_id=event.id,
                order_id=event.order_id,
                reason=f"review of {event.product} (order {event.order_id})",
            )
            self.earner.count(
                rule,
                member_id,
                order_scope,
                points=points,
                most_uses=1 if rule.once_per == "order" else NO_LIMIT,
                most_points=rule.max_per_order or NO_LIMIT,
            )
            if rule.once_per == "review":
                self.earner.count(rule, member_id, product_scope, most_uses=1)
            self._count_limit(rule, m, event)
            awards.append([rule.slug, points])
        return self._finish(m, event, awards, notes, capped)

    def _social(self, event: domain.SocialAction) -> tuple[int, dict]:
        m = self._member(event)
        tier = self.earner.tier_of(m)
        awards, notes, capped = [], [], False
        matching = [
            r
            for r in self._rules("social", m, notes)
            if r.platform == event.platform and r.action == event.action
        ]
        if not matching:
            notes.append(f"no active rule rewards a {event.platform} {event.action}")
        for rule in matching:
            if not self._within_limit(rule, m, event, notes):
                capped = True
                continue
            points = rules_domain.flat_points(rule, tier)
            if points <= 0:
                continue
            self.earner.award(
                m,
                rule,
                points,
                at=event.at,
                event_id=event.id,
                reason=f"{event.platform} {event.action}",
            )
            self._count_limit(rule, m, event)
            awards.append([rule.slug, points])
        return self._finish(m, event, awards, notes, capped)

    def _birthday_changed(self, event: domain.BirthdayChanged) -> tuple[int, dict]:
        m = self._member(event)
        self.birthdays.append(
            MemberChange(m.state.external_id, MemberFields(birthday=event.birthday))
        )
        return 0, {"birthday": event.birthday}
