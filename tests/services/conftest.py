"""Fixtures of the service tests of earning: program files applied, events ingested."""

from __future__ import annotations

import json

import pytest

from loyaltyctl.program.files import read_program_files
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.earning.ingest import ingest_events
from tests.services.earning_helpers import NOW, TZ


@pytest.fixture
def program(db, tmp_path):
    """program(toml) applies earning rules and tiers from TOML text."""

    def apply(text: str, *, prune: bool = False):
        path = tmp_path / f"program-{len(list(tmp_path.glob('program-*')))}.toml"
        path.write_text(text, encoding="utf-8")
        files = read_program_files([path], env={}, tz=TZ)
        return db.run(
            lambda s: apply_program(
                session=s, program=files, keys=lambda: None, operator="t", prune=prune
            )
        )

    return apply


@pytest.fixture
def ingest(db, tmp_path):
    """ingest(*events or raw lines, strict=, dry_run=, now=) -> IngestResult."""
    counter = iter(range(1000))

    def run(*lines, strict=False, dry_run=False, now=NOW):
        path = tmp_path / f"events-{next(counter)}.jsonl"
        path.write_text(
            "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
            encoding="utf-8",
        )
        return ingest_events(
            database=db,
            path=path,
            tz=TZ,
            operator="tester",
            strict=strict,
            dry_run=dry_run,
            now=now,
        )

    return run
