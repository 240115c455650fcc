"""What `demo` prints: where it works, every step's result, then the program's figures,
all read in one snapshot at the end."""

from __future__ import annotations

from dataclasses import dataclass

from loyaltyctl.cli._output import Column, Output, Whole, jsonable
from loyaltyctl.cli.views.apply import apply_plan
from loyaltyctl.cli.views.claims import claim_panel
from loyaltyctl.cli.views.coupons import applied
from loyaltyctl.cli.views.earning import ingest_summary
from loyaltyctl.cli.views.imports import import_result
from loyaltyctl.cli.views.points import points_change
from loyaltyctl.cli.views.promo import redemption
from loyaltyctl.cli.views.quote import quote as quote_view
from loyaltyctl.cli.views.quote import quote_json
from loyaltyctl.cli.views.stats import claim_stats, overview

TOP_BALANCE_COLUMNS = [
    Column("member", "Member"),
    Column("name", "Name"),
    Column("balance", "Balance", "right"),
]

NEXT_COMMANDS = (
    "loyaltyctl member find 0321",
    "loyaltyctl member show C-1001",
    "loyaltyctl perk list --member C-1002",
    "loyaltyctl stats promo",
    "loyaltyctl rules list",
    "loyaltyctl points history C-1001",
    "loyaltyctl audit verify",
)


@dataclass(frozen=True)
class DemoPlace:
    url: str  # the demo's database URL, without a password
    own_file: str | None  # demo.db: the demo's own file (None: --database-url chose)
    explore_url: str | None  # what LOYALTYCTL_DATABASE_URL must be to look around


def demo_json(result, where: DemoPlace) -> dict:
    return {
        "database": result.database,
        "demo_database_file": where.own_file,
        "keys_file": result.keys_file,
        "keys_created": result.keys_created,
        **{k: v for k, v in jsonable(result.steps).items()},
        "generated": result.generated,
        "generated_redemption": result.generated_redemption,
        "events": result.events,
        "summary": result.summary,
        "overview": result.overview,
        "claims_stats": result.claims_stats,
        "coupon_check": result.coupon_check.as_json() if result.coupon_check else None,
        "quote": quote_json(result.quote) if result.quote else None,
    }


def where_lines(result, where: DemoPlace) -> list[str]:
    from rich.markup import escape

    if where.own_file:
        head = [
            Whole(f"[bold]Demo database:[/] {escape(where.own_file)}"),
            "  its own file: your club's database is not touched. Remove it when done:",
            Whole(f"  rm {escape(where.own_file)}"),
        ]
    else:
        head = [Whole(f"[bold]Demo database:[/] {escape(where.url)} (from --database-url)")]
    keys = "created now" if result.keys_created else "already there, used as it is"
    return [
        *head,
        Whole(f"[bold]Key file:[/] {escape(result.keys_file)} ({keys})"),
        "  it encrypts stored codes and signs certificates. Back it up: without it,",
        "  the codes stored in this program's databases cannot be read.",
    ]


def next_steps(where: DemoPlace) -> list[str]:
    lines = ["[bold]Next[/], to look around the demo:"]
    if where.explore_url:
        lines.append(Whole(f"  export LOYALTYCTL_DATABASE_URL={where.explore_url}"))
    lines += [Whole(f"  {command}") for command in NEXT_COMMANDS]
    if where.explore_url:
        lines.append("  unset LOYALTYCTL_DATABASE_URL   # back to your club's database")
    return lines


def demo(out: Output, result, where: DemoPlace) -> list:
    steps, s = result.steps, result.summary
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
        *where_lines(result, where),
        *apply_plan(out, steps.program),
        import_result(steps.members, "member"),
        import_result(steps.points, "points"),
        points_change(steps.credit),
        points_change(steps.write_off),
        *[part for claim in steps.claims for part in claim_panel(claim)],
        *[part for r in steps.redemptions for part in redemption(r)],
        *[part for claim in steps.coupons for part in claim_panel(claim)],
        *(
            [
                "[bold]The convert coupon checked against fixtures/cart.json[/] "
                "(`loyaltyctl coupon check CODE --cart cart.json`):",
                *applied(result.coupon_check),
            ]
            if result.coupon_check
            else []
        ),
        *generated,
        *ingest_summary(result.events),
        *(
            [
                f"[bold]{result.quote.member}'s discounts on fixtures/cart.json[/] "
                f"(`loyaltyctl quote --member {result.quote.member} --cart cart.json`):",
                *quote_view(result.quote),
            ]
            if result.quote
            else []
        ),
        "[bold]The program now[/] (every figure below read at the same moment):",
        out.table(
            s["top_balances"],
            TOP_BALANCE_COLUMNS,
            title=f"{s['members']:,} members · {s['balance']:,} points spendable · "
            f"{s['pending']:,} pending · {s['ledger_entries']:,} ledger entries",
        ),
        *overview(out, result.overview),
        *claim_stats(out, result.claims_stats),
        *next_steps(where),
    ]
