"""`type = "none"`: nothing to redeem (instructions only); also a perk without
`[perk.redemption]`."""

from __future__ import annotations

from typing import Any

from loyaltyctl.program.redemptions.base import RedemptionReader


class NoRedemption(RedemptionReader):
    type = "none"
    keys = ("instructions",)

    def fill(self, fields: dict[str, Any]) -> None:
        for key in self.given("value"):
            self.add(
                key,
                'is not used by type "none", which gives the member nothing to redeem;'
                ' remove it or choose type "code", "link" or "webhook".',
            )
        self.refuse_webhook(fields)
        self.refuse_single_use(fields)
        if fields["iframe"]:
            self.add("iframe", 'is not used by type "none"; remove it.')
        self.check_checkout_url(fields)
