"""Perks: listings, what a member can claim, a perk's panel."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, jsonable
from loyaltyctl.cli.views.common import audience_text, grid, window_text
from loyaltyctl.cli.views.coupon_terms import perk_coupon_rows


def supply_left(left: int | None) -> str:
    return "unlimited" if left is None else f"{left:,}"


def _supply(perk) -> str:
    if perk.max_supply is None:
        return "unlimited"
    return f"{perk.supply_left:,} of {perk.max_supply:,}"


PERK_COLUMNS = [
    Column("slug", "Perk"),
    Column("name", "Name"),
    Column("category", "Category", drop=4),
    Column("price", "Price", "right"),
    Column("supply_left", "Supply left", "right", fmt=supply_left),
    Column("claims", "Claims", "right"),
    Column("max_per_member", "Per member", "right", drop=3),
    Column("redemption_type", "Redemption", drop=2),
    Column("active", "Active", drop=1),
]


def perk_row(perk) -> dict:
    return jsonable(perk)


def perk_rows(perks) -> list[dict]:
    return [perk_row(p) for p in perks]


def _member_price(price: int | None) -> str:
    return "they choose" if price is None else f"{price:,}"


ELIGIBILITY_COLUMNS = [
    Column("slug", "Perk"),
    Column("name", "Name", drop=1),
    # what this member pays: their tier's price; a convert coupon's points are chosen
    Column("member_price", "Price", "right", fmt=_member_price),
    Column("supply_left", "Supply left", "right", fmt=supply_left, drop=2),
    Column("claimable", "Can claim", fmt=lambda v: "[green]yes[/]" if v else "[red]no[/]"),
    Column("brief", "Why not"),  # the row names the member and the perk already
]


def _eligibility(c) -> dict:
    return {
        "claimable": c.claimable,
        "code": c.code,
        "reason": c.reason,
        "member_price": c.price,
        "brief": c.brief,
    }


def eligibility_rows(choices) -> list[dict]:
    return [{**perk_row(c.perk), **_eligibility(c)} for c in choices]


def eligibility_json(choices) -> list[dict]:
    return [{**jsonable(c.perk), **_eligibility(c)} for c in choices]


def _price_text(perk) -> str:
    if perk.coupon is not None and perk.coupon["kind"] == "convert":
        return "the points the member chooses to convert"
    return f"{perk.price:,} points"


def _tier_prices_text(perk) -> str | None:
    if not perk.tier_prices:
        return None
    return ", ".join(
        f"{tier} {value} price" if isinstance(value, str) else f"{tier} {value:,} points"
        for tier, value in sorted(perk.tier_prices.items())
    )


def perk_panel(perk):
    from rich.panel import Panel

    who, window = audience_text(perk.audience), window_text(perk)
    redemption = perk.redemption_type + (" (single-use codes)" if perk.single_use else "")
    rows = grid(
        [
            ("Name", perk.name),
            ("Category", perk.category),
            ("Price", _price_text(perk)),
            ("Tier prices", _tier_prices_text(perk)),
            ("Active", perk.active),
            ("Description", perk.description),
            ("Media", f"{perk.media} ({perk.media_type})" if perk.media else None),
            ("Supply left", _supply(perk)),
            ("Per member", perk.max_per_member or "unlimited"),
            ("Window", window),
            ("Audience", who),
            ("Redemption", redemption),
            ("Value", "stored encrypted" if perk.has_value else None),
            *(perk_coupon_rows(perk.coupon) if perk.coupon else []),
            ("Instructions", perk.instructions),
            ("Checkout (iframe)", perk.checkout_url if perk.iframe else None),
            ("Webhook", perk.webhook_url),
            ("Claims", f"{perk.claims:,} active, {perk.cancelled_claims:,} cancelled"),
            ("Members", f"{perk.members:,}"),
            ("Points spent", f"{perk.points_spent:,}"),
        ]
    )
    return Panel(rows, title=f"Perk {perk.slug}", expand=False)


def toggled(slug: str, active: bool, changed: bool) -> str:
    state = "enabled" if active else "disabled"
    return f"Perk {slug} {state}." if changed else f"Perk {slug} was already {state}."
