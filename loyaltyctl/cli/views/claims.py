"""Claims: the claim panel, a claim's record, listings, cancellations."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, local_time
from loyaltyctl.cli.views.common import fields, grid


def redemption_text(redemption) -> str | None:
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
        ("Redemption", redemption_text(result.redemption)),
    ]
    if result.redemption.checkout_url:
        rows.append(("Checkout", result.redemption.checkout_url))
    rows += [
        ("Instructions", result.redemption.instructions),
        ("Certificate", result.certificate_id),
    ]
    title = f"Claim {result.claim_id}"
    parts = [Panel(grid(rows), title=title, expand=False)]
    if result.replayed:
        parts.insert(0, "[yellow]Already done[/] (same key): this is the original claim.")
    return parts


CLAIM_COLUMNS = [
    Column("claim_id", "Claim"),
    Column("at", "When"),
    Column("member", "Member"),
    Column("points_spent", "Points", "right"),
    Column("status", "Status"),
    Column("operator", "Operator", drop=2),
    Column("cancel_reason", "Cancel reason", drop=1),
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
    return [fields(r) for r in records]


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
        *([("Prize of", f"promo redemption {record.prize_of}")] if record.prize_of else []),
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
        rows.append(("Redemption", redemption_text(record.redemption)))
        if record.redemption.checkout_url:
            rows.append(("Checkout", record.redemption.checkout_url))
    return Panel(grid(rows), title=f"Claim {record.claim_id}", expand=False)


def certificate_valid(check) -> str:
    return f"Valid: certificate {check.certificate_id} of claim {check.claim_id}."
