"""The one planner of `apply`, over the kinds registered in services/apply/kinds.py.

For each kind, in order: what the files would create, update (field by field), leave
unchanged and, with --prune, disable; the problems only the database can show. Every
kind is planned before anything is written, so the problems of all of them are told at
once; then each kind's writes and their audit events, in the same order.

A kind (`Kind`) supplies only what is its own: how its rows are read and written, its
columns, what else a change carries (a perk's secrets, a campaign's shared codes), its
problems, and what it needs from the other kinds of the same files (`Context.program`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any, ClassVar

from loyaltyctl.domain.errors import BadInputFile, Problem
from loyaltyctl.domain.perks import SECRET_MASK, FieldChange, PlanChange
from loyaltyctl.domain.values import utcnow
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.perks import KeyLoader
from loyaltyctl.store import audit
from loyaltyctl.store.db import Session

PRUNED = "not in the applied files (--prune)"  # the audit reason of a disable by --prune


@dataclass(frozen=True)
class Context:
    """What every kind plans against: the session, the specs of every kind of the
    applied files (a kind may depend on another's), and who applies when."""

    session: Session
    program: ProgramFiles
    keys: KeyLoader
    operator: str
    now: datetime
    prune: bool


@dataclass
class Draft:
    """One spec's plan: its columns as the file says them, the changed fields as the
    plan shows them, the problems only the database shows, and what the kind's write
    needs besides the columns (`extra`: secrets, shared codes)."""

    spec: Any
    row: Any | None  # the stored row; None: a create
    columns: dict[str, Any]
    fields: list[str]
    problems: list[Problem] = field(default_factory=list)
    extra: Any = None
    warnings: list[str] = field(default_factory=list)  # accepted, but worth a look

    @property
    def action(self) -> str:
        if self.row is None:
            return "create"
        return "update" if self.fields else "unchanged"


class Kind(ABC):
    """One kind of table `apply` plans; one instance per plan (it may keep what it
    looked up for all its specs)."""

    name: ClassVar[str]  # the table of the files, the plan's kind and the audit subject
    disable_field: ClassVar[str] = "active"  # what --prune turns off, as the plan shows it
    disabled_value: ClassVar[Any] = False  # ... and what it sets it to
    disable_action: ClassVar[str] = "disable"  # the audit action of a prune: <name>.<this>
    json_columns: ClassVar[frozenset[str]] = frozenset()  # JSON text: shown as its value
    secret_fields: ClassVar[frozenset[str]] = frozenset()  # shown as "***", never their text
    # columns that change money or promises: their values go into the audit event (chained),
    # and `audit verify` checks the row still holds the last values recorded
    promised: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: Context) -> None:
        self.context = context
        self.session = context.session
        self.specs: list[Any] = context.program.of(self.name)

    # -- what every kind gives

    @abstractmethod
    def stored(self, slugs: list[str]) -> dict[str, Any]:
        """The stored rows of these slugs, by slug."""

    @abstractmethod
    def active_slugs(self) -> list[str]:
        """The stored slugs --prune disables when the files leave them out."""

    @abstractmethod
    def columns(self, spec: Any) -> dict[str, Any]:
        """The stored columns as the file says them."""

    @abstractmethod
    def insert(self, draft: Draft, values: dict[str, Any]) -> None:
        """Store a new row: `values` are the columns, the slug and the timestamps."""

    @abstractmethod
    def update(self, draft: Draft, values: dict[str, Any]) -> None:
        """Update `draft.row`: `values` are the columns and updated_at."""

    @abstractmethod
    def disable(self, slug: str) -> None:
        """Turn a stored one off (--prune): never a delete."""

    # -- what a kind may change

    def draft(self, spec: Any, row: Any | None) -> Draft:
        columns = self.columns(spec)
        return Draft(spec, row, columns, self.changed(row, columns), self.problems(spec, row))

    def changed(self, row: Any | None, columns: dict[str, Any]) -> list[str]:
        """The changed fields: every column of a create, the differing ones of an update."""
        return [
            name for name, value in columns.items() if row is None or getattr(row, name) != value
        ]

    def problems(self, spec: Any, row: Any | None) -> list[Problem]:
        """What only the database can tell about one spec."""
        return []

    def audited_fields(self, draft: Draft) -> list[str]:
        """The field names the audit event of a create or update lists (never values)."""
        return sorted(draft.fields)

    def after_write(self) -> None:  # noqa: B027 - optional: most kinds need nothing after
        """Called once after this kind's writes, when there were any."""

    # -- what the plan shows of a change: old -> new, field by field

    def shown(self, row: Any | None, columns: dict[str, Any]) -> tuple[dict, dict]:
        """The stored values (empty for a create) and the file's, by field, as plain
        values: a JSON text column as the value it holds."""
        old = {} if row is None else {n: self.plain(n, getattr(row, n)) for n in columns}
        return old, {name: self.plain(name, value) for name, value in columns.items()}

    def plain(self, name: str, value: Any) -> Any:
        """One column's value as the plan shows it."""
        if name in self.json_columns and isinstance(value, str):
            return json.loads(value)
        return value

    def secret_change(self, draft: Draft, name: str) -> FieldChange:
        """A changed secret: that one is stored (or not), never what it is."""
        stored = draft.row is not None and getattr(draft.row, f"{name}_enc", None) is not None
        return FieldChange(name, SECRET_MASK if stored else None, SECRET_MASK)

    def field_changes(self, draft: Draft) -> list[FieldChange]:
        """Old -> new of every changed field of a create or an update."""
        old, new = self.shown(draft.row, draft.columns)
        return [
            self.secret_change(draft, name)
            if name in self.secret_fields
            else FieldChange(name, old.get(name), new.get(name))
            for name in draft.fields
        ]

    def pruned_changes(self) -> list[PlanChange]:
        """What --prune turns off, each with the value it had."""
        if not self.pruned:
            return []
        rows = self.stored(self.pruned)
        field = self.disable_field
        return [
            PlanChange(
                self.name,
                slug,
                "disable",
                (field,),
                (FieldChange(field, getattr(rows[slug], field, None), self.disabled_value),),
            )
            for slug in self.pruned
        ]

    # -- for the planner and the kinds

    @cached_property
    def pruned(self) -> list[str]:
        """The stored slugs this plan disables: --prune, and in none of the files."""
        if not self.context.prune:
            return []
        named = {spec.slug for spec in self.specs}
        return [slug for slug in self.active_slugs() if slug not in named]


def problem(spec: Any, field: str, message: str, where: tuple[int, int] | None = None) -> Problem:
    """A problem of one spec, at `where` or else where its file writes `field`."""
    line, column = where or spec.where(field)
    return Problem(spec.source, line, field, message, column)


@dataclass
class Plan:
    """What applying would change and the problems that stop it; `write()` applies it."""

    changes: list[PlanChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    writes: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def write(self) -> None:
        for write in self.writes:
            write()


def plan(
    kinds: Iterable[type[Kind]],
    *,
    session: Session,
    program: ProgramFiles,
    keys: KeyLoader,
    operator: str,
    prune: bool = False,
    now: datetime | None = None,
) -> Plan:
    """The plan of `program` for these kinds, in their order; nothing is written."""
    context = Context(session, program, keys, operator, now or utcnow(), prune)
    result = Plan()
    for kind_type in kinds:
        kind = kind_type(context)
        rows = kind.stored([spec.slug for spec in kind.specs]) if kind.specs else {}
        drafts = []
        for spec in kind.specs:
            draft = kind.draft(spec, rows.get(spec.slug))
            result.problems += draft.problems
            result.warnings += draft.warnings
            result.changes.append(
                PlanChange(
                    kind.name,
                    spec.slug,
                    draft.action,
                    tuple(draft.fields),
                    tuple(kind.field_changes(draft)),
                )
            )
            if draft.action != "unchanged":
                drafts.append(draft)
        result.changes += kind.pruned_changes()
        result.writes.append(partial(_write, kind, drafts))
    return result


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise BadInputFile(sorted(problems, key=lambda p: (p.file, p.line, p.column or 0)))


def _details(kind: Kind, draft: Draft, fields: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {"fields": fields, "file": draft.spec.source}
    if kind.promised:
        details["values"] = {name: draft.columns[name] for name in kind.promised}
    return details


def _write(kind: Kind, drafts: list[Draft]) -> None:
    """The kind's creates, updates and disables, and one audit event for each."""
    now, operator = kind.context.now, kind.context.operator
    events = []
    for draft in drafts:
        slug = draft.spec.slug
        # before the write: an update also refreshes the row the fields are compared with
        fields = kind.audited_fields(draft)
        if draft.row is None:
            kind.insert(draft, dict(draft.columns, slug=slug, created_at=now, updated_at=now))
        else:
            kind.update(draft, dict(draft.columns, updated_at=now))
        events.append(
            audit.NewEvent(
                subject=f"{kind.name}:{slug}",
                action=f"{kind.name}.{draft.action}",
                operator=operator,
                at=now,
                details=_details(kind, draft, fields),
            )
        )
    for slug in kind.pruned:
        kind.disable(slug)
        events.append(
            audit.NewEvent(
                subject=f"{kind.name}:{slug}",
                action=f"{kind.name}.{kind.disable_action}",
                operator=operator,
                at=now,
                reason=PRUNED,
            )
        )
    audit.append_events(kind.session, events)
    if drafts or kind.pruned:
        kind.after_write()
