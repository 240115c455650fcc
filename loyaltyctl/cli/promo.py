"""`promo create | redeem | list | show | pause | resume | archive | restock`
(and `generate`, `export` from cli/promo_codes.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli import promo_codes
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import promo as views

app = typer.Typer(
    help="Campaigns and promo codes: shared codes with an inventory, generated batches, "
    "redemption for bonus points and prize perks.\n\n"
    "Example: loyaltyctl promo redeem SUMMER50 --member C-1001",
    no_args_is_help=True,
)

CampaignArg = Annotated[str, typer.Argument(metavar="CAMPAIGN", help="The campaign's slug.")]
Count = Annotated[int | None, typer.Option(min=1)]


@app.command("create")
def create(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The new campaign's slug.")],
    name: Annotated[str, typer.Option("--name", help="The campaign's name.")],
    points: Annotated[
        int, typer.Option("--points", min=0, help="Bonus points per redemption.")
    ] = 0,
    perks: Annotated[
        list[str] | None,
        typer.Option("--perk", help="A prize perk granted free per redemption (repeatable)."),
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="A shared code.")] = None,
    inventory: Annotated[
        int | None,
        typer.Option("--inventory", min=1, help="Redemptions of --code (default unlimited)."),
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="Date or timestamp.")
    ] = None,
    valid_until: Annotated[
        str | None, typer.Option("--valid-until", help="Date (end of that day) or timestamp.")
    ] = None,
    per_member: Annotated[
        int | None, typer.Option("--per-member", min=1, help="Redemptions per member in total.")
    ] = None,
    per_member_daily: Annotated[
        int | None,
        typer.Option("--per-member-daily", min=1, help="Redemptions per member per day."),
    ] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Create a campaign at the terminal (the same as a [[campaign]] in a file); it starts active.

    Example: loyaltyctl promo create summer --name Summer --points 100 --code SUMMER50
    """
    from loyaltyctl.domain.errors import UsageProblem
    from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec
    from loyaltyctl.services.promo import create_campaign

    out = Output(json_mode=json_)
    ctx = current()
    if inventory is not None and code is None:
        raise UsageProblem("--inventory needs --code.")
    start = opt.when(valid_from, option="--valid-from", end_of_day=False)
    end = opt.when(valid_until, option="--valid-until", end_of_day=True)
    if start and end and start >= end:
        raise UsageProblem("--valid-until must be after --valid-from.")
    spec = CampaignSpec(
        slug=slug,
        name=name,
        valid_from=start,
        valid_until=end,
        points=points,
        perks=tuple(dict.fromkeys(perks or ())),
        per_member=per_member,
        per_member_daily=per_member_daily,
        codes=(SharedCodeSpec(code, inventory),) if code else (),
        source="promo create",
    )
    change = ctx.write(
        lambda s: create_campaign(session=s, spec=spec, keys=ctx.keys, operator=ctx.operator)
    )
    out.result(
        {"campaign": change.slug, "action": change.action, "fields": list(change.fields)},
        lambda: views.created(slug, code),
    )


@app.command("redeem")
def redeem(
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="The code (case, spaces, dashes ignored).")
    ],
    member: Annotated[str, typer.Option("--member", help="The member's external id.")],
    key: opt.KeyOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Redeem a promo code: credit the bonus points and claim the prize perks free of charge.

    Refused (exit 1, nothing changed) when the code is unknown or used up, the campaign
    is paused, archived or outside its window, the member is outside its audience or
    reached its total or daily limit (the day is the program time zone's), or a prize
    perk is disabled or sold out.

    Example: loyaltyctl promo redeem summer-50 --member C-1001 --key web-7731
    """
    from loyaltyctl.services.promo import redeem as redeem_code

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    result = ctx.write(
        lambda s: redeem_code(
            session=s,
            keys=keys,
            code=code,
            member=member,
            operator=ctx.operator,
            tz=ctx.settings.tz,
            key=key,
        )
    )
    out.result(result, lambda: views.redemption(result))


@app.command("list")
def list_(json_: opt.JsonOpt = False, csv_: opt.CsvOpt = False) -> None:
    """Campaigns with status, validity, codes issued and redemptions.

    Example: loyaltyctl promo list --csv
    """
    from loyaltyctl.services.promo import list_campaigns

    out = Output(json_mode=json_, csv_mode=csv_)
    campaigns = current().read(lambda s: list_campaigns(session=s))
    out.listing(
        views.campaign_rows(campaigns),
        views.CAMPAIGN_COLUMNS,
        json_doc=campaigns,
        title="Campaigns",
        empty="No campaigns yet: define them in TOML and `apply` them, or `promo create`.",
    )


@app.command("show")
def show(
    campaign: CampaignArg,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show the shared codes (needs the key file).")
    ] = False,
    json_: opt.JsonOpt = False,
) -> None:
    """A campaign: status, window, what a redemption grants, limits, codes and redemptions.

    Example: loyaltyctl promo show summer-2026 --reveal
    """
    from loyaltyctl.services.promo import show_campaign

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys() if reveal else None
    found = ctx.read(lambda s: show_campaign(session=s, slug=campaign, keys=keys))
    out.result(found, lambda: views.campaign_panel(found))


def _status(campaign: str, status: str, reason: str | None, json_: bool) -> None:
    from loyaltyctl.services.promo import set_campaign_status

    out = Output(json_mode=json_)
    ctx = current()
    found, changed = ctx.write(
        lambda s: set_campaign_status(
            session=s, slug=campaign, status=status, operator=ctx.operator, reason=reason
        )
    )
    out.result(
        {"campaign": found.slug, "status": found.status, "changed": changed},
        lambda: views.status_changed(found, changed),
    )


@app.command("pause")
def pause(
    campaign: CampaignArg, reason: opt.OptionalReasonOpt = None, json_: opt.JsonOpt = False
) -> None:
    """Pause a campaign: its codes are refused until it is resumed.

    Example: loyaltyctl promo pause summer-2026 --reason "Flyer misprint"
    """
    _status(campaign, "paused", reason, json_)


@app.command("resume")
def resume(
    campaign: CampaignArg, reason: opt.OptionalReasonOpt = None, json_: opt.JsonOpt = False
) -> None:
    """Resume a paused campaign (an archived one cannot be resumed).

    Example: loyaltyctl promo resume summer-2026
    """
    _status(campaign, "active", reason, json_)


@app.command("archive")
def archive(
    campaign: CampaignArg, reason: opt.OptionalReasonOpt = None, json_: opt.JsonOpt = False
) -> None:
    """Archive a campaign for good: its codes are refused and it cannot be resumed.

    Example: loyaltyctl promo archive summer-2025
    """
    _status(campaign, "archived", reason, json_)


@app.command("restock")
def restock(
    campaign: CampaignArg,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The shared code.")],
    add: Annotated[int, typer.Option("--add", min=1, help="How many redemptions to add.")],
    json_: opt.JsonOpt = False,
) -> None:
    """Raise a shared code's inventory (inventory only grows).

    Example: loyaltyctl promo restock summer-2026 SUMMER50 --add 200
    """
    from loyaltyctl.services.promo import restock as restock_code

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    result = ctx.write(
        lambda s: restock_code(
            session=s, keys=keys, slug=campaign, code=code, add=add, operator=ctx.operator
        )
    )
    out.result(result, lambda: views.restocked(result, campaign))


app.command("generate")(promo_codes.generate)
app.command("export")(promo_codes.export)
