"""`apply`: the tables of program files (perks, campaigns, earning rules, tiers, ...)
planned together against the database and written in one transaction.

The planner is planner.py, the kinds it plans are registered in kinds.py, one module
each (perks.py, campaigns.py, earning.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from loyaltyctl.domain.perks import ApplyResult
from loyaltyctl.program.files import ProgramFiles, read_program_files
from loyaltyctl.services.apply.kinds import KINDS
from loyaltyctl.services.apply.planner import plan, raise_problems
from loyaltyctl.services.perks import KeyLoader
from loyaltyctl.store.db import Database, Session


def apply_files(
    *,
    database: Database,
    paths: list[Path],
    env: Mapping[str, str],
    tz: ZoneInfo,
    keys: KeyLoader,
    operator: str,
    prune: bool = False,
    dry_run: bool = False,
) -> ApplyResult:
    """`apply PATH...`: read and validate the files first (their problems are told
    without waiting for the database), then plan and write them in one transaction,
    rolled back for a dry run. `env` resolves `*_env` secrets; `tz` places local dates."""
    program = read_program_files(paths, env=env, tz=tz)
    return database.run(
        lambda session: apply_program(
            session=session,
            program=program,
            keys=keys,
            operator=operator,
            prune=prune,
            dry_run=dry_run,
        ),
        write=True,
        rollback=dry_run,
    )


def apply_program(
    *,
    session: Session,
    program: ProgramFiles,
    keys: KeyLoader,
    operator: str,
    prune: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ApplyResult:
    """Plan every registered kind of `program`; report every problem of all of them at
    once; write nothing unless all is well (in the caller's transaction)."""
    result = plan(
        KINDS, session=session, program=program, keys=keys, operator=operator, prune=prune, now=now
    )
    raise_problems(result.problems)
    if not dry_run:
        result.write()
    return ApplyResult(
        dry_run=dry_run, changes=tuple(result.changes), warnings=tuple(result.warnings)
    )
