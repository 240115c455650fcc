"""`apply` and `perk list | show | enable | disable | export | claim | claims`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import apply as plan_views
from loyaltyctl.cli.views import claims as claim_views
from loyaltyctl.cli.views import perks as views

app = typer.Typer(
    help="Perks: rewards members claim with points, defined in TOML files (see `apply`).\n\n"
    "Example: loyaltyctl perk claim free-coffee --member C-1001",
    no_args_is_help=True,
)

SlugArg = Annotated[str, typer.Argument(metavar="SLUG", help="The perk's slug.")]


def apply(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...", help="TOML files or folders (read recursively), or - for stdin."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show the plan; change nothing.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Disable perks and pause campaigns that are not in the files (never delete).",
        ),
    ] = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Validate perk and campaign files, show the plan, and apply it all in one transaction.

    Every problem in every file is listed as file:line:col and nothing is applied.
    Re-applying the same files changes nothing. A secret left out of a file (as
    `perk export` writes it) keeps the stored one.

    Example: loyaltyctl apply config/program --dry-run
    """
    from contextlib import ExitStack

    from loyaltyctl.cli._files import input_file
    from loyaltyctl.services.apply import apply_files

    out = Output(json_mode=json_)
    ctx = current()
    with ExitStack() as files:
        given = [files.enter_context(input_file(p, ".toml")) if str(p) == "-" else p for p in paths]
        result = _apply_files(ctx, apply_files, given, prune, dry_run)
    from rich.markup import escape

    for warning in result.warnings:  # stderr, before the plan
        out.warn(escape(warning))
    out.result(plan_views.apply_json(result), lambda: plan_views.apply_plan(out, result))


def _apply_files(ctx, apply_files, paths, prune: bool, dry_run: bool):
    import os

    return apply_files(
        database=ctx.database(),
        paths=list(paths),
        env=dict(os.environ),
        tz=ctx.settings.tz,
        keys=ctx.keys,
        operator=ctx.operator,
        prune=prune,
        dry_run=dry_run,
    )


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include disabled perks.")] = False,
    member: Annotated[
        str | None,
        typer.Option("--member", help="What this member can claim now and, for the rest, why not."),
    ] = None,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """List perks (active ones unless --all).

    Example: loyaltyctl perk list --member C-1001
    """
    from loyaltyctl.services.perks import list_perks, perks_for_member

    out = Output(json_mode=json_, csv_mode=csv_)
    ctx = current()
    if member is None:
        perks = ctx.read(lambda s: list_perks(session=s, include_inactive=all_))
        out.listing(
            views.perk_rows(perks),
            views.PERK_COLUMNS,
            json_doc=perks,
            title="Perks",
            empty="No perks yet: define them in TOML and run `loyaltyctl apply`.",
        )
        return
    choices = ctx.read(lambda s: perks_for_member(session=s, member=member, include_inactive=all_))
    out.listing(
        views.eligibility_rows(choices),
        views.ELIGIBILITY_COLUMNS,
        json_doc=views.eligibility_json(choices),
        title=f"Perks for {member}",
        empty="No perks yet.",
    )


@app.command("show")
def show(slug: SlugArg, json_: opt.JsonOpt = False) -> None:
    """A perk's details: supply left, claims, members, audience, redemption (never the secret).

    Example: loyaltyctl perk show free-coffee
    """
    from loyaltyctl.services.perks import show_perk

    out = Output(json_mode=json_)
    perk = current().read(lambda s: show_perk(session=s, slug=slug))
    out.result(perk, lambda: views.perk_panel(perk))


def _toggle(slug: str, active: bool, reason: str | None, json_: bool) -> None:
    from loyaltyctl.services.perks import set_perk_active

    out = Output(json_mode=json_)
    ctx = current()
    perk, changed = ctx.write(
        lambda s: set_perk_active(
            session=s, slug=slug, active=active, operator=ctx.operator, reason=reason
        )
    )
    out.result(
        {"slug": perk.slug, "active": perk.active, "changed": changed},
        lambda: views.toggled(perk.slug, active, changed),
    )


@app.command("enable")
def enable(slug: SlugArg, reason: opt.OptionalReasonOpt = None, json_: opt.JsonOpt = False) -> None:
    """Make a perk claimable again without editing its file.

    Example: loyaltyctl perk enable free-coffee
    """
    _toggle(slug, True, reason, json_)


@app.command("disable")
def disable(
    slug: SlugArg, reason: opt.OptionalReasonOpt = None, json_: opt.JsonOpt = False
) -> None:
    """Stop claims of a perk without editing its file (its claims stay).

    Example: loyaltyctl perk disable free-coffee --reason "Coffee machine broken"
    """
    _toggle(slug, False, reason, json_)


@app.command("export")
def export(
    slugs: Annotated[
        list[str] | None, typer.Argument(metavar="SLUG", help="Only these perks.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    reveal_secrets: Annotated[
        bool,
        typer.Option(
            "--reveal-secrets",
            help="Include redemption values and webhook secrets in clear (file mode 0600).",
        ),
    ] = False,
) -> None:
    """Write perks as TOML that `apply` takes back unchanged.

    Secrets are left out unless --reveal-secrets; a file without them keeps the
    stored ones when applied.

    Example: loyaltyctl perk export --out perks.toml
    """
    from loyaltyctl.services.perks import export_document

    out = Output()
    ctx = current()
    document = ctx.read(
        lambda s: export_document(
            session=s, slugs=list(slugs or []), reveal_secrets=reveal_secrets, keys=ctx.keys
        )
    )
    out.toml(document, out_file, secret=reveal_secrets)


@app.command("claim")
def claim(
    slug: SlugArg,
    member: Annotated[str, typer.Option("--member", help="The member's external id.")],
    points: Annotated[
        int | None,
        typer.Option(
            "--points",
            metavar="N",
            help="Convert coupons only (required there): the points to convert.",
        ),
    ] = None,
    key: opt.KeyOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Claim a perk for a member: debit the points, reveal the redemption, sign a certificate.

    The member pays their tier's price when the perk has tier_prices. A coupon perk
    issues a unique coupon code, shown once here (again with `claim show ID --reveal`);
    a convert coupon debits the --points chosen and is worth them at its rate.

    Refused (exit 1, nothing changed) when the perk is disabled, outside its window,
    sold out, the member is outside its audience, reached the per-member limit or
    has too few points, or --points is outside the coupon's bounds.

    Example: loyaltyctl perk claim free-coffee --member C-1001 --key web-order-5531

    Example: loyaltyctl perk claim convert-points --member C-1001 --points 250
    """
    from loyaltyctl.services.claims import claim_perk

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    result = ctx.write(
        lambda s: claim_perk(
            session=s,
            keys=keys,
            perk_slug=slug,
            member=member,
            operator=ctx.operator,
            key=key,
            points=points,
            tz=ctx.settings.tz,
        ),
        raw=True,  # the driver's alone: no SQLAlchemy to import
    )
    out.result(result, lambda: claim_views.claim_panel(result))


@app.command("claims")
def claims(
    slug: SlugArg,
    since: Annotated[
        str | None, typer.Option("--since", help="Only claims from this date or timestamp.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many claims, newest first.")
    ] = 100,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Who claimed a perk, when, for how many points, and the claim's status.

    Example: loyaltyctl perk claims free-coffee --since 2026-11-01 --csv
    """
    from loyaltyctl.services.claim_records import perk_claims

    out = Output(json_mode=json_, csv_mode=csv_)
    start = opt.when(since, option="--since", end_of_day=False)
    records = current().read(lambda s: perk_claims(session=s, slug=slug, since=start, limit=limit))
    out.listing(
        claim_views.claim_rows(records),
        claim_views.CLAIM_COLUMNS,
        title=f"Claims of {slug}",
        empty=f"No claims of {slug}.",
    )
