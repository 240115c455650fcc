"""Deterministic crash points, for tests only.

``LOYALTYCTL_CRASH_AT=name`` makes the process kill itself (SIGKILL: no clean-up, no
commit, nothing flushed) the first time it reaches the point of that name;
``name@N`` the N-th time (the third chunk: ``ingest-after-chunk@3``). The points sit
where a kill is most telling: just before a transaction commits, and between the
transactions of a command that runs several. `POINTS` lists them; tests kill at each
(tests/proofs/test_crash_points.py) and check that what was committed is whole.

Unset (always, outside tests) a point costs one environment look-up.
"""

from __future__ import annotations

import os
import signal

ENV = "LOYALTYCTL_CRASH_AT"

POINTS = (
    "credit-before-commit",  # points credit: the entry, lot and balance written
    "points-import-before-commit",  # points import: every row written
    "member-import-before-commit",  # member import: every row written
    "ingest-chunk-before-commit",  # events ingest: a chunk's awards written
    "ingest-after-chunk",  # events ingest: a chunk committed, the next not begun
    "generate-before-first-commit",  # promo generate: the batch and its first chunk
    "generate-after-chunk",  # promo generate: a chunk committed
    "claim-before-commit",  # perk claim: spend, supply, claim, certificate written
    "redeem-before-commit",  # promo redeem: points, prizes, counters written
    "coupon-use-before-commit",  # coupon use: the coupon marked used
    "maintain-before-commit",  # maintain run: lots expired and matured
    "maintain-between-transactions",  # maintain run: points work committed, webhooks not
    "webhook-after-post",  # maintain run: a webhook posted, its result not recorded
    "rotate-after-key-file",  # keys rotate: the new key saved, nothing re-encrypted
    "rotate-before-commit",  # keys rotate: every secret re-encrypted
    "forget-before-commit",  # member forget: events redacted, the member erased
)

_seen: dict[str, int] = {}


def reached(name: str) -> None:
    """Kill this process here if LOYALTYCTL_CRASH_AT names this point (and count)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    for spec in wanted.split(","):
        point, _, nth = spec.strip().partition("@")
        if point != name:
            continue
        _seen[name] = _seen.get(name, 0) + 1
        if _seen[name] == (int(nth) if nth.isdigit() else 1):
            os.kill(os.getpid(), signal.SIGKILL)
