"""Points: ledger entries, balances and changes."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, local_time
from loyaltyctl.cli.views.common import fields

ENTRY_COLUMNS = [
    Column("id", "Entry", "right"),
    Column("at", "When"),
    Column("kind", "Kind"),
    Column("amount", "Points", "right", fmt=lambda v: f"{v:+,}" if v else "0"),
    Column("pending_amount", "Pending", "right", fmt=lambda v: f"{v:+,}" if v else ""),
    Column("balance_after", "Balance", "right"),
    Column("reason", "Reason"),
    Column("rule", "Rule", drop=2),
    Column("event_id", "Event", drop=4),
    Column("operator", "Operator", drop=3),
    Column("expires_at", "Expires", drop=1),
]


def entry_fields() -> tuple[str, ...]:
    """What --json and --csv give of each entry (read when asked: start-up stays light)."""
    from dataclasses import fields as dataclass_fields

    from loyaltyctl.domain.models import LedgerEntry

    return tuple(f.name for f in dataclass_fields(LedgerEntry))


def entry_rows(entries) -> list[dict]:
    return [fields(e) for e in entries]


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
