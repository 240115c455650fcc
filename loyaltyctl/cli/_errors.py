"""The only place that maps errors to exit codes and one-line messages with a hint."""

from __future__ import annotations

import os

from loyaltyctl.cli._output import Output
from loyaltyctl.domain.errors import BadInputFile, LoyaltyError

INTERNAL = 1


def debug() -> bool:
    return os.environ.get("LOYALTYCTL_DEBUG") == "1"


def report(error: LoyaltyError, *, json_mode: bool) -> int:
    """Print the error (stderr, and the JSON document with --json); return the exit code."""
    out = Output(json_mode=json_mode)
    extra: dict = {}
    if isinstance(error, BadInputFile):
        for problem in error.problems:
            out.err.print(str(problem), markup=False, highlight=False)
        if error.details.get("total", len(error.problems)) > len(error.problems):
            out.err.print(f"... and {error.details['total'] - len(error.problems)} more")
        extra["problems"] = [
            {
                "file": p.file,
                "line": p.line,
                "column": p.column,
                "field": p.field,
                "message": p.message,
            }
            for p in error.problems
        ]
    elif error.details:
        extra.update({k: v for k, v in error.details.items() if k != "total"})
    out.error(error.code, error.message, error.hint, extra)
    for problem in error.details.get("problems", [])[1:]:
        out.err.print(f"  also: {problem}", markup=False, highlight=False)
    return error.exit_code


def report_bad_lines(out: Output, lines: list[str], *, more: int, message: str, hint: str) -> int:
    """Bad lines of a file whose good lines were handled (`events ingest`): each on stderr,
    then the one sentence; the result document already holds them for --json."""
    from loyaltyctl.domain.errors import BadInputFile

    for line in lines:
        out.err.print(line, markup=False, highlight=False)
    if more:
        out.err.print(f"... and {more:,} more", markup=False, highlight=False)
    Output(json_mode=False).error(BadInputFile.code, message, hint)
    return BadInputFile.exit_code


def _first_line(exc: BaseException) -> str:
    """A driver's message goes on with the statement and its values: keep the first line."""
    lines = str(exc).splitlines()
    return lines[0][:300] if lines else ""


def report_unexpected(exc: BaseException, *, json_mode: bool) -> int:
    out = Output(json_mode=json_mode)
    out.error(
        "internal_error",
        f"Unexpected {type(exc).__name__}: {_first_line(exc)}",
        "Nothing was changed. Rerun with LOYALTYCTL_DEBUG=1 for the traceback and report it.",
    )
    return INTERNAL


def wants_json(args: list[str]) -> bool:
    return "--json" in args
