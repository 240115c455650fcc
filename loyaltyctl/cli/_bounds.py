"""Every whole-number option and argument has an upper bound.

Without one, `--limit 99999999999999999999` reaches a database driver or `timedelta`
and ends in an OverflowError. One pass over the command tree (wired in `cli/main.py`)
wraps every command so that a whole number past the bound below is a usage error
(exit 2) naming its option, before the command's body runs.
"""

from __future__ import annotations

from collections.abc import Callable

# larger than any count, limit or amount the tool handles (points: 1,000,000,000)
INTEGER_MAX = 1_000_000_000


def cap_integers(group) -> None:
    """Make every command of the tree refuse whole numbers beyond INTEGER_MAX."""
    for command in getattr(group, "commands", {}).values():
        if hasattr(command, "commands"):
            cap_integers(command)
        elif command.callback is not None:
            command.callback = _capped(command)


def _name(param) -> str:
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    return opts[0] if opts else (param.metavar or param.name or "").upper()


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _capped(command) -> Callable:
    body = command.callback
    names = {param.name: _name(param) for param in command.params}

    def checked(**params):
        for key, value in params.items():
            values = value if isinstance(value, list | tuple) else (value,)
            for item in values:
                if _whole(item) and abs(item) > INTEGER_MAX:
                    from loyaltyctl.domain.errors import UsageProblem

                    raise UsageProblem(f"{names.get(key, key)} must be at most {INTEGER_MAX:,}.")
        return body(**params)

    return checked
