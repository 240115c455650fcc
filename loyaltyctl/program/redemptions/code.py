"""`type = "code"`: the member is shown a code (the same for all, or unique per claim)."""

from __future__ import annotations

from typing import Any

from loyaltyctl.program.redemptions.base import RedemptionReader

SINGLE_USE_BASE_MAX = 60  # leaves room for the "-SUFFIX" added per claim


class CodeRedemption(RedemptionReader):
    type = "code"
    keys = (
        "value",
        "value_env",
        "value_file",
        "instructions",
        "single_use",
        "iframe",
        "checkout_url",
    )

    def fill(self, fields: dict[str, Any]) -> None:
        value = fields["value"] = self.secret("value")
        if fields["single_use"] and value is not None and len(value) > SINGLE_USE_BASE_MAX:
            self.add(
                self.given("value")[0],
                f"is {len(value)} characters long; a single-use code may be at most"
                f" {SINGLE_USE_BASE_MAX} before its suffix.",
            )
        self.check_iframe(fields)
        self.refuse_webhook(fields)
