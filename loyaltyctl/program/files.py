"""A set of program files read at once: every table of every registered kind validated,
every problem reported together.

`read_program_files` reads files and directories, validates each table with the reader
of its kind (READERS) into a spec — `[[perk]]` into a `PerkSpec` (program/perks.py),
`[[campaign]]` into a `CampaignSpec` (program/campaigns.py), `[[earning_rule]]` and
`[[tier]]` into `EarningRule`s and `Tier`s (program/earning.py) — and raises
`BadInputFile` with every problem of every file (nothing is returned then), each placed
at `file:line:column`. Reading the files and placing keys is program/source.py.

A new kind of table is a module with a `Reader` subclass and one entry in READERS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loyaltyctl.domain.errors import BadInputFile, Problem
from loyaltyctl.domain.perks import PerkSpec
from loyaltyctl.program.campaigns import CampaignReader
from loyaltyctl.program.checks import did_you_mean, quoted
from loyaltyctl.program.discounts import DiscountReader
from loyaltyctl.program.earning import RuleReader, TierReader
from loyaltyctl.program.perks import PerkReader
from loyaltyctl.program.reader import Reader, Seen
from loyaltyctl.program.source import SourceFile, program_files, read_source

# the kinds of table a file may hold, each read by its reader, in the order they are read
READERS: tuple[type[Reader], ...] = (
    PerkReader,
    CampaignReader,
    RuleReader,
    TierReader,
    DiscountReader,
)


@dataclass(frozen=True)
class ProgramFiles:
    """What program files hold, validated: the specs of each kind of table ("perk",
    "campaign", "earning_rule", "tier", ...) in file order; a kind without any is left
    out."""

    specs: dict[str, list[Any]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Any]:
        return self.specs.get(kind, [])


def read_program_files(paths: list[Path], *, env: Mapping[str, str], tz: ZoneInfo) -> ProgramFiles:
    """Every table of these files and directories (`*.toml`, recursively).

    `env` resolves `value_env` / `webhook_secret_env`; `tz` places dates and local
    datetimes. Raises `BadInputFile` listing every problem of every kind, sorted by
    file, line and column, when there is any.
    """
    problems: list[Problem] = []
    found: dict[str, list[Any]] = {reader.kind: [] for reader in READERS}
    seen = Seen()
    for path in program_files(paths, problems):
        file = read_source(path, env=env, tz=tz, problems=problems)
        if file is not None:
            _top_level(file)
            for reader in READERS:
                found[reader.kind].extend(reader.read_all(file, seen))
    if problems:
        problems.sort(key=lambda p: (p.file, p.line, p.column or 0))
        raise BadInputFile(problems)
    return ProgramFiles({kind: specs for kind, specs in found.items() if specs})


def read_perk_files(paths: list[Path], *, env: Mapping[str, str], tz: ZoneInfo) -> list[PerkSpec]:
    """The perks of `read_program_files` (the other tables are validated too, then left out)."""
    return read_program_files(paths, env=env, tz=tz).of("perk")


def _top_level(file: SourceFile) -> None:
    """Problems of the keys outside the program's tables, and of an empty file."""
    tables = tuple(reader.kind for reader in READERS)
    holds = f"a file holds only {_tables_named(tables, 'and')} tables"
    for key in file.document:
        if key not in tables:
            message = f"unknown top-level key {quoted(key)}; {holds}{did_you_mean(key, tables)}."
            file.add((key,), key, message)
    if not file.document:
        message = f"the file holds no {_tables_named(tables, 'or')} table."
        file.problems.append(Problem(file.source, 1, None, message))


def _tables_named(tables: tuple[str, ...], conjunction: str) -> str:
    """ "[[perk]], [[campaign]], [[earning_rule]] and [[tier]]"."""
    names = [f"[[{table}]]" for table in tables]
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
