from hypothesis import given
from hypothesis import strategies as st

from loyaltyctl.domain.occurrences import OccurrenceCounter


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1) | st.integers(0, 40), max_size=3000))
def test_counts_match_a_plain_dict(digests):
    counter, expected = OccurrenceCounter(capacity=4), {}
    for d in digests:
        assert counter.seen(d) == expected.get(d or 1, 0)
        expected[d or 1] = expected.get(d or 1, 0) + 1
