"""`staff add | list | set-role | remove | cap` and `whoami` (spec §8)."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import staff as views
from loyaltyctl.domain import roles

app = typer.Typer(
    help="Staff and roles: owners, managers and administrators, and what each may run. "
    "Until the first `staff add` no role is checked.\n\n"
    "Example: loyaltyctl staff add bob --role administrator",
    no_args_is_help=True,
)

LoginArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="The login: a PostgreSQL role (the user of a connection URL), or an OS "
        "login on SQLite.",
        parser=opt._wrap(roles.validate_login),
    ),
]
ROLE_HELP = "owner, manager or administrator."


def _os_login() -> str:
    from loyaltyctl.config import os_login

    return os_login()


@app.command("add")
def add(
    name: LoginArg,
    role: Annotated[
        str, typer.Option("--role", help=ROLE_HELP, parser=opt._wrap(roles.validate_role))
    ],
    json_: opt.JsonOpt = False,
) -> None:
    """Put a login on the staff with a role (an owner's command).

    The first `staff add` turns the roles on: the login running it becomes an owner, and
    from then on every command checks its operator's role, and the operator recorded is
    the login. On PostgreSQL it also makes the login role (or adopts an existing one),
    puts it in the group role loyalty_<role>, lets it connect, and closes the database
    to everyone else; PostgreSQL then enforces each role's writes itself.

    Example: loyaltyctl staff add bob --role administrator
    """
    from loyaltyctl.services.staff_changes import add as add_staff

    out = Output(json_mode=json_)
    change = current().write(
        lambda s: add_staff(session=s, login=name, role=role, os_login=_os_login())
    )
    out.result(change, lambda: views.change_text(change))


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Also those removed.")] = False,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """The staff: login, role, since when and who added them.

    Example: loyaltyctl staff list --all
    """
    from loyaltyctl.services.staff import roster

    out = Output(json_mode=json_, csv_mode=csv_)
    members = current().read(lambda s: roster(session=s, include_removed=all_))
    rows = views.roster_rows(members)
    out.listing(
        rows,
        views.ROSTER_COLUMNS,
        title="Staff",
        json_doc=views.roster_document(rows),
        empty="No staff: no role is checked (the first `loyaltyctl staff add` turns them on).",
    )


@app.command("set-role")
def set_role(
    name: LoginArg,
    role: Annotated[
        str,
        typer.Argument(metavar="ROLE", help=ROLE_HELP, parser=opt._wrap(roles.validate_role)),
    ],
    json_: opt.JsonOpt = False,
) -> None:
    """Change a staff member's role (an owner's command; the last owner stays one).

    Example: loyaltyctl staff set-role bob manager
    """
    from loyaltyctl.services.staff_changes import set_role as change_role

    out = Output(json_mode=json_)
    change = current().write(
        lambda s: change_role(session=s, login=name, role=role, os_login=_os_login())
    )
    out.result(change, lambda: views.change_text(change))


@app.command("remove")
def remove(name: LoginArg, json_: opt.JsonOpt = False) -> None:
    """Take a login off the staff (an owner's command). What they did stays theirs in the
    ledger and the audit log; on PostgreSQL they can no longer connect to this database
    (a login `staff add` created is disabled).

    Example: loyaltyctl staff remove bob
    """
    from loyaltyctl.services.staff_changes import remove as remove_staff

    out = Output(json_mode=json_)
    change = current().write(lambda s: remove_staff(session=s, login=name, os_login=_os_login()))
    out.result(change, lambda: views.change_text(change))


@app.command("cap")
def cap(
    points: Annotated[
        int,
        typer.Argument(
            metavar="N",
            help="Points: the most one credit or write-off of an administrator may move "
            "(0 to 1,000,000,000; the default is 1,000).",
            parser=opt._wrap(roles.parse_cap),
        ),
    ],
    json_: opt.JsonOpt = False,
) -> None:
    """Set the administrator cap (an owner's command; stored in the database and audited,
    no config file or environment variable changes it).

    Example: loyaltyctl staff cap 2000
    """
    from loyaltyctl.services.staff_changes import set_cap

    out = Output(json_mode=json_)
    change = current().write(lambda s: set_cap(session=s, cap=points, os_login=_os_login()))
    out.result(change, lambda: views.cap_text(change))


def whoami(json_: opt.JsonOpt = False) -> None:
    """Who you are to this database: the operator recorded, the role, what it may run.

    Example: loyaltyctl whoami --json
    """
    from loyaltyctl.cli._permissions import may
    from loyaltyctl.domain.errors import NotPermitted
    from loyaltyctl.domain.roles import Identity

    out = Output(json_mode=json_)
    ctx = current()
    try:
        me = ctx.identity()
    except NotPermitted as refused:  # the server did not let the login in
        me = Identity(
            refused.data.get("operator") or ctx.settings.operator,
            None,
            enforced=True,
            backend="postgresql",
            connection_refused=refused.message,
        )
    allowed = may(me.role) if me.enforced else list(may(roles.OWNER))
    document = views.whoami_document(me, allowed, operator=ctx.operator)
    out.result(document, lambda: views.whoami_text(document))
