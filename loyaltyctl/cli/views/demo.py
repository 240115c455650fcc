"""What `demo` prints: every step's result, then the program's statistics."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, Output, jsonable
from loyaltyctl.cli.views.apply import apply_plan
from loyaltyctl.cli.views.claims import claim_panel
from loyaltyctl.cli.views.earning import ingest_summary
from loyaltyctl.cli.views.imports import import_result
from loyaltyctl.cli.views.points import points_change
from loyaltyctl.cli.views.promo import redemption
from loyaltyctl.cli.views.stats import claim_stats, overview

TOP_BALANCE_COLUMNS = [
    Column("member", "Member"),
    Column("name", "Name"),
    Column("balance", "Balance", "right"),
]

NEXT_STEPS = (
    "Next: [bold]loyaltyctl member find 0321[/], [bold]loyaltyctl member show C-1001[/], "
    "[bold]loyaltyctl perk list --member C-1002[/], [bold]loyaltyctl stats promo[/], "
    "[bold]loyaltyctl rules list[/], [bold]loyaltyctl points history C-1001[/], "
    "[bold]loyaltyctl audit verify[/]"
)


def demo_json(result) -> dict:
    return {
        **jsonable(result.steps),
        "generated": result.generated,
        "generated_redemption": result.generated_redemption,
        "events": result.events,
        "overview": result.overview,
        "claims_stats": result.claims_stats,
    }


def demo(out: Output, result) -> list:
    steps, s = result.steps, result.steps.summary
    generated = (
        [
            f"Generated {result.generated.count:,} codes into {result.generated.campaign} "
            f"(batch {result.generated.batch_id}); redeemed one of them:",
            *redemption(result.generated_redemption),
        ]
        if result.generated
        else []
    )
    return [
        f"Database: {result.database}",
        import_result(steps.members, "member"),
        import_result(steps.points, "points"),
        points_change(steps.credit),
        points_change(steps.write_off),
        *apply_plan(out, steps.program),
        *[part for claim in steps.claims for part in claim_panel(claim)],
        *[part for r in steps.redemptions for part in redemption(r)],
        *generated,
        *ingest_summary(result.events),
        out.table(
            s["top_balances"],
            TOP_BALANCE_COLUMNS,
            title=f"{s['members']:,} members · {s['balance']:,} points spendable · "
            f"{s['pending']:,} pending · {s['ledger_entries']:,} ledger entries",
        ),
        *overview(out, result.overview),
        *claim_stats(out, result.claims_stats),
        NEXT_STEPS,
    ]
