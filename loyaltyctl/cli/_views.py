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
    return [{**{k: getattr(e, k) for k in e.__dataclass_fields__}} for e in entries]


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

    m = p.member
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in (
        ("Name", m.name),
        ("Phone", m.phone),
        ("Email", m.email),
        ("Birthday", m.birthday),
        ("Plan", m.plan),
        ("Tier", (m.tier or "") + (" (set by hand)" if m.tier and m.tier_manual else "")),
        ("Groups", ", ".join(m.groups)),
        ("Tags", ", ".join(m.tags)),
        ("Member since", local_time(m.created_at, "%Y-%m-%d")),
    ):
        grid.add_row(label, escape(value) if value else "[dim]—[/]")
    grid.add_row("Points", "\n".join(balance_lines(p.balance)))
    parts = [Panel(grid, title=f"Member {escape(m.external_id)}", expand=False)]
    if p.recent:
        parts.append(out.table(entry_rows(p.recent), ENTRY_COLUMNS, title="Recent ledger entries"))
    parts.append("[dim]Claims and prizes: none yet.[/]" if not p.claims else "")
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
