"""Did-you-mean: the known names closest to a mistyped one, best first.

Case and separators do not count (`m1`, `M_1` and `M 1` all find `M-1` first), then
the fewest edits (insert, delete, replace, swap of neighbours), then the longest shared
run of characters. At most three, and only those a typo away: an edit distance within a
third of the name's length (at least one).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

SEPARATORS = re.compile(r"[\s\-_.:/]+")
MAX_SUGGESTIONS = 3


def normalised(name: str) -> str:
    return SEPARATORS.sub("", name).casefold()


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swap of neighbours counts as one edit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def closest(name: str, known: Iterable[str], limit: int = MAX_SUGGESTIONS) -> list[str]:
    """The known names a typo away from `name`, closest first (never `name` itself)."""
    wanted = normalised(name)
    if not wanted:
        return []
    allowed = max(1, len(wanted) // 3)
    ranked = []
    for candidate in set(known):
        if candidate == name:
            continue
        other = normalised(candidate)
        distance = edit_distance(wanted, other)
        if distance <= allowed:
            similarity = difflib.SequenceMatcher(None, wanted, other).ratio()
            ranked.append((distance, -similarity, candidate))
    return [candidate for *_, candidate in sorted(ranked)[:limit]]
