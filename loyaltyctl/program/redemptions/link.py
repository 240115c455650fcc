"""`type = "link"`: the member is given a URL."""

from __future__ import annotations

from typing import Any

from loyaltyctl.program.checks import url_problem
from loyaltyctl.program.redemptions.base import RedemptionReader


class LinkRedemption(RedemptionReader):
    type = "link"
    keys = ("value", "value_env", "value_file", "instructions", "iframe", "checkout_url")

    def fill(self, fields: dict[str, Any]) -> None:
        value = fields["value"] = self.secret("value")
        if value is not None and url_problem(value, schemes=("https",)):
            # the value may be a secret: say what is expected, never echo it
            self.add(
                self.given("value")[0],
                'must be an https URL for type "link" (http:// is not accepted).',
            )
        self.refuse_single_use(fields)
        self.check_iframe(fields)
        self.refuse_webhook(fields)
