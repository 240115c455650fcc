"""Bulk imports of members and points from CSV: streamed, validated, atomic.

The file is read once, in chunks, inside one transaction. Every bad row is
collected (up to a cap, with the total counted); if there is any, the
transaction is rolled back and nothing is applied. Points go through the same
ledger path as a single credit (member lock, chain hash, balance check, lots),
but rows are written with the driver's bulk insert (sqlite3 executemany or
psycopg COPY), never row by row through the ORM.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loyaltyctl import crash
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import BadInputFile, InsufficientBalance, Problem
from loyaltyctl.domain.occurrences import OccurrenceCounter
from loyaltyctl.domain.values import (
    ValueProblem,
    expiry_problem,
    parse_moment,
    parse_signed_amount,
    split_list,
    utcnow,
    validate_birthday,
    validate_email,
    validate_external_id,
    validate_key,
    validate_label,
    validate_name,
    validate_phone,
    validate_reason,
)
from loyaltyctl.services.idempotency import KeyBatch, KeyStatus
from loyaltyctl.services.ledger import ENTRY_KEYS, apply_change, lot_row, request_hash
from loyaltyctl.store import ledger as store
from loyaltyctl.store import lookups as member_store

if TYPE_CHECKING:  # `points import` runs on the driver alone (`Database.run`'s ``raw``):
    # what only the members' import needs is imported by it
    from loyaltyctl.services.members import MemberFields
    from loyaltyctl.store.db import Session

MAX_PROBLEMS = 1000
CHUNK = 5000
# members whose running figures (and expiring lots) a points import holds at once: with
# their lots ~0.3-0.5 KB each, so at most ~50 MB however many members the file names
MAX_MEMBERS_HELD = 100_000

POINTS_REQUIRED = ("member", "amount", "reason")
POINTS_OPTIONAL = ("key", "expires_at", "pending_until")
MEMBER_REQUIRED = ("external_id", "name")
MEMBER_OPTIONAL = ("phone", "email", "birthday", "plan", "tier", "groups", "tags")
# what `member list --csv` writes besides: read-only figures, ignored by the import
MEMBER_EXPORT_ONLY = ("balance", "pending")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def unguarded(value: str) -> str:
    """A cell as it was before the tool's CSV exports guarded it against spreadsheet
    formulas (a leading ``'`` before ``= + - @``, tab or CR): what the tool writes, it
    reads back unchanged."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


@dataclass
class _Problems:
    file: str
    items: list[Problem] = field(default_factory=list)
    total: int = 0
    rows: int = 0  # data rows read, good or bad

    def add(self, line: int, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(self.file, line, column, message))

    def raise_if_any(self) -> None:
        if self.total:
            ordered = sorted(self.items, key=lambda p: p.line)  # stable: same line keeps order
            raise BadInputFile(ordered, total=self.total)


def _rows(
    path: Path, problems: _Problems, required, optional, *, ignore_unknown: bool = False
) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each data row; header problems are fatal at once. Cells
    the tool's exports guarded against formulas are read as they were (`unguarded`)."""
    try:
        # undecodable bytes become surrogates, so they are reported on their own line
        handle = path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        problems.add(1, None, f"cannot read the file: {exc.strerror}")
        problems.raise_if_any()
        return
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            problems.add(1, None, "the file is empty; expected a header row")
            problems.raise_if_any()
            return
        except csv.Error as exc:
            problems.add(1, None, f"not a CSV file: {exc}")
            problems.raise_if_any()
            return
        if not _is_utf8(header):
            problems.add(1, None, NOT_UTF8)
            problems.raise_if_any()
        for missing in [c for c in required if c not in header]:
            problems.add(1, missing, "required column is missing")
        for unknown in (
            [] if ignore_unknown else [c for c in header if c not in required + optional]
        ):
            problems.add(
                1,
                unknown,
                f"unknown column (known: {', '.join(required + optional)};"
                " --ignore-unknown-columns skips the others)",
            )
        if len(set(header)) != len(header):
            problems.add(1, None, "a column name is repeated")
        problems.raise_if_any()
        width = len(header)
        try:
            for values in reader:
                line = reader.line_num
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                problems.rows += 1
                if len(values) != width:
                    problems.add(line, None, f"expected {width} fields, found {len(values)}")
                    continue
                text = "".join(values)
                # only a cell with a quote can be guarded (most rows have none)
                row = dict(
                    zip(header, map(unguarded, values) if "'" in text else values, strict=True)
                )
                if not _is_utf8([text]):
                    for column, value in row.items():
                        if not _is_utf8([value]):
                            problems.add(line, column, NOT_UTF8)
                    continue
                yield line, row
        except csv.Error as exc:
            problems.add(reader.line_num, None, f"unreadable CSV: {exc}")


NOT_UTF8 = "is not UTF-8 text (save the file as UTF-8)"


def _is_utf8(values: list[str]) -> bool:
    try:
        "".join(values).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _check(problems: _Problems, line: int, column: str, parse, value):
    try:
        return parse(value)
    except ValueProblem as exc:
        problems.add(line, column, str(exc))
        return None


# --- points ----------------------------------------------------------------------


@dataclass(slots=True)
class _PointsRow:
    line: int
    member: str
    amount: int
    reason: str
    key: str
    derived: bool
    expires_at: datetime | None
    pending_until: datetime | None
    digest: str  # the request hash: what "the same content" means for its key


class _Memo(dict):
    """Parsed values of cells that repeat (reasons, dates), bounded in size."""

    def parse(self, parse, text: str):
        try:
            return self[text]
        except KeyError:
            value = parse(text)  # may raise ValueProblem: not remembered
            if len(self) > 10_000:
                self.clear()
            self[text] = value
            return value


WRITE_OFF_DATE = "a write-off (negative amount) cannot have one"


def _parse_points_rows(
    path: Path, problems: _Problems, tz: ZoneInfo, now: datetime
) -> Iterator[_PointsRow]:
    occurrences = OccurrenceCounter()
    reasons, moments = _Memo(), _Memo()

    def moment(text: str) -> datetime:
        return moments.parse(lambda v: parse_moment(v, tz, end_of_day=True), text)

    def reason_of(text: str) -> str:
        return reasons.parse(validate_reason, text)

    for line, raw in _rows(path, problems, POINTS_REQUIRED, POINTS_OPTIONAL):
        before = problems.total
        member = _check(problems, line, "member", validate_external_id, raw["member"])
        amount = _check(problems, line, "amount", parse_signed_amount, raw["amount"])
        reason = _check(problems, line, "reason", reason_of, raw["reason"])
        expires_text = raw.get("expires_at", "").strip()
        pending_text = raw.get("pending_until", "").strip()
        expires_at = pending_until = None
        if expires_text:
            expires_at = _check(problems, line, "expires_at", moment, expires_text)
        if pending_text:
            pending_until = _check(problems, line, "pending_until", moment, pending_text)
        if expires_at is not None:
            expiry = expiry_problem(expires_at, pending_until, now)
            if expiry:
                problems.add(line, "expires_at", expiry)
        if amount is not None and amount < 0:
            if expires_text:
                problems.add(line, "expires_at", WRITE_OFF_DATE)
            if pending_text:
                problems.add(line, "pending_until", WRITE_OFF_DATE)
        key_text = raw.get("key", "").strip()
        key = _check(problems, line, "key", validate_key, key_text) if key_text else None
        if problems.total != before:
            continue
        digest = request_hash(
            member=member,
            amount=amount,
            reason=reason,
            expires_at=expires_at,
            pending_until=pending_until,
        )
        derived = key is None
        if derived:
            # the row's content plus how many identical rows came before it in the file
            count = occurrences.seen(int(digest[:16], 16))
            key = f"csv:{digest[:32]}:{count}"
        yield _PointsRow(
            line, member, amount, reason, key, derived, expires_at, pending_until, digest
        )


def import_points(
    *,
    session: Session,
    path: Path,
    operator: str,
    tz: ZoneInfo,
    dry_run: bool = False,
    now: datetime | None = None,
    progress=None,
    name: str | None = None,
) -> models.ImportResult:
    """Apply a points CSV (member,amount,reason[,key][,expires_at][,pending_until]).

    Without a key column, each row's key is derived from its content and how many
    identical rows came before it, so re-running the file applies nothing twice.
    """
    now = now or utcnow()
    problems = _Problems(name or str(path))
    points = _PointsImport(session, problems, operator=operator, now=now)
    chunk: list[_PointsRow] = []
    for row in _parse_points_rows(path, problems, tz, now):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            _Chunk(points, chunk).apply()
            points.bound_memory()
            chunk = []
            if progress:
                progress(problems.rows)
    _Chunk(points, chunk).apply()
    problems.raise_if_any()
    points.save()
    crash.reached("points-import-before-commit")
    return models.ImportResult(
        file=name or str(path),
        rows=problems.rows,
        applied=points.applied,
        replayed=points.replayed,
        dry_run=dry_run,
        derived_keys=points.derived_keys,
    )


class _PointsImport:
    """What a points import keeps from chunk to chunk: the members locked so far (their
    balances move row by row, saved once at the end), the ones found unknown, the counts."""

    def __init__(self, session: Session, problems: _Problems, *, operator: str, now: datetime):
        self.session, self.problems, self.operator, self.now = session, problems, operator, now
        self.states: dict[str, store.MemberState] = {}
        # what the entries add to `ledger_summary`: the held members share their shard's
        self.summary = store.summary_shards()
        self.unknown_members: set[str] = set()
        self.applied = self.replayed = 0
        self.derived_keys = False
        self.lot_ids = store.lot_ids(session)
        store.prepare_bulk_write(session)  # first: the key look-ups stay on their indexes
        self.keys = KeyBatch(session, ENTRY_KEYS)

    def save(self) -> None:
        store.save_lot_changes(self.session, self.states.values())
        store.save_member_states(self.session, self.states.values(), self.now, summary=False)
        store.save_shared_summary(self.session, self.summary)

    def bound_memory(self) -> None:
        """Keep at most `MAX_MEMBERS_HELD` members in memory: past that, write back what
        moved (in this transaction, as at the end) and forget them all; a member met
        again is locked and read again, as this transaction left it."""
        if len(self.states) > MAX_MEMBERS_HELD:
            self.save()
            self.states.clear()


class _Chunk:
    """One chunk of rows, applied in file order through the ledger path of a single
    credit, then written in bulk. Its entries are written even when problems were found
    (the transaction is rolled back at the end), so that later chunks see its keys."""

    def __init__(self, points: _PointsImport, rows: list[_PointsRow]):
        self.points, self.rows = points, rows
        self.session, self.problems = points.session, points.problems
        self.new: list[_PointsRow] = []  # rows whose key nobody holds: to apply
        self.entries: list[dict] = []
        self.lots: list[dict] = []
        self.given_keys: dict[str, int] = {}  # key given in the file -> its entry's id

    def apply(self) -> None:
        self.points.derived_keys = self.points.derived_keys or any(r.derived for r in self.rows)
        self.points.keys.look_up([r.key for r in self.rows])
        self._lock_members()
        self._check_keys()
        self._prefetch_lots()
        self._apply_changes()
        self._write()

    def _lock_members(self) -> None:
        points = self.points
        wanted = {r.member for r in self.rows} - set(points.states) - points.unknown_members
        ids = member_store.ids_by_external(self.session, wanted)
        points.unknown_members.update(wanted - set(ids))
        locked = store.lock_members(self.session, ids.values()).values()
        store.share_summary(locked, points.summary)
        for state in locked:
            points.states[state.external_id] = state

    def _check_keys(self) -> None:
        """Sort the rows out by their keys: new (to apply), replayed, or a problem."""
        unknown_members = self.points.unknown_members
        for r in self.rows:
            if r.member in unknown_members:
                self.problems.add(r.line, "member", f"no member has the id {r.member!r}")
                continue
            found = self.points.keys.check(r.key, r.digest)
            if found.status is KeyStatus.NEW:
                self.new.append(r)
            elif found.status is KeyStatus.REPLAY:
                self.points.replayed += 1
            elif found.status is KeyStatus.CONFLICT:
                self.problems.add(
                    r.line, "key", f"the key {r.key!r} was used for a different change"
                )
            else:
                holder = f"{found.holder.kind} {found.holder.ref}"
                self.problems.add(r.line, "key", f"the key {r.key!r} was used for {holder}")

    def _prefetch_lots(self) -> None:
        """The lots the chunk's write-offs spend. Only the members that write off hold
        their lots in memory (the chunk's expiring credits join them as they are made);
        another member's new lots are written with the chunk, where a later chunk's
        write-off reads them: so memory does not grow with the file's expiring credits."""
        states = self.points.states
        store.prefetch_lots(
            self.session,
            {states[r.member].id: states[r.member] for r in self.new if r.amount < 0}.values(),
        )

    def _apply_changes(self) -> None:
        points, now = self.points, self.points.now
        entry_ids = store.reserve_entry_ids(self.session, len(self.new))
        for r, entry_id in zip(self.new, entry_ids, strict=True):
            state = points.states[r.member]
            try:
                entry = apply_change(
                    self.session,
                    state,
                    amount=r.amount,
                    reason=r.reason,
                    operator=points.operator,
                    key=r.key,
                    digest=r.digest,
                    expires_at=r.expires_at,
                    pending_until=r.pending_until,
                    now=now,
                    entry_id=entry_id,
                )
            except InsufficientBalance:
                self.problems.add(
                    r.line,
                    "amount",
                    f"member {r.member} has {state.balance:,} points at this row; "
                    f"writing off {-r.amount:,} would go below zero",
                )
                continue
            self.entries.append(entry)
            if not r.derived:
                self.given_keys[r.key] = entry_id
            if entry["expires_at"] is not None or entry["pending_amount"] > 0:
                lot = lot_row(entry, entry_id=entry_id, lot_id=points.lot_ids.take())
                self.lots.append(lot)
                if lot["matured"] and state.lots is not None:  # see _prefetch_lots
                    store.track_new_lot(state, lot["id"], lot["remaining"], lot["expires_at"])
            points.applied += 1

    def _write(self) -> None:
        store.insert_entries(self.session, self.entries)
        store.insert_lots(self.session, self.lots)
        # keys given in the file are taken globally too (derived ones are this file's own)
        self.points.keys.register(self.given_keys)


# --- members ---------------------------------------------------------------------


class _Named:
    """Problems of a preset's rows, named by the platform's columns."""

    def __init__(self, problems: _Problems, source: dict[str, str]) -> None:
        self.problems, self.source = problems, source

    @property
    def total(self) -> int:
        return self.problems.total

    def add(self, line: int, column: str | None, message: str) -> None:
        self.problems.add(line, self.source.get(column, column), message)


def _member_rows(path: Path, problems: _Problems, preset, ignore_unknown: bool):
    """(line, our row, its problems' namer) for each row of the file."""
    if preset is None:
        optional = MEMBER_OPTIONAL + MEMBER_EXPORT_ONLY
        for line, raw in _rows(
            path, problems, MEMBER_REQUIRED, optional, ignore_unknown=ignore_unknown
        ):
            yield line, raw, problems
        return
    header_checked = False
    for line, raw in _rows(path, problems, (), (), ignore_unknown=True):
        if not header_checked:
            header_checked = True
            for missing in preset.missing(list(raw)):
                problems.add(1, missing, f"required column of a {preset.name} export is missing")
            problems.raise_if_any()
        row, source = preset.row(raw)
        yield line, row, _Named(problems, source)


def _new_without_name(session: Session, rows: list, problems: _Problems) -> None:
    """Rows of new members with an empty name: each a problem of its row's name. (An
    existing member's empty name cell changes nothing: `member list --csv` writes a
    forgotten member's name empty, and imports back unchanged.)"""
    nameless = {external_id: line for line, external_id, fields, *_ in rows if not fields.name}
    known = member_store.ids_by_external(session, nameless)
    for external_id, line in sorted(nameless.items(), key=lambda item: item[1]):
        if external_id not in known:
            problems.add(line, "name", "a name is required")


def _parse_member_rows(
    path: Path, problems: _Problems, preset=None, ignore_unknown: bool = False
) -> Iterator[tuple[int, str, MemberFields, list, list]]:
    from loyaltyctl.services.members import MemberFields

    seen: dict[str, int] = {}
    for line, raw, named in _member_rows(path, problems, preset, ignore_unknown):
        raw = {"external_id": "", "name": "", **raw}
        before = problems.total
        problems_of_row, problems = problems, named
        external_id = _check(
            problems, line, "external_id", validate_external_id, raw["external_id"]
        )
        # an empty name leaves a member's as it is (a new member needs one: checked once
        # the stored members are known, `_new_without_name`)
        given = raw["name"].strip()
        name = _check(problems, line, "name", validate_name, given) if given else None
        values = {"name": name}
        for column, parse in (
            ("phone", validate_phone),
            ("email", validate_email),
            ("birthday", validate_birthday),
            ("plan", lambda v: validate_label(v, "plan")),
            ("tier", lambda v: validate_label(v, "tier")),
        ):
            text = raw.get(column, "").strip()
            values[column] = _check(problems, line, column, parse, text) if text else None
        labels: dict[str, list[str] | None] = {}
        for column in ("groups", "tags"):
            parts = split_list(raw.get(column))
            labels[column] = [
                _check(problems, line, column, lambda v, c=column: validate_label(v, c[:-1]), part)
                for part in parts
            ] or None  # an empty cell leaves the member's labels as they are
        if external_id in seen:
            problems.add(
                line, "external_id", f"{external_id!r} is already on line {seen[external_id]}"
            )
        elif external_id:
            seen[external_id] = line
        problems = problems_of_row
        if problems.total != before:
            continue
        yield line, external_id, MemberFields(**values), labels["groups"], labels["tags"]


def import_members(
    *,
    session: Session,
    path: Path,
    operator: str,
    dry_run: bool = False,
    now: datetime | None = None,
    name: str | None = None,
    preset: str | None = None,
    ignore_unknown_columns: bool = False,
) -> models.ImportResult:
    """Add or update members from a CSV; a row equal to what is stored changes nothing.

    Empty cells leave stored values as they are; groups and tags given replace the
    member's (the file is the source of truth for the labels it names). ``preset``
    reads a store's customer export (`domain.stores.customers`); ``name`` is how
    messages name the file (standard input).
    """
    from loyaltyctl.domain.stores.customers import PRESETS
    from loyaltyctl.services.members import MemberChange, save_members

    problems = _Problems(name or str(path))
    rows = list(
        _parse_member_rows(
            path, problems, PRESETS[preset] if preset else None, ignore_unknown_columns
        )
    )
    _new_without_name(session, rows, problems)
    problems.raise_if_any()
    changes = [
        MemberChange(external_id, fields, groups=groups, tags=tags, tier_pins=False)
        for _line, external_id, fields, groups, tags in rows
    ]
    saved = save_members(session=session, changes=changes, operator=operator, create=None, now=now)
    created = sum(1 for s in saved if s.action == "created")
    updated = sum(1 for s in saved if s.action == "updated")
    unchanged = len(saved) - created - updated
    crash.reached("member-import-before-commit")
    return models.ImportResult(
        file=name or str(path),
        rows=len(rows),
        applied=created + updated,
        replayed=unchanged,
        dry_run=dry_run,
        created=created,
        updated=updated,
    )
