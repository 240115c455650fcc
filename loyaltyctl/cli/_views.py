"""Human renderings of domain objects (Rich renderables), used through Output."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, Output, local_time

MEMBER_COLUMNS = [
    Column("external_id", "Member"),
    Column("name", "Name"),
    Column("phone", "Phone"),
    Column("email", "Email"),
    Column("tier", "Tier"),
    Column("groups", "Groups"),
    Column("tags", "Tags"),
    Column("balance", "Balance", "right"),
    Column("pending", "Pending", "right"),
]

ENTRY_COLUMNS = [
    Column("id", "Entry", "right"),
    Column("at", "When"),
    Column("kind", "Kind"),
    Column("amount", "Points", "right", fmt=lambda v: f"{v:+,}" if v else "0"),
    Column("pending_amount", "Pending", "right", fmt=lambda v: f"{v:+,}" if v else ""),
    Column("balance_after", "Balance", "right"),
    Column("reason", "Reason"),
    Column("rule", "Rule"),
    Column("event_id", "Event"),
    Column("operator", "Operator"),
    Column("expires_at", "Expires"),
]


def member_rows(members) -> list[dict]:
    from loyaltyctl.cli._output import jsonable

    rows = []
    for m in members:
        row = jsonable(m)
        row["groups"], row["tags"] = list(m.groups), list(m.tags)
        rows.append(row)
    return rows


def entry_rows(entries) -> list[dict]:
    return [_fields(e) for e in entries]


def balance_lines(balance) -> list[str]:
    lines = [
        f"[bold]{balance.balance:,}[/] points"
        + (f"  ([cyan]{balance.pending:,}[/] pending)" if balance.pending else "")
    ]
    for lot in balance.expiring:
        lines.append(f"  [yellow]{lot.amount:,}[/] expire on {local_time(lot.expires_at)}")
    return lines


def balance_panel(balance):
    from rich.panel import Panel

    return Panel("\n".join(balance_lines(balance)), title=f"Member {balance.member}", expand=False)


def points_change(change) -> str:
    prefix = "[yellow]Already done[/] (same key): " if change.replayed else ""
    verb = "Credited" if change.amount > 0 else "Wrote off"
    pending = f", {change.pending:,} pending" if change.pending else ""
    return (
        f"{prefix}{verb} {abs(change.amount):,} points for {change.member} "
        f"(entry {change.entry_id}); balance {change.balance:,}{pending}."
    )


def profile(out: Output, p) -> list:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from loyaltyctl.cli._earning_views import tier_status_text

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
    parts = [Panel(grid, title=f"Member {escape(m.external_id)}", expand=False)]
    if p.recent:
        parts.append(out.table(entry_rows(p.recent), ENTRY_COLUMNS, title="Recent ledger entries"))
    if p.claims:
        parts.append(out.table(claim_rows(p.claims), MEMBER_CLAIM_COLUMNS, title="Recent claims"))
    else:
        parts.append("[dim]No claims yet.[/]")
    return parts


def import_result(result, noun: str) -> str:
    verb = "Would apply" if result.dry_run else "Applied"
    text = (
        f"{verb} {result.applied:,} of {result.rows:,} {noun} rows from {result.file}"
        f"; {result.replayed:,} already applied before (nothing changed for them)."
    )
    if result.created or result.updated:
        text += f" Created {result.created:,}, updated {result.updated:,}."
    if result.derived_keys:
        text += (
            " Rows without a key got one derived from their content and position among "
            "identical rows, so running this file again is safe."
        )
    return text


# --- perks and claims ----------------------------------------------------------------

ACTION_STYLE = {"create": "green", "update": "yellow", "disable": "red", "unchanged": "dim"}


def apply_json(result) -> dict:
    return {
        "dry_run": result.dry_run,
        "created": result.count("create"),
        "updated": result.count("update"),
        "unchanged": result.count("unchanged"),
        "disabled": result.count("disable"),
        "changes": [
            {"kind": c.kind, "slug": c.slug, "action": c.action, "fields": list(c.fields)}
            for c in result.changes
        ],
    }


def apply_plan(out: Output, result) -> list:
    from rich.markup import escape
    from rich.table import Table

    summary = apply_json(result)
    counts = (
        f"{summary['created']} to create, {summary['updated']} to update, "
        f"{summary['disabled']} to disable, {summary['unchanged']} unchanged"
    )
    if result.dry_run:
        tail = f"Dry run: {counts}. Nothing was changed."
    elif result.changed:
        tail = (
            f"Applied: {summary['created']} created, {summary['updated']} updated, "
            f"{summary['disabled']} disabled, {summary['unchanged']} unchanged."
        )
    else:
        tail = f"Nothing to change: {summary['unchanged']} unchanged."
    if not result.changes:
        return ["Nothing in the files."]
    table = Table(title="Plan", title_justify="left", header_style="bold")
    for title in ("Action", "Kind", "Slug", "Changed fields"):
        table.add_column(title)
    for c in result.changes:
        style = ACTION_STYLE.get(c.action, "")
        table.add_row(
            f"[{style}]{c.action}[/]",
            c.kind,
            escape(c.slug),
            escape(", ".join(c.fields)) if c.action == "update" else "",
        )
    return [table, tail]


def _supply_left(left: int | None) -> str:
    return "unlimited" if left is None else f"{left:,}"


def _supply(perk) -> str:
    if perk.max_supply is None:
        return "unlimited"
    return f"{perk.supply_left:,} of {perk.max_supply:,}"


PERK_COLUMNS = [
    Column("slug", "Perk"),
    Column("name", "Name"),
    Column("category", "Category"),
    Column("price", "Price", "right"),
    Column("supply_left", "Supply left", "right", fmt=_supply_left),
    Column("claims", "Claims", "right"),
    Column("max_per_member", "Per member", "right"),
    Column("redemption_type", "Redemption"),
    Column("active", "Active"),
]


def perk_row(perk) -> dict:
    from loyaltyctl.cli._output import jsonable

    return jsonable(perk)


def perk_rows(perks) -> list[dict]:
    return [perk_row(p) for p in perks]


ELIGIBILITY_COLUMNS = [
    Column("slug", "Perk"),
    Column("name", "Name"),
    Column("price", "Price", "right"),
    Column("supply_left", "Supply left", "right", fmt=_supply_left),
    Column("claimable", "Can claim", fmt=lambda v: "[green]yes[/]" if v else "[red]no[/]"),
    Column("reason", "Why not"),
]


def eligibility_rows(choices) -> list[dict]:
    return [
        {**perk_row(c.perk), "claimable": c.claimable, "code": c.code, "reason": c.reason}
        for c in choices
    ]


def eligibility_json(choices) -> list[dict]:
    from loyaltyctl.cli._output import jsonable

    return [
        {**jsonable(c.perk), "claimable": c.claimable, "code": c.code, "reason": c.reason}
        for c in choices
    ]


def _grid(rows: list[tuple[str, object]]):
    from rich.markup import escape
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows:
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif value is None or value == "":
            text = "[dim]—[/]"
        else:
            text = escape(str(value))
        grid.add_row(label, text)
    return grid


def _audience_text(audience) -> str:
    if audience.is_everyone():
        return "everyone"
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in audience.as_dict().items() if v)


def _window_text(item) -> str | None:
    """A perk's or campaign's validity window, in the program time zone."""
    if not (item.valid_from or item.valid_until):
        return None
    start = local_time(item.valid_from) if item.valid_from else "…"
    end = local_time(item.valid_until) if item.valid_until else "…"
    return f"{start} → {end}"


def _fields(item) -> dict:
    """A dataclass's fields as they are (timestamps stay timestamps for local time)."""
    return {k: getattr(item, k) for k in item.__dataclass_fields__}


def perk_panel(perk):
    from rich.panel import Panel

    who, window = _audience_text(perk.audience), _window_text(perk)
    redemption = perk.redemption_type + (" (single-use codes)" if perk.single_use else "")
    grid = _grid(
        [
            ("Name", perk.name),
            ("Category", perk.category),
            ("Price", f"{perk.price:,} points"),
            ("Active", perk.active),
            ("Description", perk.description),
            ("Media", f"{perk.media} ({perk.media_type})" if perk.media else None),
            ("Supply left", _supply(perk)),
            ("Per member", perk.max_per_member or "unlimited"),
            ("Window", window),
            ("Audience", who),
            ("Redemption", redemption),
            ("Value", "stored encrypted" if perk.has_value else None),
            ("Instructions", perk.instructions),
            ("Checkout (iframe)", perk.checkout_url if perk.iframe else None),
            ("Webhook", perk.webhook_url),
            ("Claims", f"{perk.claims:,} active, {perk.cancelled_claims:,} cancelled"),
            ("Members", f"{perk.members:,}"),
            ("Points spent", f"{perk.points_spent:,}"),
        ]
    )
    return Panel(grid, title=f"Perk {perk.slug}", expand=False)


def _redemption_text(redemption) -> str | None:
    if redemption.type == "webhook":
        return "sent by webhook"
    if redemption.type == "none":
        return None
    return redemption.value


def claim_panel(result) -> list:
    from rich.panel import Panel

    rows = [
        ("Perk", f"{result.perk_name} ({result.perk})"),
        ("Member", result.member),
        ("Points spent", f"{result.points_spent:,}"),
        ("Balance after", f"{result.balance:,}"),
        ("Redemption", _redemption_text(result.redemption)),
    ]
    if result.redemption.checkout_url:
        rows.append(("Checkout", result.redemption.checkout_url))
    rows += [
        ("Instructions", result.redemption.instructions),
        ("Certificate", result.certificate_id),
    ]
    title = f"Claim {result.claim_id}"
    parts = [Panel(_grid(rows), title=title, expand=False)]
    if result.replayed:
        parts.insert(0, "[yellow]Already done[/] (same key): this is the original claim.")
    return parts


CLAIM_COLUMNS = [
    Column("claim_id", "Claim"),
    Column("at", "When"),
    Column("member", "Member"),
    Column("points_spent", "Points", "right"),
    Column("status", "Status"),
    Column("operator", "Operator"),
    Column("cancel_reason", "Cancel reason"),
]


MEMBER_CLAIM_COLUMNS = [
    Column("claim_id", "Claim"),
    Column("at", "When"),
    Column("perk", "Perk"),
    Column("points_spent", "Points", "right"),
    Column("status", "Status"),
]


def claim_rows(records) -> list[dict]:
    """Fields as they are (timestamps stay timestamps: the table shows local time)."""
    return [_fields(r) for r in records]


def claim_cancelled(record) -> str:
    if not record.points_spent:
        return (
            f"Claim {record.claim_id} of {record.perk} cancelled (a free perk: nothing to refund)."
        )
    return (
        f"Claim {record.claim_id} of {record.perk} cancelled: {record.points_spent:,} points "
        f"back to {record.member} (balance {record.balance:,})."
    )


def claim_record_panel(record):
    from rich.panel import Panel

    rows = [
        ("Perk", record.perk),
        ("Member", record.member),
        ("When", local_time(record.at)),
        ("Points spent", f"{record.points_spent:,}"),
        ("Status", record.status),
        ("Operator", record.operator),
        ("Key", record.key),
        ("Certificate", record.certificate_id),
    ]
    if record.cancelled_at:
        rows += [
            ("Cancelled", f"{local_time(record.cancelled_at)} by {record.cancelled_by}"),
            ("Reason", record.cancel_reason),
        ]
    if record.redemption is not None:
        rows.append(("Redemption", _redemption_text(record.redemption)))
        if record.redemption.checkout_url:
            rows.append(("Checkout", record.redemption.checkout_url))
    return Panel(_grid(rows), title=f"Claim {record.claim_id}", expand=False)


# --- campaigns and promo codes ----------------------------------------------------------


def redemption(result) -> list:
    from rich.panel import Panel

    prizes = ", ".join(f"{p.slug} (claim {p.claim_id})" for p in result.perks)
    rows = [
        ("Campaign", result.campaign),
        ("Member", result.member),
        ("Points", f"+{result.points:,}" if result.points else None),
        ("Prizes", prizes or None),
        ("Balance after", f"{result.balance:,}"),
    ]
    parts = [Panel(_grid(rows), title=f"Redemption {result.redemption_id}", expand=False)]
    if result.perks:
        parts.append(
            "[dim]See each prize's code with[/] [bold]loyaltyctl claim show CLAIM_ID --reveal[/]"
        )
    if result.replayed:
        parts.insert(0, "[yellow]Already done[/] (same key): this is the original redemption.")
    return parts


CAMPAIGN_COLUMNS = [
    Column("slug", "Campaign"),
    Column("name", "Name"),
    Column("status", "Status"),
    Column("valid_from", "From"),
    Column("valid_until", "Until"),
    Column("points", "Points", "right"),
    Column("perks", "Prizes"),
    Column("codes_issued", "Codes", "right"),
    Column("redemptions", "Redeemed", "right"),
]


def campaign_rows(campaigns) -> list[dict]:
    return [_fields(c) for c in campaigns]


def campaign_panel(campaign):
    from rich.panel import Panel

    who, window = _audience_text(campaign.audience), _window_text(campaign)
    shared = "; ".join(
        f"{c.code or 'hidden (--reveal)'}: {c.used:,} of "
        + ("unlimited" if c.inventory is None else f"{c.inventory:,}")
        for c in campaign.shared_codes
    )
    grid = _grid(
        [
            ("Name", campaign.name),
            ("Status", campaign.status),
            ("Description", campaign.description),
            ("Window", window),
            ("Points", f"{campaign.points:,} per redemption" if campaign.points else None),
            ("Prizes", ", ".join(campaign.perks) or None),
            ("Per member", campaign.per_member or "unlimited"),
            ("Per member per day", campaign.per_member_daily or "unlimited"),
            ("Audience", who),
            ("Shared codes", shared or None),
            ("Codes issued", f"{campaign.codes_issued:,}"),
            ("Redemptions", f"{campaign.redemptions:,}"),
            ("Points granted", f"{campaign.points_granted:,}"),
        ]
    )
    return Panel(grid, title=f"Campaign {campaign.slug}", expand=False)


# --- statistics ---------------------------------------------------------------------------

BLOCKS = " ▁▂▃▄▅▆▇█"


def bar_chart(series: list[tuple[str, int]], *, width: int = 40) -> str:
    """Horizontal bars of block characters, one line per period (plain text: it prints
    the same on a terminal and in a file)."""
    if not series:
        return "(no data)"
    top = max(n for _, n in series) or 1
    label = max(len(p) for p, _ in series)
    lines = []
    for period, n in series:
        eighths = round(n / top * width * 8)
        bar = "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")
        lines.append(f"{period:<{label}} {bar} {n:,}")
    return "\n".join(lines)


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
    Column("unique_members", "Members", "right"),
    Column("points_spent", "Points spent", "right"),
    Column("supply_left", "Supply left", "right", fmt=_supply_left),
    Column("last_claim_at", "Last claim"),
]


def claim_stat_rows(found) -> list[dict]:
    return [_fields(p) for p in found.perks]


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
