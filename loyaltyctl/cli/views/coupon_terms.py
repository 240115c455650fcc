"""A coupon's terms in words: what it takes off and on what (claims, perks, members)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from loyaltyctl.cli._output import local_time


def percent_text(percent) -> str:
    value = Decimal(str(percent)).normalize()
    return f"{value:f}%"


def worth(terms: dict) -> str:
    """What a coupon takes off: "10.00 off", "15% off", "free shipping up to 9.90"..."""
    kind = terms["kind"]
    if kind == "percent":
        return f"{percent_text(terms['percent'])} off"
    if kind == "free_shipping":
        return f"free shipping up to {terms['max_shipping']}"
    if kind == "free_product":
        variants = terms.get("variants") or []
        either = f" (or {', '.join(variants)})" if variants else ""
        return f"one {terms['product']}{either} free"
    return f"{terms['amount']} off"


def conditions(terms: dict, *, per_points: int | None = None) -> str | None:
    """On what it applies: a minimum purchase (a convert perk's is per its rate's points)
    and collections; None when it applies to any cart."""
    parts = []
    if terms.get("min_purchase"):
        per = f" per {per_points:,} points" if per_points else ""
        parts.append(f"a purchase of at least {terms['min_purchase']}{per}")
    if terms.get("collections"):
        parts.append(f"items in {', '.join(terms['collections'])}")
    return "; ".join(parts) or None


def expiry(expires_at) -> str:
    """When a coupon stops being valid; at midnight (as `expires_after_days` gives) it is
    the end of the day before: "end of 2027-01-03"."""
    if expires_at is None:
        return "never"
    if local_time(expires_at, "%H:%M:%S") == "00:00:00":
        day = local_time(expires_at - timedelta(microseconds=1), "%Y-%m-%d %Z")
        return f"end of {day}"
    return local_time(expires_at)


def perk_coupon_rows(coupon: dict) -> list[tuple[str, object]]:
    """A coupon perk's terms for `perk show`."""
    if coupon["kind"] == "convert":
        bounds = f"{coupon['min_points']:,}" + (
            f" to {coupon['max_points']:,}" if coupon["max_points"] is not None else " or more"
        )
        what = (
            f"convert points: {coupon['points']:,} points = {coupon['amount']} off "
            f"(the member chooses {bounds} points)"
        )
    else:
        what = worth(coupon)
    days = coupon["expires_after_days"]
    return [
        ("Coupon", what),
        ("Applies to", conditions(coupon, per_points=coupon.get("points")) or "any purchase"),
        (
            "Coupon expires",
            f"{days} days after the claim (at the end of that day)" if days else "never",
        ),
    ]


def issued_coupon_rows(terms: dict) -> list[tuple[str, object]]:
    """An issued coupon's frozen terms (claim panels)."""
    return [
        ("Worth", worth(terms)),
        ("Applies to", conditions(terms) or "any purchase"),
        ("Expires", expiry(terms.get("expires_at"))),
    ]
