"""Reading a file's rows a chunk or two ahead of the database work, in a thread.

A bulk import alternates between Python work (parsing and checking rows) and waiting
for the database (key look-ups, locks, COPY or executemany, which release the GIL).
Parsing the next chunk while the database works on this one overlaps the two; a
bounded queue keeps at most `AHEAD` chunks read and not yet applied, so memory stays
flat in rows.

The reading thread only runs the row generator it is given: what that generator
touches (its problems, its counters) must be its own (see `services.imports`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

AHEAD = 2  # chunks read and not yet taken
_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def chunks_ahead(
    rows: Iterator[T], size: int, *, on_chunk: Callable[[int], None] | None = None
) -> Iterator[list[T]]:
    """The items of ``rows`` in lists of ``size`` (the last one shorter, possibly empty:
    there is always at least one), read by a thread at most `AHEAD` lists ahead. An
    exception of ``rows`` is raised here, where the list it interrupted would have been
    taken. ``on_chunk(n)`` runs in the reading thread once the n-th list (from 1) is
    full, before the items after it are read. Leaving the loop early stops the thread."""
    handoff: queue.Queue = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        chunk: list[T] = []
        full = 0
        try:
            for row in rows:
                chunk.append(row)
                if len(chunk) >= size:
                    full += 1
                    if on_chunk is not None:
                        on_chunk(full)
                    if not put(chunk):
                        return
                    chunk = []
            if put(chunk):
                put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the taker, raised there
            put(_Failed(exc))
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        reader.join()
