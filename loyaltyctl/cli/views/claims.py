"""Claims: the claim panel, a claim's record, listings, cancellations."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, local_time
from loyaltyctl.cli.views.common import fields, grid
from loyaltyctl.cli.views.coupon_terms import issued_coupon_rows


def redemption_text(redemption) -> str | None:
    if redemption.type == "webhook":
        return "sent by webhook"
    if redemption.type == "none":
        return None
    return redemption.value


def _redemption_rows(redemption) -> list[tuple[str, object]]:
    if redemption.type == "coupon":
        return [("Coupon code", redemption.value), *issued_coupon_rows(redemption.coupon or {})]
    rows = [("Redemption", redemption_text(redemption))]
    if redemption.checkout_url:
        rows.append(("Checkout", redemption.checkout_url))
    return rows


def claim_panel(result) -> list:
    from rich.panel import Panel

    rows = [
        ("Perk", f"{result.perk_name} ({result.perk})"),
        ("Member", result.member),
        ("Points spent", f"{result.points_spent:,}"),
        ("Balance after", f"{result.balance:,}"),
        *_redemption_rows(result.redemption),
        ("Instructions", result.redemption.instructions),
        ("Certificate", result.certificate_id),
    ]
    title = f"Claim {result.claim_id}"
    parts = [Panel(grid(rows), title=title, expand=False)]
    if result.replayed:
        parts.insert(0, "[yellow]Already done[/] (same key): this is the original claim.")
    if result.redemption.type == "coupon":
        parts.append(
            "[dim]Hand the code to the member now; it is stored only encrypted. Show it "
            f"again with[/] [bold]loyaltyctl claim show {result.claim_id} --reveal[/]"
        )
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
    coupon = f" Its coupon {record.coupon['code']} is cancelled." if record.coupon else ""
    if not record.points_spent:
        return (
            f"Claim {record.claim_id} of {record.perk} cancelled (a free perk: nothing to "
            f"refund).{coupon}"
        )
    return (
        f"Claim {record.claim_id} of {record.perk} cancelled: {record.points_spent:,} points "
        f"back to {record.member} (balance {record.balance:,}).{coupon}"
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
        rows += _redemption_rows(record.redemption)
    elif record.coupon is not None:
        rows += [("Coupon code", f"{record.coupon['code']} (see it with --reveal)")]
        rows += issued_coupon_rows(record.coupon)
    if record.coupon is not None:
        used = f" on order {record.coupon['order_id']}" if record.coupon["order_id"] else ""
        rows.append(("Coupon status", record.coupon["status"] + used))
    return Panel(grid(rows), title=f"Claim {record.claim_id}", expand=False)


def certificate_valid(check) -> str:
    return f"Valid: certificate {check.certificate_id} of claim {check.claim_id}."
