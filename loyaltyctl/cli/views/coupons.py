"""Coupons: what a coupon takes off a cart, a coupon's panel, listings."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, local_time
from loyaltyctl.cli.views.common import grid


def terms_text(terms) -> str:
    """What a coupon gives, in a few words: "10.00 off", "15% off", "free shipping up to
    15.00", "one LIPSTICK free"; then its conditions."""
    from loyaltyctl.domain.money import money_text

    if terms.kind in ("fixed", "convert"):
        text = f"{money_text(terms.amount)} off"
    elif terms.kind == "percent":
        text = f"{terms.percent.normalize():f}% off"
    elif terms.kind == "free_shipping":
        text = f"free shipping up to {money_text(terms.max_shipping)}"
    else:
        names = [terms.product, *terms.variants]
        listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        text = f"one {listed} free"
    if terms.min_purchase is not None:
        text += f", from {money_text(terms.min_purchase)}"
    if terms.collections:
        text += f", on {', '.join(terms.collections)}"
    return text


def applied(result) -> list:
    """`coupon check` / `coupon use`: what the coupon takes off, line by line."""
    from rich.panel import Panel

    from loyaltyctl.domain.money import money_text

    rows = [
        ("Kind", result.kind.replace("_", " ")),
        ("Member", result.member),
        ("Off the items", money_text(result.amount)),
        ("Off shipping", money_text(result.shipping_discount)),
    ]
    if result.order is not None:
        rows.append(("Order", result.order))
    if result.lines:
        rows.append(
            (
                "Per line",
                "; ".join(f"{sku} -{money_text(amount)}" for _, sku, amount in result.lines),
            )
        )
    verb = "is used on" if result.order is not None else "applies"
    title = f"Coupon {result.coupon} {verb}" + (
        f" order {result.order}" if result.order is not None else ""
    )
    parts: list = [Panel(grid(rows), title=title, expand=False)]
    if result.replayed:
        parts.insert(0, "[yellow]Already done[/]: this coupon was used on this order before.")
    return parts


def record_panel(record, *, note: str | None = None) -> list:
    """`coupon show` / `coupon release`."""
    from rich.panel import Panel

    rows = [
        ("Gives", terms_text(record.terms)),
        ("Kind", record.terms.kind.replace("_", " ")),
        ("Status", record.status),
        ("Member", record.member),
        ("Perk", record.perk),
        ("Claim", record.claim_id),
        ("Order", record.order_id),
        ("Used", local_time(record.used_at) if record.used_at else None),
        ("Issued", local_time(record.issued_at)),
        ("Expires", local_time(record.expires_at) if record.expires_at else "never"),
    ]
    parts: list = [Panel(grid(rows), title=f"Coupon {record.coupon}", expand=False)]
    if note:
        parts.insert(0, note)
    return parts


LIST_COLUMNS = [
    Column("coupon", "Coupon"),
    Column("gives", "Gives"),
    Column("status", "Status", keep=True),  # short, and what staff look for
    Column("member", "Member"),
    Column("perk", "Perk"),
    Column("order_id", "Order"),
    Column("expires_at", "Expires"),
]
CSV_COLUMNS = [
    Column("coupon", "coupon"),
    Column("code", "code"),
    Column("kind", "kind"),
    Column("amount", "amount"),
    Column("percent", "percent"),
    Column("min_purchase", "min_purchase"),
    Column("max_shipping", "max_shipping"),
    Column("product", "product"),
    Column("variants", "variants"),
    Column("collections", "collections"),
    Column("status", "status"),
    Column("member", "member"),
    Column("perk", "perk"),
    Column("claim_id", "claim_id"),
    Column("order_id", "order_id"),
    Column("used_at", "used_at"),
    Column("issued_at", "issued_at"),
    Column("expires_at", "expires_at"),
]


def columns(*, csv: bool, reveal: bool) -> list[Column]:
    if csv:
        return [c for c in CSV_COLUMNS if reveal or c.key != "code"]
    if reveal:
        return [LIST_COLUMNS[0], Column("code", "Code"), *LIST_COLUMNS[1:]]
    return LIST_COLUMNS


def list_rows(listing, *, csv: bool) -> list[dict]:
    """One row per coupon: for people the terms in words, for CSV each term a column
    (timestamps in UTC)."""
    from loyaltyctl.cli._output import jsonable

    rows = []
    for record in listing.coupons:
        row = record.as_json()
        if csv:
            rows.append(jsonable(row))
        else:
            row["gives"] = terms_text(record.terms)
            rows.append(row)
    return rows


def limited(listing, limit: int) -> str | None:
    if listing.total <= len(listing.coupons):
        return None
    return (
        f"Showing the newest {len(listing.coupons):,} of {listing.total:,} coupons; "
        f"narrow them with --member, --perk or --status, raise --limit, or use "
        "`loyaltyctl coupon export`."
    )


def exported(result, out_file) -> str:
    which = " ".join(
        part
        for part in (
            result.status,
            "coupons" if result.count != 1 else "coupon",
            f"of perk {result.perk}" if result.perk else "",
        )
        if part
    )
    return f"Wrote {result.count:,} {which} to {out_file} (mode 0600: it holds live codes)."
