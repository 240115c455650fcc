"""`events ingest`, `rules list` and `tiers list`: earning from what members do."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._files import input_file
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import earning as views

events_app = typer.Typer(
    help="Events from a store or club system (JSON lines), applied through the earning rules."
    "\n\nExample: loyaltyctl events ingest orders.jsonl",
    no_args_is_help=True,
)
rules_app = typer.Typer(
    help="Earning rules (defined in TOML, see `apply`).\n\nExample: loyaltyctl rules list",
    no_args_is_help=True,
)
tiers_app = typer.Typer(
    help="Tiers (defined in TOML, see `apply`).\n\nExample: loyaltyctl tiers list",
    no_args_is_help=True,
)

AllOpt = Annotated[bool, typer.Option("--all", help="Include disabled ones.")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="NAME",
        help="The file holds a store's webhook payloads as delivered (one JSON document"
        " per line, or a JSON array): shopify, woocommerce or stripe.",
    ),
]
MemberKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--member-key",
        metavar="KEY",
        help="With --format, find members by this only: external_id (the store's"
        " customer id), email or phone. Default: customer id, then email.",
    ),
]


def _check_format(format_name: str | None, member_key: str | None) -> None:
    from loyaltyctl.domain.errors import Argument, UsageProblem
    from loyaltyctl.domain.stores import FORMATS, MEMBER_KEYS

    if format_name is not None and format_name not in FORMATS:
        raise UsageProblem(
            Argument("format"),
            f" {format_name!r} is not a store format; use one of " + ", ".join(FORMATS) + ".",
        )
    if member_key is not None:
        if member_key not in MEMBER_KEYS:
            raise UsageProblem(
                Argument("member-key"),
                f" {member_key!r} is not a member key; use one of " + ", ".join(MEMBER_KEYS) + ".",
            )
        if format_name is None:
            raise UsageProblem(Argument("member-key"), " goes with --format NAME.")


@events_app.command("ingest")
def ingest(
    file: Annotated[
        str, typer.Argument(metavar="FILE.jsonl", help="One JSON event per line, or - for stdin.")
    ],
    dry_run: opt.DryRunOpt = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Any bad line aborts the whole file: nothing is applied."),
    ] = False,
    format_name: FormatOpt = None,
    member_key: MemberKeyOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Apply events (member.joined, order.paid, order.refunded, order.chargeback,
    review.submitted, social.action, member.birthday_changed) through the earning rules
    in force. An order.paid's "coupons" are recorded as used on its order; the refund that
    completes an order, or its chargeback, gives them back.

    Idempotent per event id: ingesting a file again applies only what is new. Bad lines
    are listed with their line numbers and skipped (exit 3); with --strict, nothing is
    applied. Without --strict the file is applied in chunks, each its own transaction.
    A refund of an order not known yet is held, and applied when the order comes.

    --format shopify|woocommerce|stripe reads a store's webhook payloads as delivered
    (see `events map` to see what they become).

    Example: loyaltyctl events ingest orders.jsonl --json
    """
    from loyaltyctl.domain.errors import BadLines
    from loyaltyctl.services.earning.ingest import ingest_events

    _check_format(format_name, member_key)
    out = Output(json_mode=json_)
    ctx = current()
    with (
        input_file(file, ".jsonl") as path,
        out.progress(f"Ingesting {file}", lines_of=path, unit="events") as advance,
    ):
        result = ingest_events(
            database=ctx.database(),
            path=path,
            tz=ctx.settings.tz,
            operator=ctx.operator,
            strict=strict,
            dry_run=dry_run,
            progress=advance,
            keys=ctx.keys,
            format_name=format_name,
            member_key=member_key,
            name="<stdin>" if file == "-" else file,
        )
    result = _for_people(result, file)
    out.result(views.ingest_json(result), lambda: views.ingest_summary(result))
    if not json_:
        for line in views.ingest_notes(result):
            out.err.print(line, markup=False, highlight=False)
    if result.errors_total:
        raise BadLines(result.file, result.errors_total, result=result)


@events_app.command("map")
def map_(
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="A store's payloads (JSON lines or an array), or -."),
    ],
    format_name: Annotated[
        str,
        typer.Option("--format", metavar="NAME", help="shopify, woocommerce or stripe."),
    ],
    member_key: MemberKeyOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Print the events a store's payloads map to (JSON lines, our own format), without
    applying anything: what `events ingest --format NAME` would apply. Members are found
    as the ingest finds them; notes (orders not paid yet, refunds of shipping only) and
    bad payloads go to stderr.

    Example: loyaltyctl events map --format shopify orders.jsonl
    """
    from loyaltyctl.domain.errors import BadLines
    from loyaltyctl.services.earning.mapping import map_events

    _check_format(format_name, member_key)
    out = Output(json_mode=json_)
    ctx = current()
    with input_file(file, ".jsonl") as path:
        result = ctx.read(
            lambda s: map_events(
                session=s, path=path, format_name=format_name, member_key=member_key
            )
        )
    result = _for_people(result, file)
    if json_:
        out.json(views.map_json(result))
    else:
        out.jsonl(result.documents)
        for line in views.ingest_notes(result):
            out.err.print(line, markup=False, highlight=False)
    if result.errors_total:
        raise BadLines(result.file, result.errors_total, result=result)


def _for_people(result, file: str):
    """The result as people read it: standard input named so, bad lines in the CLI's words."""
    from dataclasses import replace

    from loyaltyctl.cli._errors import line_message

    return replace(
        result,
        file="<stdin>" if file == "-" else file,
        errors=tuple(replace(e, message=line_message(e)) for e in result.errors),
    )


@rules_app.command("list")
def rules_list(all_: AllOpt = False, json_: opt.JsonOpt = False, csv_: opt.CsvOpt = False) -> None:
    """The earning rules in force: kind, what they earn, limits and tiers.

    Example: loyaltyctl rules list --json
    """
    from loyaltyctl.services.earning.rules import list_rules

    out = Output(json_mode=json_, csv_mode=csv_)
    rules = current().read(lambda s: list_rules(session=s, include_inactive=all_))
    out.listing(
        views.rule_rows(rules),
        views.RULE_COLUMNS,
        json_doc=[views.rule_json(r) for r in rules],
        title="Earning rules",
        empty="No earning rules yet: define [[earning_rule]] tables and run `loyaltyctl apply`.",
    )


@tiers_app.command("list")
def tiers_list(all_: AllOpt = False, json_: opt.JsonOpt = False, csv_: opt.CsvOpt = False) -> None:
    """The tiers in force, highest first: threshold, period, multiplier, overrides.

    Example: loyaltyctl tiers list
    """
    from loyaltyctl.services.earning.rules import list_tiers

    out = Output(json_mode=json_, csv_mode=csv_)
    tiers = current().read(lambda s: list_tiers(session=s, include_inactive=all_))
    out.listing(
        views.tier_rows(tiers),
        views.TIER_COLUMNS,
        json_doc=[views.tier_json(t) for t in tiers],
        title="Tiers",
        empty="No tiers yet: define [[tier]] tables and run `loyaltyctl apply`.",
    )
