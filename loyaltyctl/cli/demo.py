"""`loyaltyctl demo`: the first thing a new user runs."""

from __future__ import annotations

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli import _views as views
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Column, Output, jsonable


def demo(json_: opt.JsonOpt = False) -> None:
    """Create the database and key file if needed, apply the example program of perks,
    campaigns, earning rules and tiers (config/program), import the sample members and
    points, credit, write off, claim perks, redeem codes, ingest the sample events
    (fixtures/events.jsonl), and print a summary. Safe to run again: nothing is applied twice.

    Example: loyaltyctl demo
    """
    import os

    from loyaltyctl import crypto
    from loyaltyctl.cli._earning_views import ingest_summary
    from loyaltyctl.program.files import read_program_files
    from loyaltyctl.services.demo import (
        demo_statistics,
        program_path,
        run_demo,
        run_demo_codes,
        run_demo_events,
    )
    from loyaltyctl.store import migrate

    out = Output(json_mode=json_)
    ctx = current()
    migrate.upgrade(ctx.database(check_schema=False))
    keys, _ = crypto.create(ctx.settings.keys_file, exist_ok=True)  # as `init` does
    program = read_program_files([program_path()], env=dict(os.environ), tz=ctx.settings.tz)
    result = ctx.write(
        lambda s: run_demo(
            session=s, operator=ctx.operator, tz=ctx.settings.tz, program=program, keys=keys
        )
    )
    generated, redeemed = run_demo_codes(
        db=ctx.database(), keys=keys, operator=ctx.operator, tz=ctx.settings.tz
    )
    events = run_demo_events(db=ctx.database(), operator=ctx.operator, tz=ctx.settings.tz)
    program_stats = ctx.read(lambda s: demo_statistics(session=s, tz=ctx.settings.tz))

    def render() -> list:
        s = result.summary
        return [
            f"Database: {ctx.database().safe_url()}",
            views.import_result(result.members, "member"),
            views.import_result(result.points, "points"),
            views.points_change(result.credit),
            views.points_change(result.write_off),
            *views.apply_plan(out, result.program),
            *[part for claim in result.claims for part in views.claim_panel(claim)],
            *[part for r in result.redemptions for part in views.redemption(r)],
            *(
                [
                    f"Generated {generated.count:,} codes into {generated.campaign} "
                    f"(batch {generated.batch_id}); redeemed one of them:",
                    *views.redemption(redeemed),
                ]
                if generated
                else []
            ),
            *ingest_summary(events),
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
            *views.overview(out, program_stats[0]),
            *views.claim_stats(out, program_stats[1]),
            "Next: [bold]loyaltyctl member find 0321[/], [bold]loyaltyctl member show C-1001[/], "
            "[bold]loyaltyctl perk list --member C-1002[/], [bold]loyaltyctl stats promo[/], "
            "[bold]loyaltyctl rules list[/], [bold]loyaltyctl points history C-1001[/], "
            "[bold]loyaltyctl audit verify[/]",
        ]

    document = {
        **jsonable(result),
        "generated": generated,
        "generated_redemption": redeemed,
        "events": events,
        "overview": program_stats[0],
        "claims_stats": program_stats[1],
    }
    out.result(document, render)
