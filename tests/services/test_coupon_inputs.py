"""Whatever a store sends, the cart reader and the events reader answer with problems,
never with an unexpected error (fuzzed)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.domain.events import EventProblem, parse_line
from loyaltyctl.services.coupons.checkout import read_cart

NOW = datetime(2026, 12, 4, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
item = st.fixed_dictionaries(
    {},
    optional={
        "sku": json_values,
        "price": json_values | st.sampled_from(["10.00", "1.005", "-1", "1e3", " 2 "]),
        "quantity": json_values,
        "collections": json_values,
        "sale": json_values,
    },
)
cart = st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(item, max_size=5) | json_values,
        "shipping": json_values,
        "giftcard": json_values,
        "coupons": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), cart.map(json.dumps)))
def test_any_cart_is_read_or_refused_with_positions(text):
    try:
        read_cart(text, "cart.json")
    except BadInputFile as bad:
        assert bad.problems and all(p.line >= 1 and p.column >= 1 for p in bad.problems)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_coupons_field_is_read_or_a_bad_line_that_hides_the_codes(coupons):
    event = {
        "id": "e1",
        "type": "order.paid",
        "at": "2026-12-01T10:00:00Z",
        "member": "C-1",
        "order_id": "1",
        "items": [{"sku": "A", "price": "1.00", "quantity": 1}],
        "coupons": coupons,
    }
    try:
        parsed = parse_line(json.dumps(event), 1, tz=ZoneInfo("UTC"), now=NOW)
    except EventProblem as problem:
        for code in coupons if isinstance(coupons, list) else []:
            if isinstance(code, str) and re.fullmatch(r"[A-Z0-9]{8,}", code):
                assert code not in str(problem)
    else:
        assert parsed.coupons == tuple(coupons or ())
