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

A chunk locks its members and reads what its events need in a few statements, then
hands each event to the handler of its type (`handlers`), which earns and reverses
points through the engine; the engine writes it all when the chunk is done.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from loyaltyctl import crash
from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import events as domain
from loyaltyctl.domain.canonical import sorted_ascii_text
from loyaltyctl.domain.errors import KeysMissing
from loyaltyctl.domain.events import EventProblem, UnknownEventMember
from loyaltyctl.domain.forgetting import MARK
from loyaltyctl.domain.limits import limit_scope_at
from loyaltyctl.domain.promo import normalize
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.earning.engine import Earner, Earning
from loyaltyctl.services.earning.handlers import HANDLERS
from loyaltyctl.services.earning.handlers.base import Paid
from loyaltyctl.services.earning.held import release_held
from loyaltyctl.services.earning.in_force import RulesInForce, load_rules_in_force
from loyaltyctl.services.members import MemberChange, save_members
from loyaltyctl.store import discounts as discount_store
from loyaltyctl.store import events as store
from loyaltyctl.store import ledger as ledger_store
from loyaltyctl.store import members as member_store
from loyaltyctl.store.db import Session

CHUNK = 5000  # events per transaction
MAX_ERRORS = 1000  # listed; the rest are counted
KeyLoader = Callable[[], KeyRing]


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
    held: int = 0  # refunds whose order is not known yet: held, applied when it comes
    held_applied: int = 0  # held refunds (of this run or before) applied with their order
    notes: tuple[LineNote, ...] = ()  # reported, not applied, not bad lines
    notes_total: int = 0
    format: str | None = None  # a store's format (--format), None for our own


@dataclass(frozen=True)
class LineNote:
    line: int
    message: str


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
    held: int = 0
    held_applied: int = 0
    notes: list[LineNote] = field(default_factory=list)
    notes_total: int = 0

    def note(self, line: int, message: str) -> None:
        self.notes_total += 1
        if len(self.notes) < MAX_ERRORS:
            self.notes.append(LineNote(line, message))

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
            "held",
            "held_applied",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for item in other.errors:
            self.error(item.line, item.message, item.code, **item.data)
        self.errors_total += other.errors_total - len(other.errors)
        for note in other.notes:
            self.note(note.line, note.message)
        self.notes_total += other.notes_total - len(other.notes)


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
    keys: KeyLoader | None = None,
    format_name: str | None = None,
    member_key: str | None = None,
    name: str | None = None,
) -> IngestResult:
    """Apply an events file (JSON lines). Takes the database, not a session: without
    ``strict`` or ``dry_run`` each chunk of events commits on its own. ``keys`` loads
    the key ring when an event first names coupons (their codes are found by keyed
    hash). ``format_name``: the file holds a store's payloads (`domain.stores`), whose
    customers are found as members by ``member_key`` (default: id, then email)."""
    now = now or utcnow()
    keys = _KeysOnce(keys)
    if format_name is None:
        _refuse_one_document(path, name or str(path))
    source = _Source(path, tz, now, keys, format_name, member_key)
    with _collector_paused():
        if strict or dry_run:
            tally, rolled_back = _whole_file(
                database, source, tz, operator, strict, dry_run, now, progress, keys=keys
            )
        else:
            tally = _by_chunks(database, source, tz, operator, now, progress, keys=keys)
            rolled_back = False
    applied = 0 if rolled_back else tally.applied
    return IngestResult(
        file=str(path),
        events=tally.events,
        applied=applied,
        replayed=tally.replayed,
        skipped=tally.events - applied - tally.replayed - (0 if rolled_back else tally.held),
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
        held=0 if rolled_back else tally.held,
        held_applied=0 if rolled_back else tally.held_applied,
        notes=tuple(sorted(tally.notes, key=lambda n: n.line)),
        notes_total=tally.notes_total,
        format=format_name,
    )


def _refuse_one_document(path: Path, name: str) -> None:
    """A JSON array, or a document written over several lines, is not JSON lines: one
    problem with what to do, rather than one bad line per line of it."""
    from loyaltyctl.domain.errors import BadInputFile, Problem
    from loyaltyctl.domain.stores.documents import looks_like_one_document

    number, text = 0, ""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, text in enumerate(handle, 1):  # noqa: B007 - read after the loop
            if text.strip():
                break
        else:
            return
    if looks_like_one_document(text):
        shape = "a JSON array" if text.strip().startswith("[") else "a pretty-printed JSON document"
        raise BadInputFile(
            [
                Problem(
                    name,
                    number,
                    None,
                    f"this is {shape}, not JSON lines (one event per line): convert it with"
                    " `jq -c '.[]'` (an array) or `jq -c .`, or give --format NAME for a"
                    " store's webhook payloads",
                )
            ]
        )


def _whole_file(database, source, tz, operator, strict, dry_run, now, progress, *, keys):
    """(tally, rolled back): one transaction, undone for a dry run or a bad line."""

    def work(session: Session) -> _Tally:
        tally = _Tally()
        for chunk in source.chunks(tally):
            tally.add(
                _apply(session, chunk, tz=tz, operator=operator, now=now, keys=keys, source=source)
            )
            if progress:
                progress(tally.events)
        if strict and tally.errors_total:
            raise _Rollback(tally)
        return tally

    try:
        return database.run(work, rollback=dry_run), False
    except _Rollback as undone:
        return undone.tally, True


def _by_chunks(database, source, tz, operator, now, progress, *, keys) -> _Tally:
    """Each chunk of events its own transaction."""
    tally = _Tally()
    for number, chunk in enumerate(source.chunks(tally), 1):
        if number % 50 == 0:
            gc.collect()  # what cycles the chunks' transactions left (few and small)
        tally.add(
            database.run(
                lambda s, chunk=chunk: _apply(
                    s, chunk, tz=tz, operator=operator, now=now, keys=keys, source=source
                )
            )
        )
        crash.reached("ingest-after-chunk")
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


class _Source:
    """The file's events in chunks of CHUNK: parsed events (or the LineError of a bad
    line) of our own format, or for a store's format what its payloads map to
    (`formats.Pending`, `Note`, `Bad`), whose members the chunk finds."""

    def __init__(self, path, tz, now, keys, format_name, member_key) -> None:
        self.path, self.tz, self.now, self.keys = path, tz, now, keys
        self.format_name = format_name
        self.resolver = None
        if format_name is not None:
            from loyaltyctl.services.earning.formats import Resolver

            self.resolver = Resolver(member_key)

    def chunks(self, tally: _Tally) -> Iterator[list]:
        if self.format_name is None:
            return _chunks(self.path, self.tz, self.now, tally, self.keys)
        return self._mapped_chunks(tally)

    def _mapped_chunks(self, tally: _Tally) -> Iterator[list]:
        from loyaltyctl.services.earning.formats import Bad, Note, Pending, mapped, unsupported

        chunk: list = []
        with self.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            for item in mapped(handle, self.format_name):
                if isinstance(item, Note):
                    chunk.append(LineNote(item.line, item.message))
                    continue
                if isinstance(item, Pending) and item.document["type"] not in domain.TYPES:
                    # a payload mapped to a type this version does not read: a note
                    chunk.append(LineNote(item.line, unsupported(item.document["type"])))
                    continue
                tally.events += 1
                chunk.append(LineError(item.line, item.message) if isinstance(item, Bad) else item)
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


def _chunks(
    path: Path, tz: ZoneInfo, now: datetime, tally: _Tally, keys: _KeysOnce
) -> Iterator[list]:
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
                event = domain.parse_line(text, number, tz=tz, now=now)
                if getattr(event, "coupons", None):
                    event.digest = keys.digest_with_coupons(event)
                chunk.append(event)
            except EventProblem as exc:
                chunk.append(LineError(number, str(exc), exc.code, exc.data))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# --- one chunk, one transaction --------------------------------------------------------------


def _apply(
    session: Session,
    chunk: list,
    *,
    tz: ZoneInfo,
    operator: str,
    now: datetime,
    keys=None,
    source: _Source | None = None,
) -> _Tally:
    """Apply a chunk's events in file order (the caller's transaction)."""
    resolver = source.resolver if source is not None else None
    applied = _Chunk(
        session, chunk, tz=tz, operator=operator, now=now, keys=keys, resolver=resolver
    ).run()
    crash.reached("ingest-chunk-before-commit")
    return applied


class _KeysOnce:
    """The key ring, loaded when an event first names coupons (KeysMissing without a
    loader: such a program has no key file, so no coupon either)."""

    def __init__(self, load: KeyLoader | None) -> None:
        self.load = load
        self.ring = None

    def __call__(self):
        if self.ring is None:
            if self.load is None:
                raise KeysMissing("Events that name coupons need the key file.")
            self.ring = self.load()
        return self.ring

    def digest_with_coupons(self, event, base: str | None = None) -> str:
        hasher = self().lookup_hasher()
        hashes = sorted({hasher(normalize(code)) for code in event.coupons})
        return domain.with_coupons(event.digest if base is None else base, hashes)


def _legacy_digest(event: domain.Event, keys: _KeysOnce) -> str | None:
    """The digest the event's line was recorded with before schema 0010."""
    try:
        base = domain.legacy_digest(event.source)
    except ValueError:
        return None
    return keys.digest_with_coupons(event, base) if getattr(event, "coupons", None) else base


class _Chunk:
    """A chunk's events applied in file order; what handlers use of it is
    `handlers.base.Chunk`."""

    def __init__(
        self,
        session: Session,
        items: list,
        *,
        tz,
        operator: str,
        now: datetime,
        keys=None,
        resolver=None,
    ):
        self.session, self.tz, self.operator, self.now = session, tz, operator, now
        self.keys = keys if keys is not None else _KeysOnce(None)
        self.tally = _Tally()
        self.events: list[domain.Event] = []
        self.resolver = resolver  # a store's format: its events' members are found here
        self.pending: list = []
        for item in items:
            if isinstance(item, LineError):
                self.tally.error(item.line, item.message, item.code, **item.data)
            elif isinstance(item, LineNote):
                self.tally.note(item.line, item.message)
            elif isinstance(item, domain.Event):
                self.events.append(item)
            else:
                self.pending.append(item)
        self.holding: list[domain.Event] = []  # refunds of orders not known (yet)
        self.held_rows: dict[str, list[tuple]] = {}  # order id -> its held refunds
        self.rules: RulesInForce = load_rules_in_force(session)
        self.earner = Earner(session, self.rules, operator=operator, now=now)
        self.rows: list[dict] = []
        self.birthdays: list[MemberChange] = []
        self.applied: dict[str, str] = {}  # event id -> digest, applied in this chunk
        self.members: dict[str, int] = {}  # external id -> member id
        self.created_at_line: dict[str, int] = {}  # members a member.joined of this chunk adds
        self.paid: dict[str, Paid] = {}
        self.refunds: dict[str, list[dict]] = {}
        self.cache: dict = {}

    # -- setting up

    def run(self) -> _Tally:
        if self.pending:
            self._resolve()
        if not self.events:
            return self.tally
        # before anything is read: an order and a refund held meanwhile meet (see HeldRefund)
        store.lock_orders(
            self.session, [e.order_id for e in self.events if HANDLERS[e.type].reads_order]
        )
        self._members()
        refunded = [e.order_id for e in self.events if HANDLERS[e.type].takes_back]
        # a refund's member is its order's: locked with the rest, in id order
        owners = {p[1] for p in store.paid_orders(self.session, refunded).values()}
        subscribed = [e.subscription_id for e in self.events if HANDLERS[e.type].reads_subscription]
        if subscribed:  # a subscription event's member is its subscription's
            owners |= discount_store.subscription_members(self.session, subscribed)
        self.earner.lock(set(self.members.values()) | owners, bounds=self._bounds())
        # read under the locks: what a concurrent ingest committed meanwhile is seen
        self.known = store.digests(self.session, [e.id for e in self.events])
        self._orders(refunded)
        self.earner.lock({p.member_id for p in self.paid.values()}, bounds={})  # paid meanwhile
        locked = self.earner.members
        refunding = {self.paid[o].member_id for o in refunded if o in self.paid}
        ledger_store.prefetch_lots(self.session, [locked[m].state for m in refunding])
        self.earner.counters.load(self._counter_keys())
        apply = {event_type: handler.apply for event_type, handler in HANDLERS.items()}
        self.held_rows = store.held_refunds(
            self.session, [e.order_id for e in self.events if e.type == domain.ORDER_PAID]
        )
        for event in self.events:
            before = self.applied.get(event.id) or self.known.get(event.id)
            if before is not None:
                self._seen_before(event, before)
                continue
            if HANDLERS[event.type].takes_back and event.order_id not in self.paid:
                self.holding.append(event)  # its order may come later in the chunk
                self.applied[event.id] = event.digest
                continue
            self._apply_one(apply, event)
        self._release_held(apply)
        self.earner.flush()
        totals = self.earner.totals
        self.tally.awarded, self.tally.reversed = totals.awarded, totals.reversed
        self.tally.pending, self.tally.shortfall = totals.pending, totals.shortfall
        self.tally.tier_changes = len(totals.tier_changes)
        if self.birthdays:
            saved = save_members(
                session=self.session,
                changes=self.birthdays,
                operator=self.operator,
                create=False,
                now=self.now,
                skip_forgotten=True,  # a forgotten member's profile stays erased
            )
            self._forget_birthdays({s.external_id for s in saved if s.action == "forgotten"})
        store.insert_records(self.session, self.rows)
        return self.tally

    def _forget_birthdays(self, external_ids: set[str]) -> None:
        """The birthday changes of forgotten members are recorded without the birthday
        (as `member forget` leaves the ones before it)."""
        ids = {self.members[e] for e in external_ids if e in self.members}
        for row in self.rows:
            if row["type"] == domain.BIRTHDAY_CHANGED and row["member_id"] in ids:
                row["details"] = sorted_ascii_text({"birthday": MARK})

    def _resolve(self) -> None:
        """A store's events: each one's member found from its customer, then read as our
        own events are."""
        for pending, document in self.resolver.documents(self.session, self.pending):
            if isinstance(document, EventProblem):
                self.tally.error(pending.line, str(document), document.code, **document.data)
                continue
            try:
                event = domain.parse_document(document, pending.line, tz=self.tz, now=self.now)
            except EventProblem as exc:
                self.tally.error(pending.line, str(exc), exc.code, **exc.data)
                continue
            self.events.append(event)

    def _seen_before(self, event: domain.Event, before: str) -> None:
        """An event id met again: a replay when its content is the same (a line ingested
        before 0010 was digested whole), else a bad line — or for a store's payload, an
        update of what was applied, reported and not applied."""
        if before == event.digest or (
            event.source is not None and before == _legacy_digest(event, self.keys)
        ):
            self.tally.replayed += 1
        elif self.resolver is not None:
            self.tally.replayed += 1
            what = getattr(event, "order_id", None)
            self.tally.note(
                event.line,
                f"{'order ' + what if what else event.id} changed after it was applied"
                f" ({event.id}); the change is not applied",
            )
        else:
            self.tally.error(
                event.line,
                f"the event id {event.id!r} was ingested before with different content;"
                " give a changed event a new id",
            )

    def _apply_one(self, apply, event: domain.Event, *, counted: bool = True) -> bool:
        try:
            points, details, member_id = apply[event.type](self, event)
        except EventProblem as exc:
            self.tally.error(event.line, str(exc), exc.code, **exc.data)
            return False
        self._record(event, points, details, member_id, counted=counted)
        return True

    def _release_held(self, apply) -> None:
        release_held(self, apply, parse=self._parse_held, encode=sorted_ascii_text)

    def _parse_held(self, text: str, line: int) -> domain.Event:
        return domain.parse_document(json.loads(text), line, tz=self.tz, now=self.now)

    def _members(self) -> None:
        """The members the events name; a member.joined of an unknown member adds it."""
        named = {e.member for e in self.events if e.member is not None}
        self.members = member_store.ids_by_external(self.session, named)
        new = []
        for event in self.events:
            adds = HANDLERS[event.type].new_member
            if (
                adds is not None
                and event.member not in self.members
                and event.member not in self.created_at_line
            ):
                self.created_at_line[event.member] = event.line
                new.append(adds(event))
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

    def _orders(self, refunded: list[str]) -> None:
        """Paid orders the events name, and for those ``refunded`` the refunds before
        and the pending lots of their awards."""
        orders = [e.order_id for e in self.events if HANDLERS[e.type].reads_order]
        if not orders:
            return
        for order_id, (event_id, member_id, _at, details) in store.paid_orders(
            self.session, orders
        ).items():
            self.paid[order_id] = Paid(event_id, member_id, details)
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
                kind = HANDLERS[event.type].rule_kind
                bounds[member_id] = bounds.get(member_id, 0) + (most(kind, event) if kind else 0)
        return bounds

    def _counter_keys(self) -> list[tuple[int, int, str]]:
        """The counters this chunk's events may read, loaded in one go."""
        ids = self.rules.rule_ids
        keys = []
        for event in self.events:
            member_id = self.members.get(event.member) if event.member else None
            if member_id is None:
                continue
            handler = HANDLERS[event.type]
            for rule in self.rules.of_kind(handler.rule_kind) if handler.rule_kind else ():
                rule_id = ids[rule.slug]
                for scope in handler.scopes(rule, event):
                    keys.append((rule_id, member_id, scope))
                if rule.limit is not None:
                    keys.append((rule_id, member_id, limit_scope_at(rule.limit, event.at, self.tz)))
        return keys

    # -- applying

    def _record(
        self,
        event: domain.Event,
        points: int,
        details: dict,
        member_id: int,
        *,
        counted: bool = True,
    ) -> None:
        self.applied[event.id] = event.digest
        if counted:
            self.tally.applied += 1
        for note in details.get("notes", ()):
            self.tally.note(event.line, note)
        if details.get("capped"):
            self.tally.capped += 1
        self.rows.append(
            {
                "id": event.id,
                "type": event.type,
                "at": event.at,
                "member_id": member_id,
                "order_id": getattr(event, "order_id", None),
                "digest": event.digest,
                "points": points,
                "details": sorted_ascii_text(details),
                "ingested_at": self.now,
                "operator": self.operator,
            }
        )

    def member(self, event: domain.Event) -> Earning:
        member_id = self.members.get(event.member)
        created = self.created_at_line.get(event.member)
        if member_id is None or (created is not None and created > event.line):
            raise UnknownEventMember(
                f"no member has the id {event.member!r}; add them first (a member.joined event"
                " does)",
                member=event.member,
            )
        return self.earner.members[member_id]
