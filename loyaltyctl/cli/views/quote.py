"""`quote`: a table per line (what applied, what did not and why), coupons, totals."""

from __future__ import annotations

from loyaltyctl.cli._output import local_time
from loyaltyctl.cli.views.common import grid


def _pct(value) -> str:
    return f"{value.normalize():f}%"


def line_table(line):
    from rich.markup import escape
    from rich.table import Table

    from loyaltyctl.domain.money import money_text

    title = (
        f"{escape(line.sku)}  {line.quantity} × {money_text(line.unit_price)}"
        f" = {money_text(line.amount)}"
    )
    table = Table(title=title, title_justify="left", show_header=False, expand=False)
    table.add_column(max_width=30)
    table.add_column(max_width=36)
    table.add_column(justify="right", no_wrap=True)
    for applied in line.discounts:
        table.add_row(
            f"discount {escape(applied.slug)}",
            _pct(applied.percent),
            f"-{money_text(applied.amount)}",
        )
    for code, amount in line.coupons:
        table.add_row(f"coupon {code}", "", f"-{money_text(amount)}")
    for skipped in line.not_applied:
        table.add_row(
            f"[dim]{escape(skipped.slug)}[/]",
            f"[dim]{escape(skipped.reason)}: {escape(skipped.message)}[/]",
            "",
        )
    table.add_row("[bold]pay[/]", "", f"[bold]{money_text(line.pay)}[/]")
    return table


def quote(result) -> list:
    from rich.markup import escape
    from rich.panel import Panel

    from loyaltyctl.domain.money import money_text

    q = result.quote
    parts: list = [f"Quote for member {escape(result.member)} at {local_time(q.at)}"]
    parts += [line_table(line) for line in q.lines]
    for c in q.coupons:
        if c.applied:
            off = money_text(c.amount + c.shipping_discount)
            parts.append(f"Coupon {c.code} ({c.kind.replace('_', ' ')}): applies, -{off}.")
        else:
            parts.append(f"Coupon {c.code}: not applied, {c.reason}: {escape(c.message or '')}")
    t = q.totals
    rows = [
        ("Subtotal", money_text(t.subtotal)),
        ("Discounts", f"-{money_text(t.discounts)}"),
        ("Coupons", f"-{money_text(t.coupons)}"),
        ("Shipping", money_text(t.shipping)),
        ("Shipping discount", f"-{money_text(t.shipping_discount)}"),
        ("Total", money_text(t.total)),
    ]
    points = result.points
    earn = f"{points.earn:,}"
    if points.earn and points.pending_until:
        earn += f" (pending until {local_time(points.pending_until)})"
    rows.append(("Points earned", earn))
    parts.append(Panel(grid(rows), title="Totals", expand=False))
    return parts


def quote_json(result) -> dict:
    """The spec's `quote --json` document (and each coupon's message and shipping
    discount besides)."""
    from loyaltyctl.domain.money import money_text

    quote, totals = result.quote, result.quote.totals
    return {
        "member": result.member,
        "at": quote.at,
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": money_text(line.unit_price),
                "amount": money_text(line.amount),
                "discounts": [
                    {"slug": a.slug, "percent": a.percent, "amount": money_text(a.amount)}
                    for a in line.discounts
                ],
                "coupons": [
                    {"code": code, "amount": money_text(amount)} for code, amount in line.coupons
                ],
                "not_applied": [
                    {"slug": n.slug, "reason": n.reason, "message": n.message}
                    for n in line.not_applied
                ],
                "pay": money_text(line.pay),
            }
            for line in quote.lines
        ],
        "coupons": [
            {
                "code": c.code,
                "kind": c.kind,
                "applied": c.applied,
                "amount": money_text(c.amount),
                "reason": c.reason,
                "message": c.message,
                "shipping_discount": money_text(c.shipping_discount),
            }
            for c in quote.coupons
        ],
        "totals": {
            "subtotal": money_text(totals.subtotal),
            "discounts": money_text(totals.discounts),
            "coupons": money_text(totals.coupons),
            "shipping": money_text(totals.shipping),
            "shipping_discount": money_text(totals.shipping_discount),
            "total": money_text(totals.total),
        },
        "points": {"earn": result.points.earn, "pending_until": result.points.pending_until},
    }
