"""What the CLI tests see (tests/cli/conftest.py), and a key file for every test here."""

from __future__ import annotations

import pytest

from tests.cli.conftest import _plain_output_environment  # noqa: F401 - an autouse fixture


@pytest.fixture(autouse=True)
def _keys(_plain_output_environment, keys):  # noqa: F811 - the fixture imported above
    return keys
