"""`loyaltyctl demo`: the first thing a new user runs."""

from __future__ import annotations

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli import _views as views
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Column, Output


def demo(json_: opt.JsonOpt = False) -> None:
    """Create the database if needed, import the sample members and points, credit and
    write off points, and print a summary. Safe to run again: nothing is applied twice.

    Example: loyaltyctl demo
    """
    from loyaltyctl import crypto
    from loyaltyctl.services.demo import run_demo
    from loyaltyctl.store import migrate

    out = Output(json_mode=json_)
    ctx = current()
    migrate.upgrade(ctx.database(check_schema=False))
    crypto.create(ctx.settings.keys_file, exist_ok=True)  # as `init` does
    result = ctx.write(lambda s: run_demo(session=s, operator=ctx.operator, tz=ctx.settings.tz))

    def render() -> list:
        s = result.summary
        return [
            f"Database: {ctx.database().safe_url()}",
            views.import_result(result.members, "member"),
            views.import_result(result.points, "points"),
            views.points_change(result.credit),
            views.points_change(result.write_off),
            out.table(
                s["top_balances"],
                [
                    Column("member", "Member"),
                    Column("name", "Name"),
                    Column("balance", "Balance", "right"),
                ],
                title=f"{s['members']:,} members · {s['balance']:,} points spendable · "
                f"{s['pending']:,} pending · {s['ledger_entries']:,} ledger entries",
            ),
            "Next: [bold]loyaltyctl member find 0321[/], [bold]loyaltyctl member show C-1001[/], "
            "[bold]loyaltyctl audit verify[/]",
        ]

    out.result(result, render)
