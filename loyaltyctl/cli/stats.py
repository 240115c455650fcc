"""`stats promo` (the rest of the statistics come with their own issue)."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli import _views as views
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output

app = typer.Typer(
    help="Statistics, as tables and charts, or --json / --csv.\n\n"
    "Example: loyaltyctl stats promo summer-2026",
    no_args_is_help=True,
)


@app.command("promo")
def promo(
    campaign: Annotated[
        str | None, typer.Argument(metavar="[CAMPAIGN]", help="One campaign (default: all).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Redemptions over time from this date.")
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Period of the series: day, week (by its Monday) or month.",
        ),
    ] = "day",
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Name the shared codes (needs the key file).")
    ] = False,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Codes issued, redemptions, redemption rate, points granted, shared codes against
    their inventory, and redemptions per day (program time zone) as a chart.

    Example: loyaltyctl stats promo summer-2026 --json
    """
    from loyaltyctl.services.stats import promo_stats

    out = Output(json_mode=json_, csv_mode=csv_)
    ctx = current()
    keys = ctx.keys() if reveal else None
    start = opt.when(since, option="--since", end_of_day=False)
    if by not in ("day", "week", "month"):
        from loyaltyctl.domain.errors import UsageProblem

        raise UsageProblem("--by must be day, week or month.")
    found = ctx.read(
        lambda s: promo_stats(session=s, campaign=campaign, keys=keys, since=start, by=by)
    )
    if json_:
        out.json(found[0] if campaign else {"campaigns": found})
        return
    if csv_:
        out.listing(views.promo_stats_rows(found), views.PROMO_STATS_COLUMNS)
        return
    out.result(found, lambda: views.promo_stats(out, found))
