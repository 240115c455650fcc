"""Campaigns and promo codes: redemptions, listings, a campaign's panel."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, Whole
from loyaltyctl.cli.views.common import audience_text, fields, grid, window_text


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
    parts = [Panel(grid(rows), title=f"Redemption {result.redemption_id}", expand=False)]
    for prize in result.perks:
        parts.append(
            Whole(
                f"[dim]The code of {prize.slug}:[/] "
                f"[bold]loyaltyctl claim show {prize.claim_id} --reveal[/]"
            )
        )
    if result.replayed:
        parts.insert(0, "[yellow]Already done[/] (same key): this is the original redemption.")
    return parts


CAMPAIGN_COLUMNS = [
    Column("slug", "Campaign"),
    Column("name", "Name", drop=1),
    Column("status", "Status"),
    Column("valid_from", "From", drop=3),
    Column("valid_until", "Until"),
    Column("points", "Points", "right"),
    Column("perks", "Prizes", drop=4),
    Column("codes_issued", "Codes", "right", drop=2),
    Column("redemptions", "Redeemed", "right"),
]


def campaign_rows(campaigns) -> list[dict]:
    return [fields(c) for c in campaigns]


def campaign_panel(campaign):
    from rich.panel import Panel

    who, window = audience_text(campaign.audience), window_text(campaign)
    shared = "; ".join(
        f"{c.code or 'hidden (--reveal)'}: {c.used:,} of "
        + ("unlimited" if c.inventory is None else f"{c.inventory:,}")
        for c in campaign.shared_codes
    )
    rows = grid(
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
            *decoration_rows(campaign),
        ]
    )
    return Panel(rows, title=f"Campaign {campaign.slug}", expand=False)


SHARE_LABELS = (("title", "Share title"), ("subtitle", "Share subtitle"), ("image", "Share image"))


def decoration_rows(campaign) -> list[tuple[str, object]]:
    """The share card (title, subtitle, image, any other key) and the page decoration
    that front ends read: shown as stored, only what is set."""
    import json

    share = dict(campaign.share or {})
    rows: list[tuple[str, object]] = [
        (label, share.pop(key)) for key, label in SHARE_LABELS if share.get(key) is not None
    ]
    rows += [(f"Share {key}", _plain(value)) for key, value in share.items()]
    if campaign.page:
        rows.append(("Page", json.dumps(campaign.page, ensure_ascii=False, sort_keys=True)))
    return rows


def _plain(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def created(slug: str, code: str | None) -> str:
    return f"Created campaign {slug}" + (f" with the code {code}." if code else ".")


def status_changed(campaign, changed: bool) -> str:
    return f"Campaign {campaign.slug} is {campaign.status}" + (
        "." if changed else " (it already was)."
    )


def restocked(result, campaign: str) -> str:
    return (
        f"Code {result.code} of {campaign}: inventory {result.inventory:,} ({result.used:,} used)."
    )
