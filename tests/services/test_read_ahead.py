"""The thread that reads a bulk import's rows ahead of the database work."""

from __future__ import annotations

import threading

import pytest

from loyaltyctl.services.read_ahead import chunks_ahead


def test_chunks_keep_the_order_and_end_with_the_rest_or_an_empty_one():
    assert list(chunks_ahead(iter(range(5)), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunks_ahead(iter(range(4)), 2)) == [[0, 1], [2, 3], []]
    assert list(chunks_ahead(iter(()), 2)) == [[]]


def test_on_chunk_runs_before_the_rows_after_a_full_chunk_are_read():
    seen: list[str] = []

    def rows():
        for n in range(5):
            seen.append(f"row {n}")
            yield n

    list(chunks_ahead(rows(), 2, on_chunk=lambda full: seen.append(f"full {full}")))
    assert seen == ["row 0", "row 1", "full 1", "row 2", "row 3", "full 2", "row 4"]


def test_an_error_of_the_rows_is_raised_where_its_chunk_would_come():
    def rows():
        yield from (1, 2, 3)
        raise ValueError("line 4 is unreadable")

    taken = []
    with pytest.raises(ValueError, match="line 4"):
        for chunk in chunks_ahead(rows(), 2):
            taken.append(chunk)
    assert taken == [[1, 2]]


def test_leaving_early_stops_the_reading_thread_and_closes_the_rows():
    closed = threading.Event()

    def rows():
        try:
            n = 0
            while True:  # endless: only stopping the thread ends it
                yield n
                n += 1
        finally:
            closed.set()

    with pytest.raises(RuntimeError):
        for _chunk in chunks_ahead(rows(), 10):
            raise RuntimeError("the database refused the chunk")
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]
