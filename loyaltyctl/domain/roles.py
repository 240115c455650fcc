"""Staff roles (spec §8): the roles, their order, the administrator's cap and what
makes a login name valid.

Three roles, each allowed everything the next one is: an owner everything, a manager
everything but the keys, the schema and the staff, an administrator the counter's work.
Which command needs which role is the front end's table (cli/_permissions.py). Kept
free of dataclasses: the CLI imports it at start-up (the values are in domain/staff.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from loyaltyctl.domain.values import MAX_AMOUNT, ValueProblem, bounded_int

OWNER, MANAGER, ADMINISTRATOR = "owner", "manager", "administrator"
ROLES = (OWNER, MANAGER, ADMINISTRATOR)  # highest first
EVERYONE = ROLES
MANAGERS = (OWNER, MANAGER)
OWNERS = (OWNER,)

# an administrator's largest credit or write-off per change, until an owner sets another
DEFAULT_CAP = 1_000
CAP_SETTING = "administrator_cap"

# the PostgreSQL group role of each staff role (cluster-wide, made by migration 0008)
GROUP_ROLES = {role: f"loyalty_{role}" for role in ROLES}

# a login name: a PostgreSQL role a connection URL can name, or an OS login
_LOGIN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.@-]{0,62}")
_RESERVED = ("pg_", "loyalty_")
_DIGITS_RE = re.compile(r"[0-9]+")  # ASCII only: "²".isdigit() is true, int("²") fails


def validate_login(text: str) -> str:
    """A staff member's login: a PostgreSQL role name or an OS login (letters, digits,
    ``_ . @ -``, at most 63 characters, not starting with a digit)."""
    name = text.strip()
    if not _LOGIN_RE.fullmatch(name):
        raise ValueProblem(
            f"{text!r} is not a login name (letters, digits, _ . @ -, at most 63, "
            "starting with a letter or _)"
        )
    lowered = name.lower()
    if lowered.startswith(_RESERVED) or lowered in ("public", "none", "current_user"):
        raise ValueProblem(f"{name!r} is reserved for the database's own roles")
    return name


def validate_role(text: str) -> str:
    role = text.strip().lower()
    if role not in ROLES:
        raise ValueProblem(f"{text!r} is not a role; use {', '.join(ROLES)}")
    return role


def parse_cap(text: str) -> int:
    """The administrator cap: a whole number of points, 0 to 1,000,000,000 (0: an
    administrator may not credit or write off at all)."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    if not _DIGITS_RE.fullmatch(cleaned):
        raise ValueProblem(f"{text!r} is not a whole number of points (digits only, e.g. 1000)")
    value = bounded_int(cleaned)
    if value > MAX_AMOUNT:
        raise ValueProblem(f"the cap must be at most {MAX_AMOUNT:,}")
    return value


def rank(role: str) -> int:
    """0 for an owner, 1 for a manager, 2 for an administrator."""
    return ROLES.index(role)


def least_of(allowed: tuple[str, ...]) -> str:
    """The lowest role among ``allowed`` (the one a refusal names: "needs a manager")."""
    return max(allowed, key=rank)


def a(role: str) -> str:
    """The role with its article: "an owner", "a manager", "an administrator"."""
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def needs(allowed: tuple[str, ...]) -> str:
    """Who may, for a refusal: "an owner", "a manager (or an owner)", "any staff member"."""
    lowest = least_of(allowed)
    higher = [r for r in ROLES if rank(r) < rank(lowest)]
    if lowest == ADMINISTRATOR:
        return "any staff member"
    return a(lowest) + (f" (or {' or '.join(a(r) for r in higher)})" if higher else "")


def within_cap(role: str | None, points: int, cap: int) -> bool:
    """Whether one credit or write-off of ``points`` is within the role's limit."""
    return role != ADMINISTRATOR or abs(points) <= cap


class Identity(NamedTuple):
    """Who runs the command, as the database knows them (a NamedTuple: it is made before
    every command, and a dataclass costs more to define at start-up).

    ``enforced``: staff exist, so roles are checked and the operator is the login.
    ``role`` is None for a login that is not (or no longer) on the staff."""

    operator: str  # the login (PostgreSQL current_user, or the OS login on SQLite)
    role: str | None
    enforced: bool
    cap: int = DEFAULT_CAP
    backend: str = "sqlite"
    superuser: bool = False
    # PostgreSQL refused the connection itself (no CONNECT, or the login disabled)
    connection_refused: str | None = None
