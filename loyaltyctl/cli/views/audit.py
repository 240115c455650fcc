"""The audit trail: the log's listing and a verification's outcome."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, jsonable
from loyaltyctl.cli.views.common import ReadFrom

AUDIT_COLUMNS = [
    Column("at", "When"),
    Column("operator", "Operator"),
    Column("action", "Action"),
    Column("subject", "Subject"),
    Column("amount", "Points", "right", fmt=lambda v: "" if v is None else f"{v:+,}", drop=1),
    Column("reason", "Reason"),
    Column("ref", "Record", drop=2),
]


def audit_rows(records) -> list[dict]:
    """JSON values, but the timestamp as it is (the table shows local time)."""
    return [{**jsonable(r), "at": r.at} for r in records]


def verified(result, source: ReadFrom) -> str:
    lag = "" if source.lag_seconds is None else f", {source.lag_seconds:,.0f} s behind"
    return (
        f"[green]OK[/]: {result.ledger_entries:,} ledger entries and "
        f"{result.audit_events:,} audit events verified; {result.members:,} balances match "
        f"their ledgers.\nRead from the {source.database} ({source.url}{lag})."
    )


def checkpoint_json(made) -> dict:
    return {
        "out": made.out,
        "at": made.at,
        "digest": made.digest,
        "chains": made.chains,
        "ledger_entries": made.ledger_entries,
        "audit_events": made.audit_events,
    }


def checkpoint_text(made) -> str:
    return (
        f"Wrote the audit checkpoint {made.out}: {made.chains:,} chains, "
        f"{made.ledger_entries:,} ledger entries and {made.audit_events:,} audit events, "
        "signed. Keep it away from the database."
    )
