"""`member add | import | find | show | list | update | forget`."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._files import input_file
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import imports as import_views
from loyaltyctl.cli.views import members as views

app = typer.Typer(
    help=(
        "Members: add, import, find, show, list, update, forget.\n\n"
        "Example: loyaltyctl member find 0321"
    ),
    no_args_is_help=True,
)

NameOpt = Annotated[str | None, typer.Option("--name", parser=opt.name, help="Full name.")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", parser=opt.phone, help="Phone number.")]
EmailOpt = Annotated[str | None, typer.Option("--email", parser=opt.email, help="Email address.")]
BirthdayOpt = Annotated[
    str | None, typer.Option("--birthday", parser=opt.birthday, help="YYYY-MM-DD or MM-DD.")
]
PlanOpt = Annotated[str | None, typer.Option("--plan", parser=opt.label, help="Card plan.")]
TierOpt = Annotated[
    str | None,
    typer.Option(
        "--tier", parser=opt.label, help="Tier set by hand (stays until changed by hand)."
    ),
]


def _fields(name, phone, email, birthday, plan, tier):
    from loyaltyctl.services.members import MemberFields

    return MemberFields(
        name=name, phone=phone, email=email, birthday=birthday, plan=plan, tier=tier
    )


@app.command("add")
def add(
    external_id: opt.MemberArg,
    name: Annotated[str, typer.Option("--name", parser=opt.name, help="Full name (required).")],
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    birthday: BirthdayOpt = None,
    plan: PlanOpt = None,
    tier: TierOpt = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", parser=opt.label, help="A group (repeatable).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", parser=opt.label, help="A tag (repeatable).")
    ] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Add one member.

    Example: loyaltyctl member add C-1001 --name "Ada Lovelace" --phone "+44 20 7946 0321" --tag vip
    """
    from loyaltyctl.services.members import add_member

    out = Output(json_mode=json_)
    ctx = current()
    member = ctx.write(
        lambda s: add_member(
            session=s,
            external_id=external_id,
            fields=_fields(name, phone, email, birthday, plan, tier),
            groups=group or [],
            tags=tag or [],
            operator=ctx.operator,
        )
    )
    out.result(member, lambda: views.added(member))


@app.command("update")
def update(
    external_id: opt.MemberArg,
    name: NameOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    birthday: BirthdayOpt = None,
    plan: PlanOpt = None,
    tier: TierOpt = None,
    add_group: Annotated[list[str] | None, typer.Option("--add-group", parser=opt.label)] = None,
    remove_group: Annotated[
        list[str] | None, typer.Option("--remove-group", parser=opt.label)
    ] = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", parser=opt.label)] = None,
    remove_tag: Annotated[list[str] | None, typer.Option("--remove-tag", parser=opt.label)] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Change a member's profile, groups or tags.

    Example: loyaltyctl member update C-1001 --email ada@example.org --add-tag vip
    """
    from loyaltyctl.services.members import update_member

    out = Output(json_mode=json_)
    ctx = current()
    member, changed = ctx.write(
        lambda s: update_member(
            session=s,
            external_id=external_id,
            fields=_fields(name, phone, email, birthday, plan, tier),
            operator=ctx.operator,
            add_groups=add_group or [],
            remove_groups=remove_group or [],
            add_tags=add_tag or [],
            remove_tags=remove_tag or [],
        )
    )
    out.result({"member": member, "changed": changed}, lambda: views.updated(member, changed))


@app.command("import")
def import_(
    file: opt.CsvFileArg,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            metavar="NAME",
            help="Read a store's customer export: shopify or square (their own columns).",
        ),
    ] = None,
    ignore_unknown_columns: Annotated[
        bool,
        typer.Option("--ignore-unknown-columns", help="Skip columns the import does not know."),
    ] = False,
    dry_run: opt.DryRunOpt = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Add or update members from a CSV file, all or nothing.

    Columns: external_id,name,phone,email,birthday,tier,groups,tags (plan optional;
    groups and tags `;`-separated; balance and pending, as `member list --csv` writes
    them, are ignored). Empty cells leave stored values unchanged. --preset shopify or
    square reads those platforms' customer exports as they are.

    Example: loyaltyctl member import customers_export.csv --preset shopify --dry-run
    """
    from loyaltyctl.domain.stores.customers import PRESETS
    from loyaltyctl.services.imports import import_members

    if preset is not None and preset not in PRESETS:
        from loyaltyctl.domain.errors import Argument, UsageProblem

        raise UsageProblem(
            Argument("preset"), f" {preset!r} is not a preset; use one of {', '.join(PRESETS)}."
        )
    out = Output(json_mode=json_)
    ctx = current()
    source = input_file(file, ".csv")
    with source as path, out.progress(f"Importing {source.name}"):
        result = ctx.write(
            lambda s: import_members(
                session=s,
                path=path,
                operator=ctx.operator,
                dry_run=dry_run,
                name=source.name,
                preset=preset,
                ignore_unknown_columns=ignore_unknown_columns,
            ),
            dry_run=dry_run,
        )
    out.result(result, lambda: import_views.import_result(result, "member"))


@app.command("find")
def find(
    query: Annotated[
        str, typer.Argument(help="Last 4-6 phone digits, an email, or part of the name.")
    ],
    limit: opt.LimitOpt = 20,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Find members by the last digits of their phone, their email, or part of their name.

    Example: loyaltyctl member find 0321
    """
    from loyaltyctl.services.lookups import find_members

    out = Output(json_mode=json_, csv_mode=csv_)
    found = current().read(
        lambda s: find_members(session=s, query=query, limit=limit),
        raw=True,  # the driver alone: starts fast
    )
    out.listing(
        views.member_rows(found),
        views.MEMBER_COLUMNS,
        title=f"Members matching {query!r}",
        empty=f"No member matches {query!r}.",
    )


@app.command("show")
def show(external_id: opt.MemberArg, json_: opt.JsonOpt = False) -> None:
    """A member's profile, balance, pending and expiring points, recent entries and claims.

    Example: loyaltyctl member show C-1001
    """
    from loyaltyctl.services.members import show_member

    out = Output(json_mode=json_)
    ctx = current()
    profile = ctx.read(
        lambda s: show_member(
            session=s, external_id=external_id, soon_days=ctx.settings.expiring_soon_days
        )
    )
    out.result(profile, lambda: views.profile(out, profile))


@app.command("list")
def list_(
    tier: Annotated[str | None, typer.Option("--tier")] = None,
    tag: Annotated[str | None, typer.Option("--tag")] = None,
    group: Annotated[str | None, typer.Option("--group")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """List members, optionally of one tier, tag or group. The CSV (--csv) has the
    columns `member import` reads, and imports back unchanged.

    Example: loyaltyctl member list --tag vip --csv > vip.csv
    """
    from loyaltyctl.services.members import list_members

    out = Output(json_mode=json_, csv_mode=csv_)
    found = current().read(
        lambda s: list_members(session=s, tier=tier, tag=tag, group=group, limit=limit)
    )
    out.listing(
        views.member_rows(found),
        views.MEMBER_COLUMNS,
        title="Members",
        empty="No members.",
        csv_columns=views.MEMBER_CSV_COLUMNS,
    )


@app.command("forget")
def forget(external_id: opt.MemberArg, reason: opt.ReasonOpt, json_: opt.JsonOpt = False) -> None:
    """Erase a member's personal data (the right to erasure): name, phone, email,
    birthday and tags, also in the audit events that recorded them. Points, lots,
    claims, coupons and discounts stay with the member's id; `audit verify` (and
    --checkpoint with a checkpoint written before) still passes. Cannot be undone.

    Example: loyaltyctl member forget C-1001 --reason "erasure request 2026-12-04"
    """
    from loyaltyctl.services.forgetting import forget_member

    out = Output(json_mode=json_)
    ctx = current()
    result = ctx.write(
        lambda s: forget_member(
            session=s, external_id=external_id, reason=reason, operator=ctx.operator
        )
    )
    ctx.after_erasure()
    out.result(result, lambda: views.forgotten(result))
