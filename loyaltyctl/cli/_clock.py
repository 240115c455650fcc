"""LOYALTYCTL_CLOCK (for tests only): the time every command of this process takes as
now. The override itself is `domain.values.set_clock`, the one clock every service reads
through `utcnow`; this module only reads the variable, once per command."""

from __future__ import annotations

import os
from collections.abc import Mapping

CLOCK_VARIABLE = "LOYALTYCTL_CLOCK"


def activate(environ: Mapping[str, str] = os.environ) -> None:
    """Set the program's clock from LOYALTYCTL_CLOCK, or back to the real one when it
    is unset (an in-process test runner invokes many commands in one process)."""
    from loyaltyctl.domain import values

    text = (environ.get(CLOCK_VARIABLE) or "").strip()
    if not text:
        values.set_clock(None)
        return
    from loyaltyctl.cli._context import current
    from loyaltyctl.domain.errors import ConfigProblem

    try:
        moment = values.parse_moment(text, current().settings.tz, end_of_day=False)
    except values.ValueProblem as exc:
        raise ConfigProblem(f"{CLOCK_VARIABLE}: {exc}.") from None
    values.set_clock(moment)
