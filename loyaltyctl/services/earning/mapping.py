"""`events map --format NAME`: what a store's payloads become, applied nowhere.

The same mapping and member finding as `events ingest --format` (`formats`), in one
read-only transaction; each event is also read as the ingest reads it, so a mapped
event the ingest would refuse is listed as a bad line here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loyaltyctl.domain import events as domain
from loyaltyctl.domain.events import EventProblem
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.earning.formats import (
    Bad,
    Note,
    Pending,
    Resolver,
    mapped,
    unsupported,
)
from loyaltyctl.services.earning.ingest import MAX_ERRORS, LineError, LineNote
from loyaltyctl.store.db import Session


@dataclass(frozen=True)
class MapResult:
    file: str
    format: str
    documents: tuple[dict, ...]
    errors: tuple[LineError, ...]
    errors_total: int
    notes: tuple[LineNote, ...]
    notes_total: int
    mapped_only: bool = True  # nothing is applied
    rolled_back: bool = False


def map_events(
    *, session: Session, path: Path, format_name: str, member_key: str | None
) -> MapResult:
    from zoneinfo import ZoneInfo

    now = utcnow()
    resolver = Resolver(member_key)
    documents: list[dict] = []
    errors: list[LineError] = []
    notes: list[LineNote] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        items = list(mapped(handle, format_name))
    pending = [i for i in items if isinstance(i, Pending) and i.document["type"] in domain.TYPES]
    resolved = dict((id(item), document) for item, document in resolver.documents(session, pending))
    for item in items:
        if isinstance(item, Bad):
            errors.append(LineError(item.line, item.message))
        elif isinstance(item, Note):
            notes.append(LineNote(item.line, item.message))
        elif id(item) not in resolved:
            notes.append(LineNote(item.line, unsupported(item.document["type"])))
            documents.append(item.document)
        else:
            document = resolved[id(item)]
            if isinstance(document, EventProblem):
                errors.append(LineError(item.line, str(document), document.code, document.data))
                continue
            try:
                domain.parse_document(document, item.line, tz=ZoneInfo("UTC"), now=now)
            except EventProblem as exc:
                errors.append(LineError(item.line, str(exc), exc.code, exc.data))
                continue
            documents.append(document)
    return MapResult(
        file=str(path),
        format=format_name,
        documents=tuple(documents),
        errors=tuple(sorted(errors, key=lambda e: e.line)[:MAX_ERRORS]),
        errors_total=len(errors),
        notes=tuple(notes[:MAX_ERRORS]),
        notes_total=len(notes),
    )
