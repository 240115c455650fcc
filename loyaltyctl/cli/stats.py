"""`stats overview | claims | members | promo`: tables and charts, --json, --csv."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output, jsonable
from loyaltyctl.cli.views import stats as views

app = typer.Typer(
    help="Statistics, as tables and charts, or --json / --csv.\n\n"
    "Example: loyaltyctl stats claims --by week",
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
    period = _period(by)
    found = ctx.read(
        lambda s: promo_stats(session=s, campaign=campaign, keys=keys, since=start, by=period)
    )
    source = _read_from(out)
    if json_:
        out.json(_document(views.promo_stats_json(found, campaign), source))
        return
    if csv_:
        out.listing(views.promo_stats_rows(found), views.PROMO_STATS_COLUMNS)
        return
    out.result(found, lambda: views.promo_stats(out, found))


ByOpt = Annotated[
    str, typer.Option("--by", help="Period of the chart: day, week (by its Monday) or month.")
]


def _read_from(out: Output):
    """Which database the figures came from (JSON ``read_from``); figures read from a
    replica that lags say so on stderr (the document stays one)."""
    from loyaltyctl.services.replication import LAG_WORTH_SAYING

    source = current().read_source()
    lag = source.lag_seconds
    if lag is not None and lag > LAG_WORTH_SAYING:
        out.warn(
            f"the read replica is {lag:,.0f} s behind the primary, so these figures may miss "
            f"the last {lag:,.0f} s of changes; run with --read-url '' to read the primary."
        )
    return source


def _document(data, source) -> dict:
    """A statistics document with where it was read (``read_from``)."""
    return {**jsonable(data), "read_from": source}


def _period(by: str) -> str:
    if by not in ("day", "week", "month"):
        from loyaltyctl.domain.errors import UsageProblem

        raise UsageProblem("--by must be day, week or month.")
    return by


@app.command("overview")
def overview(json_: opt.JsonOpt = False, csv_: opt.CsvOpt = False) -> None:
    """Members, points issued / spent / written off / reversed / expired / pending /
    outstanding, points expiring in 30 days, perks, top perks, campaign redemptions.

    "Outstanding" (the program's liability) is issued − spent − written off − reversed −
    expired, which equals all balances plus pending points.

    Example: loyaltyctl stats overview --json
    """
    from loyaltyctl.services.stats import overview as program_overview

    out = Output(json_mode=json_, csv_mode=csv_)
    found = current().read(lambda s: program_overview(session=s))
    source = _read_from(out)
    if csv_:
        out.listing(views.overview_rows(found), views.FIGURE_COLUMNS)
        return
    out.result(_document(found, source), lambda: views.overview(out, found))


@app.command("claims")
def claims(
    perk: Annotated[str | None, typer.Option("--perk", help="One perk only.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until this date (its end).")] = None,
    by: ByOpt = "day",
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Per perk: claims, unique members, points spent, supply left, last claim; and a
    chart of claims per day, week or month (program time zone; empty periods as 0).
    Cancelled claims do not count.

    Example: loyaltyctl stats claims --since 2026-10-01 --by week
    """
    from loyaltyctl.services.stats import claim_stats

    out = Output(json_mode=json_, csv_mode=csv_)
    ctx = current()
    start = opt.when(since, option="--since", end_of_day=False)
    end = opt.when(until, option="--until", end_of_day=True)
    period = _period(by)
    found = ctx.read(
        lambda s: claim_stats(
            session=s, tz=ctx.settings.tz, perk=perk, since=start, until=end, by=period
        )
    )
    source = _read_from(out)
    if csv_:
        out.listing(views.claim_stat_rows(found), views.CLAIM_STAT_COLUMNS)
        return
    out.result(_document(found, source), lambda: views.claim_stats(out, found))


@app.command("members")
def members(
    top: Annotated[int, typer.Option("--top", min=1, help="How many members per list.")] = 10,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Biggest balances, most active members (ledger entries), tier distribution.

    Example: loyaltyctl stats members --top 5
    """
    from loyaltyctl.services.stats import member_stats

    out = Output(json_mode=json_, csv_mode=csv_)
    found = current().read(lambda s: member_stats(session=s, top=top))
    source = _read_from(out)
    if csv_:
        out.listing(views.member_stat_rows(found), views.MEMBER_STAT_COLUMNS)
        return
    out.result(_document(found, source), lambda: views.member_stats(out, found))


@app.command("discounts")
def discounts(
    slug: Annotated[str | None, typer.Argument(metavar="[SLUG]", help="One discount only.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Uses from this date.")] = None,
    by: ByOpt = "day",
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Per discount: active grants, members holding it, members who used it, uses (from
    the `discounts` of order.paid events); and a chart of uses per day, week or month
    (program time zone; empty periods as 0).

    Example: loyaltyctl stats discounts diamond-10 --since 2026-10-01 --by week
    """
    from loyaltyctl.services.discounts.figures import discount_stats

    out = Output(json_mode=json_, csv_mode=csv_)
    ctx = current()
    start = opt.when(since, option="--since", end_of_day=False)
    period = _period(by)
    found = ctx.read(
        lambda s: discount_stats(session=s, tz=ctx.settings.tz, slug=slug, since=start, by=period)
    )
    source = _read_from(out)
    if csv_:
        out.listing(views.discount_stat_rows(found), views.DISCOUNT_STAT_COLUMNS)
        return
    out.result(_document(found, source), lambda: views.discount_stats(out, found))
