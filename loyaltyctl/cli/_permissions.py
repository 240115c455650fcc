"""Who may run what (spec §8): one table, command group -> the roles that may run it, and
the check every command passes before its body runs (`guard`, wired once in cli/main.py).

A new command is one line in `PERMISSIONS`; tests/cli/test_permissions.py fails for a
registered command, or a ``--reveal*`` option, without one. An option that reveals
secrets has its own line, ``"<command> --<option>"``, checked when it is given. Until
staff exist nothing is checked and nothing is read but one catalog look-up.

Kept light: imported at start-up, it imports no database code until a command runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from loyaltyctl.domain.roles import (
    ADMINISTRATOR,
    EVERYONE,
    MANAGERS,
    OWNERS,
    a,
    needs,
    within_cap,
)

if TYPE_CHECKING:
    from loyaltyctl.domain.roles import Identity

# Every read-only command is open to every role, but those that reveal secrets.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # set-up: the schema, the keys and the staff are the owners'
    "init": OWNERS,
    "db upgrade": OWNERS,
    "db current": EVERYONE,
    "db backup": MANAGERS,  # maintenance (spec §8), like `maintain run`
    "keys init": OWNERS,
    "keys rotate": OWNERS,
    "keys public": EVERYONE,
    "demo": OWNERS,
    "staff add": OWNERS,
    "staff set-role": OWNERS,
    "staff remove": OWNERS,
    "staff cap": OWNERS,
    "staff list": EVERYONE,
    "whoami": EVERYONE,
    "completion": EVERYONE,
    # members: the counter adds, finds, shows and updates; imports are a manager's
    "member add": EVERYONE,
    "member find": EVERYONE,
    "member show": EVERYONE,
    "member update": EVERYONE,
    "member list": EVERYONE,
    "member import": MANAGERS,
    # the right to erasure rewrites audit events (their redaction): a manager's
    "member forget": MANAGERS,
    # points: administrators up to the cap per change (CAPPED)
    "points credit": EVERYONE,
    "points write-off": EVERYONE,
    "points import": MANAGERS,
    "points balance": EVERYONE,
    "points history": EVERYONE,
    # perks and claims
    "apply": MANAGERS,
    "perk list": EVERYONE,
    "perk show": EVERYONE,
    "perk enable": MANAGERS,
    "perk disable": MANAGERS,
    "perk export": EVERYONE,
    "perk export --reveal-secrets": MANAGERS,
    "perk claim": EVERYONE,
    "perk claims": EVERYONE,
    "claim show": EVERYONE,
    "claim show --reveal": MANAGERS,
    "claim cancel": MANAGERS,
    "claim certificate": EVERYONE,
    "certificate verify": EVERYONE,
    # campaigns and promo codes: the counter redeems
    "promo create": MANAGERS,
    "promo generate": MANAGERS,
    "promo export": MANAGERS,  # the codes themselves
    "promo restock": MANAGERS,
    "promo redeem": EVERYONE,
    "promo list": EVERYONE,
    "promo show": EVERYONE,
    "promo show --reveal": MANAGERS,
    "promo pause": MANAGERS,
    "promo resume": MANAGERS,
    "promo archive": MANAGERS,
    "promo export-toml": EVERYONE,  # shared codes left out
    "promo export-toml --reveal-codes": MANAGERS,
    # statistics
    "stats overview": EVERYONE,
    "stats claims": EVERYONE,
    "stats promo": EVERYONE,
    "stats promo --reveal": MANAGERS,
    "stats members": EVERYONE,
    "stats discounts": EVERYONE,
    # earning
    "events ingest": MANAGERS,
    "events map": EVERYONE,
    "rules list": EVERYONE,
    "tiers list": EVERYONE,
    "rules export": EVERYONE,
    "tiers export": EVERYONE,
    # maintenance and audit
    "maintain run": MANAGERS,
    "audit log": EVERYONE,
    "audit verify": EVERYONE,
    "audit checkpoint": MANAGERS,
    # store discounts (spec §7): the counter checks and uses coupons, grants by hand, quotes
    "coupon check": EVERYONE,
    "coupon use": EVERYONE,
    "coupon release": MANAGERS,
    "coupon show": EVERYONE,
    "coupon list": EVERYONE,
    "coupon list --reveal": MANAGERS,
    "coupon export": MANAGERS,
    "discount list": EVERYONE,
    "discount show": EVERYONE,
    "discount grants": EVERYONE,
    "discount grant": EVERYONE,
    "discount revoke": MANAGERS,
    "quote": EVERYONE,
}

# commands an administrator may run only up to the cap: command -> the points parameter
CAPPED = {"points credit": "amount", "points write-off": "amount"}
# never refused: it says who you are and what you may
OPEN = frozenset({"whoami", "completion"})  # completion prints a script: no database
# commands that read files only, never the database: checked when it can be reached
OFFLINE = frozenset({"certificate verify", "keys public", "keys init"})
# commands that run on a database of their own unless --database-url is given on the
# command line: not checked against the configured one (`demo` runs on demo.db)
OWN_DATABASE: frozenset[str] = frozenset({"demo"})


def allowed_roles(key: str) -> tuple[str, ...]:
    """The roles that may; a command missing from the table is an owner's."""
    return PERMISSIONS.get(key, OWNERS)


def may(role: str | None) -> list[str]:
    """The command groups a role may run (`whoami`)."""
    return [key for key, roles in PERMISSIONS.items() if role in roles]


# --- the check -------------------------------------------------------------------------


def guard(group, path: tuple[str, ...] = ()) -> None:
    """Make every command of the tree check its permission before its body runs."""
    for name, command in getattr(group, "commands", {}).items():
        full = (*path, name)
        if hasattr(command, "commands"):
            guard(command, full)
        elif command.callback is not None:
            command.callback = _guarded(command, " ".join(full))


# command -> the flags of its own entries ("perk export" -> ["--reveal-secrets"])
_FLAGS: dict[str, list[str]] = {}
for _key in PERMISSIONS:
    if " --" in _key:
        _command, _flag = _key.rsplit(" ", 1)
        _FLAGS.setdefault(_command, []).append(_flag)


def _guarded(command, path: str) -> Callable:
    body = command.callback
    # the secret-revealing options of this command: flag -> its parameter's name
    options = {
        flag: param.name
        for flag in _FLAGS.get(path, ())
        for param in command.params
        if flag in getattr(param, "opts", ())
    }
    capped = CAPPED.get(path)

    def checked(**params):
        from loyaltyctl.cli._context import current

        current().command = path  # which database it reads: cli/_routing.py
        given = tuple(flag for flag, name in options.items() if params.get(name))
        authorize(path, options=given, points=params.get(capped) if capped else None)
        return body(**params)

    return checked


def authorize(path: str, *, options: tuple[str, ...] = (), points: int | None = None) -> None:
    """Refuse (NotPermitted) what the operator's role may not run; nothing is checked
    while no staff exist."""
    if path in OPEN:
        return
    from loyaltyctl.cli._context import current
    from loyaltyctl.domain.errors import EnvironmentProblem

    ctx = current()
    if path in OWN_DATABASE and ctx.database_url is None:
        return
    try:
        me = ctx.identity()
    except EnvironmentProblem:
        if path in OFFLINE:  # nothing of the database is used: nothing to guard
            return
        raise
    if not me.enforced:
        return
    _ignored_operator(ctx, me)
    for key in (path, *(f"{path} {flag}" for flag in options)):
        allowed = allowed_roles(key)
        if me.role not in allowed:
            raise _refusal(me, key, allowed)
    if points is not None and not within_cap(me.role, points, me.cap):
        raise _over_cap(me, path, points)


def _refusal(me: Identity, key: str, allowed: tuple[str, ...]):
    from loyaltyctl.domain.errors import NotPermitted

    data = {"operator": me.operator, "role": me.role, "command": key, "allowed": list(allowed)}
    if me.role is None:
        return NotPermitted(
            f"{me.operator} is not on the staff of this database, so it may run only "
            "`loyaltyctl whoami`.",
            **data,
        )
    return NotPermitted(
        f"`loyaltyctl {key}` needs {needs(allowed)}; {me.operator} is {a(me.role)}.", **data
    )


def _over_cap(me: Identity, path: str, points: int):
    from loyaltyctl.domain.errors import NotPermitted

    return NotPermitted(
        f"{me.operator} is an administrator, who may move at most {me.cap:,} points per "
        f"credit or write-off; {points:,} needs {needs(MANAGERS)}.",
        operator=me.operator,
        role=ADMINISTRATOR,
        command=path,
        allowed=list(MANAGERS),
        cap=me.cap,
    )


def _ignored_operator(ctx, me: Identity) -> None:
    """Once staff exist the operator is the login: a name given otherwise is ignored,
    and the user told so (once)."""
    given = ctx.operator_flag or os.environ.get("LOYALTYCTL_OPERATOR")
    if given and given.strip() != me.operator and not ctx.warned_operator:
        from loyaltyctl.cli._output import Output

        source = "--operator" if ctx.operator_flag else "LOYALTYCTL_OPERATOR"
        Output().warn(
            f"{source} {given!r} is ignored: staff are defined, so the operator recorded is "
            f"the login, {me.operator}."
        )
        ctx.warned_operator = True
