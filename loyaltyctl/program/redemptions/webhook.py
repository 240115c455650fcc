"""`type = "webhook"`: each claim is POSTed, signed, to the perk's webhook_url."""

from __future__ import annotations

from typing import Any

from loyaltyctl.program.redemptions.base import RedemptionReader


class WebhookRedemption(RedemptionReader):
    type = "webhook"
    keys = (
        "value",
        "value_env",
        "value_file",
        "instructions",
        "iframe",
        "checkout_url",
        "webhook_url",
        "webhook_secret",
        "webhook_secret_env",
        "webhook_secret_file",
    )

    def fill(self, fields: dict[str, Any]) -> None:
        fields["value"] = self.secret("value")
        fields["webhook_secret"] = self.secret("webhook_secret")
        self.refuse_single_use(fields)
        self.check_iframe(fields)
        if fields["webhook_url"] is None and "webhook_url" not in self.table:
            self.add(
                "type", 'type "webhook" needs webhook_url, the https URL each claim is POSTed to.'
            )
        self.check_webhook_url(fields)
