"""Where a program file's key is: the position a problem found when planning names.

A module of its own so that reading earning rules (`quote`'s points preview) does not
import the perks' specs (start-up)."""

from __future__ import annotations


def position_of(positions: dict[str, tuple[int, int]], key: str, line: int) -> tuple[int, int]:
    """The line and column of a dotted key, else of its table, else of the table's header
    (``line``): where a problem found when planning is reported."""
    while key:
        if key in positions:
            return positions[key]
        key = key.rpartition(".")[0]
    return line, 1
