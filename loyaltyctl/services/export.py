"""Campaigns, earning rules and tiers written back as program-file TOML that `apply`
takes back unchanged (like `perk export` for perks).

Each document holds only what is set; values are the file's forms (decimals as
numbers, windows as offset datetimes, JSON columns as tables). Shared codes are
secrets: left out unless revealed, and a file without them keeps the stored ones
(`apply` never removes a shared code).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from loyaltyctl.domain import promo as promo_domain
from loyaltyctl.services.perks import KeyLoader
from loyaltyctl.store import earning as earning_store
from loyaltyctl.store import promo as promo_store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import Campaign, EarningRule, Tier


def _number(text: str | None) -> int | float | None:
    """A stored decimal text as the number a file writes (1, 1.5)."""
    if text is None:
        return None
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _set(table: dict, values: dict[str, Any]) -> dict:
    table.update({k: v for k, v in values.items() if v not in (None, {}, [])})
    return table


def _chosen(rows: list, slugs: list[str], require) -> list:
    """The rows of these slugs (each must exist: did-you-mean otherwise), or all."""
    if slugs:
        return [require(slug) for slug in slugs]
    return sorted(rows, key=lambda r: r.slug)


# --- campaigns --------------------------------------------------------------------------


def campaigns_document(
    *, session: Session, slugs: list[str], reveal_codes: bool, keys: KeyLoader
) -> dict:
    rows = _chosen(promo_store.listing(session), slugs, lambda s: promo_store.require(session, s))
    return {"campaign": [_campaign_table(session, row, reveal_codes, keys) for row in rows]}


def _campaign_table(session: Session, row: Campaign, reveal_codes: bool, keys) -> dict:
    table = _set(
        {"slug": row.slug, "name": row.name},
        {
            "description": row.description,
            "valid_from": row.valid_from,
            "valid_until": row.valid_until,
            "points": row.points,
            "perks": json.loads(row.perks or "[]"),
            "per_member": row.per_member,
            "per_member_daily": row.per_member_daily,
            "audience": {k: v for k, v in json.loads(row.audience or "{}").items() if v},
            "share": json.loads(row.share) if row.share else None,
            "page": json.loads(row.page) if row.page else None,
        },
    )
    table["status"] = row.status
    if reveal_codes:
        codes = []
        for code in promo_store.shared_codes(session, row.id):
            plain = keys().decrypt(
                code.code_enc, bound_to=promo_domain.code_binding(code.code_hash)
            )
            codes.append(_set({"code": plain}, {"inventory": code.uses_allowed}))
        if codes:
            table["code"] = codes
    return table


# --- earning rules and tiers -------------------------------------------------------------


def rules_document(*, session: Session, slugs: list[str]) -> dict:
    rows = _chosen(
        earning_store.rules(session, include_inactive=True),
        slugs,
        lambda s: earning_store.require(session, EarningRule, s),
    )
    return {"earning_rule": [_rule_table(row) for row in rows]}


def _rule_table(row: EarningRule) -> dict:
    table = _set(
        {"slug": row.slug, "kind": row.kind},
        {"name": row.name, "description": row.description},
    )
    settings = json.loads(row.settings or "{}")
    for key in ("points_per_unit",):
        if isinstance(settings.get(key), str):
            settings[key] = _number(settings[key])
    _set(table, settings)
    _set(table, {"tiers": json.loads(row.tiers or "[]")})
    table["active"] = row.active
    return table


def tiers_document(*, session: Session, slugs: list[str]) -> dict:
    rows = _chosen(
        earning_store.tiers(session, include_inactive=True),
        slugs,
        lambda s: earning_store.require(session, Tier, s),
    )
    rows = rows if slugs else sorted(rows, key=lambda r: (r.threshold, r.slug))
    return {"tier": [_tier_table(row) for row in rows]}


def _tier_table(row: Tier) -> dict:
    table = _set(
        {"slug": row.slug, "name": row.name},
        {"description": row.description},
    )
    table["threshold"] = row.threshold
    table["period"] = row.period
    table["multiplier"] = _number(row.multiplier)
    _set(table, {"overrides": json.loads(row.overrides or "{}")})
    table["downgrade"] = row.downgrade
    table["active"] = row.active
    return table
