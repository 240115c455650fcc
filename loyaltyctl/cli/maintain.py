"""`maintain run`: the cron job."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output

app = typer.Typer(
    help="Maintenance for cron: expire and mature points.\n\nExample: loyaltyctl maintain run",
    no_args_is_help=True,
)


def _summary(result) -> str:
    if result.skipped:
        return "Another `maintain run` is working; skipped."
    if not result.changed:
        return ""
    verb = "would mature" if result.dry_run else "matured"
    verb2 = "would expire" if result.dry_run else "expired"
    return (
        f"maintain: {verb} {result.matured_points:,} points in {result.matured_lots:,} lots, "
        f"{verb2} {result.expired_points:,} points in {result.expired_lots:,} lots."
    )


@app.command("run")
def run(
    now: Annotated[
        str | None,
        typer.Option("--now", help="Act as if it were this time (tests and back-fills)."),
    ] = None,
    dry_run: opt.DryRunOpt = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Expire due points and mature pending ones. Safe every minute from cron:
    idempotent, never two at once, quiet when nothing is due.

    Example: */5 * * * * loyaltyctl maintain run
    """
    from loyaltyctl.domain.values import utcnow
    from loyaltyctl.services.maintenance import maintain

    out = Output(json_mode=json_)
    ctx = current()
    moment = opt.when(now, option="--now", end_of_day=False) or utcnow()
    result = maintain(db=ctx.database(), now=moment, operator=ctx.operator, dry_run=dry_run)
    if json_:
        out.result(result)
        return
    text = _summary(result)
    if text:
        out.console.print(text)
