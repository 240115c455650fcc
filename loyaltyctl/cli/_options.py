"""Option and argument aliases shared by commands, and their parsers."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.domain import values


def _wrap(parse):
    def parser(text: str):
        try:
            return parse(text)
        except values.ValueProblem as exc:
            raise typer.BadParameter(str(exc)) from None

    parser.__name__ = parse.__name__
    return parser


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print the listing as CSV on stdout.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Check and report everything, change nothing.")
]
MemberArg = Annotated[
    str,
    typer.Argument(
        metavar="MEMBER",
        help="The member's external id.",
        parser=_wrap(values.validate_external_id),
    ),
]
AmountArg = Annotated[
    int,
    typer.Argument(
        metavar="AMOUNT",
        help="Points: a positive whole number, at most 1,000,000,000.",
        parser=_wrap(values.parse_amount),
    ),
]
ReasonOpt = Annotated[
    str,
    typer.Option(
        "--reason",
        help="Why (required; recorded in the audit log).",
        parser=_wrap(values.validate_reason),
    ),
]
OptionalReasonOpt = Annotated[
    str | None,
    typer.Option(
        "--reason",
        help="Why (recorded in the audit log).",
        parser=_wrap(values.validate_reason),
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Idempotency key: the change happens at most once; repeating it reports the "
        "original result.",
        parser=_wrap(values.validate_key),
    ),
]
CsvFileArg = Annotated[
    str,
    typer.Argument(metavar="FILE.csv", help="UTF-8 CSV with a header row, or - for stdin."),
]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")]

# a service's arguments whose option is not the one Typer makes of the same name
FLAGS = {"batch_id": "--batch ID", "perks": "--perk"}


def flag(argument: str) -> str:
    """How the CLI names a service's argument (``uses_per_code`` -> ``--uses-per-code``)."""
    return FLAGS.get(argument, "--" + argument.replace("_", "-"))


name = _wrap(values.validate_name)
phone = _wrap(values.validate_phone)
email = _wrap(values.validate_email)
birthday = _wrap(values.validate_birthday)
label = _wrap(values.validate_label)
duration = _wrap(values.parse_duration)


def when(text: str | None, *, option: str, end_of_day: bool):
    """A date or timestamp in the program time zone (None stays None)."""
    if text is None:
        return None
    from loyaltyctl.cli._context import current
    from loyaltyctl.domain.errors import UsageProblem

    try:
        return values.parse_moment(text, current().settings.tz, end_of_day=end_of_day)
    except values.ValueProblem as exc:
        raise UsageProblem(f"{option}: {exc}.") from None
