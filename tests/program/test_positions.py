"""Problems are placed at the key's real column, also when keys are indented or inside
inline tables (never column 1 by default)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.program.files import read_program_files

INDENTED = """\
[[perk]]
  slug = "x"
  name = "X"
  price = -5
  audience = { tierz = ["a"] }
  [perk.redemption]
    type = "code"
    valu = "1"
"""


def test_every_problem_has_the_column_of_its_key(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(INDENTED)
    with pytest.raises(BadInputFile) as caught:
        read_program_files([path], env={}, tz=ZoneInfo("UTC"))
    placed = [(p.line, p.column, p.field) for p in caught.value.problems]
    assert placed == [(4, 3, "price"), (5, 16, "audience.tierz"), (8, 5, "redemption.valu")]
