"""Where the example program (config/) and sample data (fixtures/) are.

In a checkout they are the top-level folders; in an installed package they are
shipped inside it as `loyaltyctl/_data/` (hatchling force-include).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_path(*parts: str) -> Path:
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    return (_PACKAGE / "_data").joinpath(*parts)
