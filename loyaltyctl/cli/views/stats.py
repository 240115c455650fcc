"""Statistics: tables, CSV rows and charts for `stats`."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, Output
from loyaltyctl.cli.views.charts import bar_chart
from loyaltyctl.cli.views.common import fields
from loyaltyctl.cli.views.perks import supply_left

PROMO_STATS_COLUMNS = [
    Column("campaign", "Campaign"),
    Column("status", "Status"),
    Column("codes_issued", "Codes", "right"),
    Column("redemptions", "Redeemed", "right"),
    Column(
        "redemption_rate",
        "Rate",
        "right",
        fmt=lambda v: "—" if v is None else f"{v:.1%}",
    ),
    Column("points_granted", "Points", "right"),
]


def promo_stats_json(found, campaign: str | None):
    """One campaign's document when one was asked for, else all of them."""
    return found[0] if campaign else {"campaigns": found}


def promo_stats_rows(found) -> list[dict]:
    return [
        {
            k: getattr(s, k)
            for k in (
                "campaign",
                "status",
                "codes_issued",
                "redemptions",
                "redemption_rate",
                "points_granted",
            )
        }
        for s in found
    ]


def promo_stats(out: Output, found) -> list:
    parts: list = [out.table(promo_stats_rows(found), PROMO_STATS_COLUMNS, title="Campaigns")]
    for s in found:
        if s.codes:
            parts.append(
                out.table(
                    [
                        {
                            "code": c.code or "(hidden: --reveal)",
                            "inventory": "unlimited" if c.inventory is None else c.inventory,
                            "used": c.used,
                        }
                        for c in s.codes
                    ],
                    [
                        Column("code", "Shared code"),
                        Column("used", "Used", "right"),
                        Column("inventory", "Inventory", "right"),
                    ],
                    title=f"{s.campaign}: shared codes",
                )
            )
        if s.series:
            parts.append(f"[bold]{s.campaign}: redemptions per day[/]")
            parts.append(bar_chart([(p.period, p.redemptions) for p in s.series]))
    return parts


FIGURE_COLUMNS = [Column("figure", "Figure"), Column("value", "Value", "right")]


def overview_rows(found) -> list[dict]:
    p = found.points
    return [
        {"figure": name, "value": value}
        for name, value in (
            ("members", found.members),
            ("active_members", found.active_members),
            ("points_issued", p.issued),
            ("points_spent", p.spent),
            ("points_written_off", p.written_off),
            ("points_reversed", p.reversed),
            ("points_expired", p.expired),
            ("points_pending", p.pending),
            ("points_outstanding", p.outstanding),
            ("points_expiring_30_days", p.expiring_soon),
            ("perks_active", found.perks["active"]),
            ("perks_sold_out", found.perks["sold_out"]),
            ("campaigns_active", found.campaigns["active"]),
            ("campaign_redemptions", found.campaigns["redemptions"]),
            ("coupons_issued", found.coupons["issued"]),
            ("coupons_used", found.coupons["used"]),
            ("coupons_expired", found.coupons["expired"]),
        )
    ]


def overview(out: Output, found) -> list:
    rows = [
        {"figure": r["figure"].replace("_", " ").capitalize(), "value": r["value"]}
        for r in overview_rows(found)
    ]
    parts: list = [out.table(rows, FIGURE_COLUMNS, title="Program overview")]
    if found.top_perks:
        parts.append(
            out.table(
                [{"slug": t.slug, "name": t.name, "claims": t.claims} for t in found.top_perks],
                [
                    Column("slug", "Perk"),
                    Column("name", "Name"),
                    Column("claims", "Claims", "right"),
                ],
                title="Top perks",
            )
        )
        parts.append(bar_chart([(t.slug, t.claims) for t in found.top_perks]))
    return parts


CLAIM_STAT_COLUMNS = [
    Column("slug", "Perk"),
    Column("name", "Name"),
    Column("claims", "Claims", "right"),
    Column("unique_members", "Members", "right", drop=2),
    Column("points_spent", "Points spent", "right", drop=1),
    Column("supply_left", "Supply left", "right", fmt=supply_left),
    Column("last_claim_at", "Last claim"),
]


def claim_stat_rows(found) -> list[dict]:
    return [fields(p) for p in found.perks]


def claim_stats(out: Output, found) -> list:
    parts: list = [
        out.table(claim_stat_rows(found), CLAIM_STAT_COLUMNS, title="Claims per perk")
        if found.perks
        else "No perks yet."
    ]
    if found.series:
        parts.append("[bold]Claims per period[/]")
        parts.append(bar_chart([(p.period, p.claims) for p in found.series]))
    return parts


MEMBER_STAT_COLUMNS = [
    Column("list", "List"),
    Column("member", "Member"),
    Column("name", "Name"),
    Column("value", "Value", "right"),
]


def member_stat_rows(found) -> list[dict]:
    rows = [
        {"list": "biggest_balance", "member": r.member, "name": r.name, "value": r.value}
        for r in found.biggest_balances
    ]
    rows += [
        {"list": "most_active", "member": r.member, "name": r.name, "value": r.value}
        for r in found.most_active
    ]
    rows += [
        {"list": "tier", "member": t["tier"] or "", "name": "", "value": t["members"]}
        for t in found.tiers
    ]
    return rows


def member_stats(out: Output, found) -> list:
    member_columns = [Column("member", "Member"), Column("name", "Name")]
    return [
        out.table(
            [
                {"member": r.member, "name": r.name, "balance": r.value}
                for r in found.biggest_balances
            ],
            [*member_columns, Column("balance", "Balance", "right")],
            title="Biggest balances",
        ),
        out.table(
            [{"member": r.member, "name": r.name, "entries": r.value} for r in found.most_active],
            [*member_columns, Column("entries", "Ledger entries", "right")],
            title="Most active",
        ),
        "[bold]Members per tier[/]",
        bar_chart([(t["tier"] or "(none)", t["members"]) for t in found.tiers]),
    ]


DISCOUNT_STAT_COLUMNS = [
    Column("slug", "Discount"),
    Column("percent", "%", "right", fmt=lambda v: f"{v.normalize():f}"),
    Column("enabled", "Enabled", drop=1),
    Column("active_grants", "Grants", "right"),
    Column("members_holding", "Holding", "right"),
    Column("members_used", "Used by", "right"),
    Column("uses", "Uses", "right"),
]


def discount_stat_rows(found) -> list[dict]:
    return [fields(d) for d in found.discounts]


def discount_stats(out: Output, found) -> list:
    parts: list = [
        out.table(discount_stat_rows(found), DISCOUNT_STAT_COLUMNS, title="Discounts")
        if found.discounts
        else "No discounts yet."
    ]
    if found.series:
        parts.append("[bold]Uses per period[/]")
        parts.append(bar_chart([(p.period, p.uses) for p in found.series]))
    return parts
