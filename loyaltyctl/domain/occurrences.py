"""Counting repeated rows of a big file in little memory.

A bulk import derives each row's idempotency key from its content and how many
identical rows came before it. A dict of a million digests costs ~90 MB in Python;
this open-addressing table of 64-bit digests costs 8-16 bytes a row.
"""

from __future__ import annotations

from array import array


class OccurrenceCounter:
    """``seen(digest)`` returns how many times ``digest`` (a 64-bit int) was seen before."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1 << max(10, (capacity * 2 - 1).bit_length())
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._used = 0
        self._repeats: dict[int, int] = {}  # only digests seen more than once

    def seen(self, digest: int) -> int:
        value = digest or 1  # 0 marks an empty slot
        slots, mask = self._slots, self._mask
        i = value & mask
        while True:
            current = slots[i]
            if current == 0:
                slots[i] = value
                self._used += 1
                if self._used * 2 > mask:
                    self._grow()
                return 0
            if current == value:
                count = self._repeats.get(value, 1)
                self._repeats[value] = count + 1
                return count
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        size = (self._mask + 1) * 2
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        slots, mask = self._slots, self._mask
        for value in old:
            if value:
                i = value & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = value
