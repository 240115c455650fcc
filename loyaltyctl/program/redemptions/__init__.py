"""`[perk.redemption]`: one reader per redemption type, registered in REDEMPTIONS.

A new type is a module here with a `RedemptionReader` subclass (its `type`, the `keys`
it uses, the perk's own `perk_keys` it reads if any, and `fill`) and one entry below.
"""

from __future__ import annotations

from typing import Any

from loyaltyctl.program.checks import describe, did_you_mean, quoted, unknown_key
from loyaltyctl.program.reader import Reader
from loyaltyctl.program.redemptions.base import RedemptionReader, UntypedRedemption
from loyaltyctl.program.redemptions.code import CodeRedemption
from loyaltyctl.program.redemptions.coupon import CouponRedemption
from loyaltyctl.program.redemptions.link import LinkRedemption
from loyaltyctl.program.redemptions.none import NoRedemption
from loyaltyctl.program.redemptions.webhook import WebhookRedemption

# type -> its reader, in the order messages list the types
REDEMPTIONS: dict[str, type[RedemptionReader]] = {
    reader.type: reader
    for reader in (
        CodeRedemption,
        LinkRedemption,
        CouponRedemption,
        WebhookRedemption,
        NoRedemption,
    )
}


def read_redemption(perk: Reader) -> dict[str, Any]:
    """The PerkSpec's redemption fields (meaningless when a problem was noted)."""
    table = perk.table.get("redemption")
    if table is None:
        return {"redemption_type": "none"}
    if not isinstance(table, dict):
        perk.add("redemption", "must be a table: write [perk.redemption] below the perk.")
        return {}
    known = ("type", *dict.fromkeys(k for r in REDEMPTIONS.values() for k in r.keys))
    for key in table:
        if key not in known:
            perk.add(("redemption", key), unknown_key(key, known))
    kind = _type(perk, table)
    reader = REDEMPTIONS[kind] if kind is not None else UntypedRedemption
    return reader(perk, table).read()


def _type(perk: Reader, table: dict[str, Any]) -> str | None:
    types = tuple(REDEMPTIONS)
    if "type" not in table:
        perk.add(
            "redemption.type",
            f"is missing; [perk.redemption] needs a type: {', '.join(types)}.",
        )
        return None
    kind = table["type"]
    if not isinstance(kind, str):
        perk.add("redemption.type", f"must be a string, not {describe(kind)}.")
        return None
    if kind not in types:
        perk.add(
            "redemption.type",
            f"{quoted(kind)} is not a redemption type; use one of"
            f" {', '.join(types)}{did_you_mean(kind, types)}.",
        )
        return None
    return kind
