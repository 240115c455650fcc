"""Earning: store events and scheduled jobs turned into points through the rules in force.

- ``rules``: earning rules and tiers as applied (rows <-> domain), the rules in force,
  listings and a member's tier status.
- ``ingest``: `events ingest` (reading, chunking, one transaction per chunk or file).
- ``engine``: awards, reversals, limit counters and tier changes for locked members.
- ``jobs``: what `maintain run` does for earning (birthdays, tier reviews).
"""
