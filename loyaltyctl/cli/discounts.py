"""`discount list | show | grant | revoke | grants`: discounts members hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output

app = typer.Typer(
    help="Discounts members hold: a percentage off that applies by itself at checkout, "
    "granted by purchases, subscriptions or by hand (defined in [[discount]] tables, "
    "loaded with `apply`).\n\n"
    "Example: loyaltyctl discount grant diamond-10 --member C-1001 --expires-in 30d",
    no_args_is_help=True,
)

SlugArg = Annotated[str, typer.Argument(metavar="SLUG", help="The discount's slug.")]


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Disabled discounts too.")] = False,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Discounts with their active grants and the members holding them; dormant ones
    (no scope or no trigger: they never apply) are marked.

    Example: loyaltyctl discount list --all
    """
    from loyaltyctl.cli.views import discounts as views
    from loyaltyctl.services.discounts.definitions import list_discounts

    out = Output(json_mode=json_, csv_mode=csv_)
    found = current().read(lambda s: list_discounts(session=s, include_disabled=all_))
    out.listing(
        [views.summary_row(item) for item in found],
        views.SUMMARY_COLUMNS,
        title="Discounts",
        json_doc=[item.as_json() for item in found],
        empty="No discounts. Define [[discount]] tables and load them with `loyaltyctl apply`.",
    )


@app.command("show")
def show(slug: SlugArg, json_: opt.JsonOpt = False) -> None:
    """A discount: percent, schedule, scopes, triggers, stacking, and who holds it now.

    Example: loyaltyctl discount show diamond-10
    """
    from loyaltyctl.cli.views import discounts as views
    from loyaltyctl.services.discounts.definitions import show_discount

    out = Output(json_mode=json_)
    detail = current().read(lambda s: show_discount(session=s, slug=slug))
    out.result(detail.as_json(), lambda: views.detail(detail))


@app.command("grant")
def grant(
    slug: SlugArg,
    member: Annotated[str, typer.Option("--member", help="The member's external id.")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="YYYY-MM-DD (end of that day, program time zone) or a timestamp."
        ),
    ] = None,
    expires_in: Annotated[
        timedelta | None,
        typer.Option("--expires-in", parser=opt.duration, help="e.g. 30d, 2w from now."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the grant).")] = None,
    key: opt.KeyOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Grant a discount to a member by hand, from now until --expires (else until revoked).

    Any discount may be granted by hand; its `admin` trigger only keeps a discount
    granted by hand alone from being dormant.

    Example: loyaltyctl discount grant diamond-10 --member C-1001 --expires-in 30d --note "VIP"
    """
    from loyaltyctl.cli.views import discounts as views
    from loyaltyctl.domain.errors import UsageProblem
    from loyaltyctl.services.discounts.grants import grant_discount

    out = Output(json_mode=json_)
    if expires and expires_in:
        raise UsageProblem("Give either --expires or --expires-in, not both.")
    until = opt.when(expires, option="--expires", end_of_day=True)
    ctx = current()
    record = ctx.write(
        lambda s: grant_discount(
            session=s,
            slug=slug,
            member=member,
            until=until,
            expires_in=expires_in,
            note=note,
            key=key,
            operator=ctx.operator,
        )
    )
    out.result(dict(record.as_json(), replayed=record.replayed), lambda: views.granted(record))


@app.command("revoke")
def revoke(
    slug: SlugArg,
    member: Annotated[str, typer.Option("--member", help="The member's external id.")],
    reason: opt.ReasonOpt,
    json_: opt.JsonOpt = False,
) -> None:
    """Revoke now every active grant of the discount the member holds (audited).

    Example: loyaltyctl discount revoke diamond-10 --member C-1001 --reason "Granted by mistake"
    """
    from loyaltyctl.services.discounts.grants import revoke_discount

    out = Output(json_mode=json_)
    ctx = current()
    result = ctx.write(
        lambda s: revoke_discount(
            session=s, slug=slug, member=member, reason=reason, operator=ctx.operator
        )
    )
    count = len(result.revoked)
    out.result(
        result.as_json(),
        lambda: (
            f"Revoked {count} grant{'s' if count != 1 else ''} of {slug} held by {result.member}."
        ),
    )


@app.command("grants")
def grants(
    slug: Annotated[
        str | None, typer.Argument(metavar="[SLUG]", help="Only this discount's.")
    ] = None,
    member: Annotated[str | None, typer.Option("--member", help="Only this member's.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Ended and revoked grants too (else active ones).")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many, newest first.")
    ] = 1000,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Grants: member, source, since, until, scheduled revoke, status (active, scheduled,
    ended, revoked); active and scheduled ones unless --all.

    Example: loyaltyctl discount grants diamond-10 --all --csv
    """
    from loyaltyctl.cli.views import discounts as views
    from loyaltyctl.services.discounts.grants import list_grants

    out = Output(json_mode=json_, csv_mode=csv_)
    found = current().read(
        lambda s: list_grants(session=s, slug=slug, member=member, include_all=all_, limit=limit)
    )
    out.listing(
        [views.grant_row(item) for item in found],
        views.GRANT_COLUMNS,
        title="Grants",
        json_doc=[item.as_json() for item in found],
        empty="No grants match." + ("" if all_ else " (--all shows ended and revoked ones.)"),
    )
