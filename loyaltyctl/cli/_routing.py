"""Which commands read from the read URL (`--read-url`, a streaming replica).

A command listed here runs its read-only transactions (`AppContext.read`) on the read URL
when one is configured; everything else — every write, and every command that must see
its own writes — uses the primary (`--database-url`). Who runs a command and with which
role is always asked of the primary (spec §8). A new read-only command that may see data
a few seconds old is one line here (tests/cli/test_routing.py checks each line names a
command of `cli/_permissions.py` PERMISSIONS).

Left on the primary on purpose: `db current` (the schema the primary has), `whoami` and
`staff list` (who may act now), `events map` and `certificate verify` (no database
read worth moving), and every command that writes.
"""

from __future__ import annotations

READS_FROM_REPLICA: frozenset[str] = frozenset(
    {
        # statistics
        "stats overview",
        "stats claims",
        "stats promo",
        "stats members",
        "stats discounts",
        # listings and `show`
        "member find",
        "member show",
        "member list",
        "points balance",
        "points history",
        "perk list",
        "perk show",
        "perk claims",
        "perk export",
        "claim show",
        "claim certificate",
        "promo list",
        "promo show",
        "promo export",
        "promo export-toml",
        "rules list",
        "tiers list",
        "rules export",
        "tiers export",
        "coupon show",
        "coupon list",
        "coupon export",
        "discount list",
        "discount show",
        "discount grants",
        # checks that change nothing
        "coupon check",
        "quote",
        # the audit trail (`audit verify` says which database it read)
        "audit log",
        "audit verify",
    }
)


def reads_replica(command: str | None) -> bool:
    """Whether ``command`` ("stats claims") may read from the read URL."""
    return command in READS_FROM_REPLICA
