# ruff: noqa: E501 - TOML tables written as a club writes them
"""A discount program shared by the discount tests: the seed's Diamond and Emerald
subscription discounts, a purchase-granted one, a scheduled one and a dormant one."""

from __future__ import annotations

PROGRAM = """
[[discount]]
slug = "diamond-10"
name = "-10% for Diamond subscribers"
percent = 10
scopes = [{ type = "store" }]
triggers = [{ type = "subscription", package = "DIAMOND", duration = "while_active" }, { type = "admin" }]
stack_with = ["coupon", "discount"]
priority = 10
exclusive_group = "subscription_tier"

[[discount]]
slug = "emerald-15"
name = "-15% for Emerald subscribers"
percent = 15
scopes = [{ type = "store" }]
triggers = [{ type = "subscription", package = "EMERALD", duration = "while_active" }, { type = "admin" }]
stack_with = ["coupon", "discount"]
priority = 10
exclusive_group = "subscription_tier"

[[discount]]
slug = "coffee-club"
name = "-20% on coffee for a month"
percent = 20
scopes = [{ type = "category", category = "coffee" }]
triggers = [{ type = "purchase", package = "CLUB-1M", duration = "30 days" }]
stack_with = ["discount"]
priority = 5

[[discount]]
slug = "night-owl"
name = "-5% on Friday nights"
percent = 5
schedule = { weekdays = ["fri"], time_from = "22:00", time_until = "02:00" }
scopes = [{ type = "store" }]
triggers = [{ type = "admin" }]
stack_with = ["discount", "coupon"]

[[discount]]
slug = "sleepy"
name = "No scope yet"
percent = 5
triggers = [{ type = "admin" }]
"""


def without_group(program: str = PROGRAM) -> str:
    """The program with the exclusive group left out (the seed's -25% case)."""
    return program.replace('exclusive_group = "subscription_tier"\n', "")
