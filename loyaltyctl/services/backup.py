"""`db backup FILE`: a copy of a SQLite database taken while others write, with a signed
audit checkpoint of the same moment beside it (FILE.checkpoint.json), so a restore
ends with `audit verify --checkpoint FILE.checkpoint.json`. PostgreSQL is backed up
with `pg_dump` (README "Backups")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain.errors import UsageProblem
from loyaltyctl.services.audit_checkpoint import make_checkpoint
from loyaltyctl.store.backup import backup_sqlite
from loyaltyctl.store.db import Database


@dataclass(frozen=True)
class Backup:
    file: str
    checkpoint: str
    pages: int
    ledger_entries: int
    audit_events: int


def checkpoint_path(target: Path) -> Path:
    return target.with_name(target.name + ".checkpoint.json")


def back_up(*, database: Database, keys: KeyRing, target: Path, operator: str) -> Backup:
    """The checkpoint first (recorded in the database, so the copy holds it), then the
    copy: everything the checkpoint names is in the copy."""
    if not database.is_sqlite or database.sqlite_path is None:
        raise UsageProblem(
            "`db backup` copies SQLite files; back up PostgreSQL with pg_dump (README "
            '"Backups") after `loyaltyctl audit checkpoint --out FILE`.'
        )
    beside = checkpoint_path(target)
    for path in (target, beside):
        if path.exists():
            raise UsageProblem(
                f"{path} exists already; choose another FILE (nothing is overwritten)."
            )
    made = database.run(lambda s: make_checkpoint(session=s, keys=keys, operator=operator))
    pages = backup_sqlite(database.sqlite_path, target)
    beside.write_text(made.text, encoding="utf-8")
    return Backup(
        file=str(target),
        checkpoint=str(beside),
        pages=pages,
        ledger_entries=made.ledger_entries,
        audit_events=made.audit_events,
    )
