"""Members: listings and the profile."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, Output, jsonable, local_time
from loyaltyctl.cli.views.claims import MEMBER_CLAIM_COLUMNS, claim_rows
from loyaltyctl.cli.views.common import fields
from loyaltyctl.cli.views.coupon_terms import expiry
from loyaltyctl.cli.views.earning import tier_status_text
from loyaltyctl.cli.views.points import ENTRY_COLUMNS, balance_lines, entry_rows

MEMBER_COLUMNS = [
    Column("external_id", "Member"),
    Column("name", "Name"),
    Column("phone", "Phone"),
    Column("email", "Email", drop=3),
    Column("tier", "Tier", drop=1),
    Column("groups", "Groups", drop=4),
    Column("tags", "Tags", drop=5),
    Column("balance", "Balance", "right"),
    Column("pending", "Pending", "right", drop=2),
]


# `member list --csv`: what `member import` reads back (balance and pending it ignores)
MEMBER_CSV_COLUMNS = (
    "external_id", "name", "phone", "email", "birthday", "plan", "tier", "groups", "tags",
    "balance", "pending",
)  # fmt: skip


def member_rows(members) -> list[dict]:
    rows = []
    for m in members:
        row = jsonable(m)
        row["groups"], row["tags"] = list(m.groups), list(m.tags)
        rows.append(row)
    return rows


STATUS_STYLES = {"active": "green", "used": "dim", "expired": "yellow", "cancelled": "dim"}

MEMBER_COUPON_COLUMNS = [
    Column("code", "Coupon"),
    Column("perk", "Perk"),
    Column("kind", "Kind"),
    Column("status", "Status", fmt=lambda s: f"[{STATUS_STYLES.get(s, 'default')}]{s}[/]"),
    Column("expires_at", "Expires", fmt=expiry),
]


def added(member) -> str:
    return f"Added member {member.external_id} ({member.name})."


def updated(member, changed: list[str]) -> str:
    if changed:
        return f"Updated {member.external_id}: {', '.join(changed)}."
    return f"Nothing to change for {member.external_id}."


def forgotten(result) -> str:
    events = len(result.redacted_events)
    return (
        f"Forgot member {result.member}: {', '.join(result.erased)} erased, "
        f"{events} audit event{'s' if events != 1 else ''} redacted; points, claims and "
        "coupons stay with the id."
    )


def profile(out: Output, p) -> list:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    m = p.member
    tier = tier_status_text(p.tier_status) or (
        (m.tier or "") + (" (set by hand)" if m.tier and m.tier_manual else "")
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in (
        ("Name", m.name),
        ("Phone", m.phone),
        ("Email", m.email),
        ("Birthday", m.birthday),
        ("Plan", m.plan),
        ("Tier", tier),
        ("Groups", ", ".join(m.groups)),
        ("Tags", ", ".join(m.tags)),
        ("Member since", local_time(m.created_at, "%Y-%m-%d")),
    ):
        grid.add_row(label, escape(value) if value else "[dim]—[/]")
    grid.add_row("Points", "\n".join(balance_lines(p.balance)))
    if m.forgotten_at is not None:
        grid.add_row("Forgotten", f"forgotten on {local_time(m.forgotten_at, '%Y-%m-%d')}")
    parts = [Panel(grid, title=f"Member {escape(m.external_id)}", expand=False)]
    if p.recent:
        parts.append(out.table(entry_rows(p.recent), ENTRY_COLUMNS, title="Recent ledger entries"))
    if p.claims:
        parts.append(out.table(claim_rows(p.claims), MEMBER_CLAIM_COLUMNS, title="Recent claims"))
    else:
        parts.append("[dim]No claims yet.[/]")
    if p.redemptions:
        parts.append(
            out.table(
                redemption_rows(p.redemptions),
                REDEMPTION_COLUMNS,
                title="Campaign redemptions (my prizes)",
            )
        )
    if p.coupons:
        rows = [fields(c) for c in p.coupons]
        parts.append(out.table(rows, MEMBER_COUPON_COLUMNS, title="Coupons (usable first)"))
    if p.discounts:
        from loyaltyctl.cli.views.discounts import HELD_COLUMNS, held_rows

        parts.append(out.table(held_rows(p.discounts), HELD_COLUMNS, title="Discounts held"))
    return parts


REDEMPTION_COLUMNS = [
    Column("redemption_id", "Redemption"),
    Column("at", "When"),
    Column("campaign", "Campaign"),
    Column("campaign_name", "Name", drop=1),
    Column("points", "Points", "right", fmt=lambda v: f"+{v:,}" if v else "0"),
    Column("prizes", "Prizes (claim)"),
]


def redemption_rows(redemptions) -> list[dict]:
    """A member's campaign redemptions: each prize as `slug (claim id)`."""
    return [
        {
            "redemption_id": r.redemption_id,
            "at": r.at,
            "campaign": r.campaign,
            "campaign_name": r.campaign_name,
            "points": r.points,
            "prizes": "\n".join(f"{p.slug} ({p.claim_id})" for p in r.perks) or None,
        }
        for r in redemptions
    ]
