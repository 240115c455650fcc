"""Did-you-mean: separators and case do not count, ranked by edits, at most three."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain.suggest import closest, edit_distance

IDS = ["M-1", "M-10", "M-11", "M-2", "C-1001", "C-1010", "N-7"]


def test_separators_and_case_do_not_count():
    for typed in ("M1", "m1", "m-1 ", "M_1", "m 1", "M.1"):
        assert closest(typed, IDS)[0] == "M-1", typed


def test_candidates_are_ranked_by_edits_and_at_most_three():
    # four names one edit away: the most alike first, three shown
    assert closest("M-12", IDS) == ["M-1", "M-2", "M-10"]
    assert closest("C-1100", IDS) == ["C-1010"]  # two neighbours swapped: one edit


def test_a_swap_of_neighbours_is_one_edit():
    assert edit_distance("wiatdays", "waitdays") == 1
    assert closest("free-cofee", ["free-coffee", "free-shipping"]) == ["free-coffee"]
    assert closest("fere-coffee", ["free-coffee"]) == ["free-coffee"]


def test_nothing_far_away_is_suggested():
    assert closest("zzz", IDS) == []
    assert closest("", IDS) == []
    assert closest("M-1", ["M-1"]) == []  # the name itself is no suggestion


@given(st.text(max_size=12), st.lists(st.text(max_size=12), max_size=20))
def test_any_input_gives_at_most_three_known_names(name, known):
    found = closest(name, known)
    assert len(found) <= 3 and set(found) <= set(known) and name not in found
