"""`points credit | write-off | import | balance | history`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._files import input_file
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import imports as import_views
from loyaltyctl.cli.views import points as views

app = typer.Typer(
    help="Points: credit, write off, import, balance, history.\n\n"
    'Example: loyaltyctl points credit C-1001 500 --reason "Tournament win"',
    no_args_is_help=True,
)


def _change(member: str, amount: int, reason: str, key, **expiry):
    from loyaltyctl.services.ledger import change_points

    ctx = current()
    return ctx.write(
        lambda s: change_points(
            session=s,
            member=member,
            amount=amount,
            reason=reason,
            operator=ctx.operator,
            key=key,
            **expiry,
        )
    )


@app.command("credit")
def credit(
    member: opt.MemberArg,
    amount: opt.AmountArg,
    reason: opt.ReasonOpt,
    key: opt.KeyOpt = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="YYYY-MM-DD (end of that day, program time zone) or a timestamp."
        ),
    ] = None,
    expires_in: Annotated[
        timedelta | None,
        typer.Option("--expires-in", parser=opt.duration, help="e.g. 90d, 2w, 12h from now."),
    ] = None,
    pending_until: Annotated[
        str | None,
        typer.Option(
            "--pending-until", help="Hold the points as pending until the end of this day."
        ),
    ] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Credit points to a member.

    Example: loyaltyctl points credit C-1001 500 --reason "Tournament win" --expires-in 90d
    """
    from loyaltyctl.domain.errors import UsageProblem
    from loyaltyctl.domain.values import expiry_problem, utcnow

    out = Output(json_mode=json_)
    if expires and expires_in:
        raise UsageProblem("Give either --expires or --expires-in, not both.")
    expires_at = opt.when(expires, option="--expires", end_of_day=True)
    held_until = opt.when(pending_until, option="--pending-until", end_of_day=True)
    now = utcnow()
    problem = expiry_problem(
        expires_at or (now + expires_in if expires_in else None), held_until, now
    )
    if problem:
        raise UsageProblem(f"--expires: {problem}.")
    change = _change(
        member,
        amount,
        reason,
        key,
        expires_at=expires_at,
        expires_in=expires_in,
        pending_until=held_until,
    )
    out.result(change, lambda: views.points_change(change))


@app.command("write-off")
def write_off(
    member: opt.MemberArg,
    amount: opt.AmountArg,
    reason: opt.ReasonOpt,
    key: opt.KeyOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Remove points from a member (refused if the balance would go below zero).

    Example: loyaltyctl points write-off C-1001 200 --reason "Credited by mistake"
    """
    out = Output(json_mode=json_)
    change = _change(member, -amount, reason, key)
    out.result(change, lambda: views.points_change(change))


@app.command("import")
def import_(
    file: opt.CsvFileArg, dry_run: opt.DryRunOpt = False, json_: opt.JsonOpt = False
) -> None:
    """Credit and write off points in bulk from a CSV file, all or nothing.

    Columns: member,amount,reason[,key][,expires_at][,pending_until]; a negative amount
    is a write-off. Without a key column each row's key is derived from its content, so
    running the same file again is safe.

    Example: loyaltyctl points import credits.csv --dry-run
    """
    from loyaltyctl.services.imports import import_points

    out = Output(json_mode=json_)
    ctx = current()
    source = input_file(file, ".csv")
    with (
        source as path,
        out.progress(f"Importing {source.name}", lines_of=path, header=1) as advance,
    ):
        result = ctx.write(
            lambda s: import_points(
                session=s,
                path=path,
                operator=ctx.operator,
                tz=ctx.settings.tz,
                dry_run=dry_run,
                progress=advance,
                name=source.name,
            ),
            dry_run=dry_run,
            raw=True,  # on the driver alone: no SQLAlchemy in the process (its memory)
        )
    out.result(result, lambda: import_views.import_result(result, "points"))


@app.command("balance")
def balance(member: opt.MemberArg, json_: opt.JsonOpt = False) -> None:
    """A member's balance, pending points and points expiring soon.

    Example: loyaltyctl points balance C-1001 --json
    """
    from loyaltyctl.services.lookups import balance as get_balance

    out = Output(json_mode=json_)
    ctx = current()
    result = ctx.read(
        lambda s: get_balance(session=s, member=member, soon_days=ctx.settings.expiring_soon_days),
        raw=True,  # the driver alone: the counter's most asked question starts fast
    )
    out.result(result, lambda: views.balance_panel(result))


@app.command("history")
def history(
    member: opt.MemberArg,
    limit: opt.LimitOpt = 50,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """A member's ledger entries, newest first.

    Example: loyaltyctl points history C-1001 --limit 20
    """
    from loyaltyctl.services.ledger import history as get_history

    out = Output(json_mode=json_, csv_mode=csv_)
    entries = current().read(lambda s: get_history(session=s, member=member, limit=limit))
    out.listing(
        views.entry_rows(entries),
        views.ENTRY_COLUMNS,
        title=f"Ledger of {member}",
        json_doc={"member": member, "entries": entries},
        empty=f"{member} has no ledger entries yet.",
        csv_columns=views.entry_fields(),  # the JSON's fields, in its order
    )
