"""Earning: store events and scheduled jobs turned into points through the rules in force.

- ``rules``: earning rules and tiers as applied (rows <-> domain), their plans, listings.
- ``in_force``: the rules in force, as one transaction reads them.
- ``status``: a member's tier status.
- ``ingest``: `events ingest`: reading and chunking the file, one transaction per chunk
  (or per file), each chunk locking its members and reading what its events need.
- ``handlers``: what each event type does, registered by type; the earning ones share
  one rule loop (`handlers.base.RuleHandler.earn`).
- ``engine``: awards, reversals and tier changes for locked members, written in bulk.
- ``counters``: the rules' limit counters of one transaction.
- ``jobs``: what `maintain run` does for earning (birthdays, tier reviews).

The pure policy is in `domain`: `earning` (points), `limits`, `refunds`, `tiers`.
"""
