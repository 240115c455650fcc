"""CLI tests see what a user who redirects the output sees, whatever runs the tests.

pytest-xdist workers export COLUMNS=80 and a CI runner may force colour; the tool's
output depends on both, so they are cleared here.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _plain_output_environment(monkeypatch):
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "FORCE_TERMINAL", "LOYALTYCTL_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name in ("LOYALTYCTL_TIMEZONE", "LOYALTYCTL_EXPIRING_SOON_DAYS", "LOYALTYCTL_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
