"""Staff: the roster, the changes, `whoami`."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, jsonable
from loyaltyctl.domain.roles import ADMINISTRATOR, a

ROSTER_COLUMNS = [
    Column("login", "Login"),
    Column("role", "Role"),
    Column("added_at", "Since"),
    Column("added_by", "Added by"),
    Column("status", "Status"),
]


def roster_rows(members) -> list[dict]:
    """One row per staff member: JSON-ready values for --json and --csv, the moments
    kept as datetimes for the table (printed in local time)."""
    return [
        {
            "login": m.login,
            "role": m.role,
            "added_at": m.added_at,
            "added_by": m.added_by,
            "removed_at": m.removed_at,
            "active": m.active,
            "status": "active" if m.active else "removed",
        }
        for m in members
    ]


def roster_document(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "status"} for row in jsonable(rows)]


def change_text(change) -> str:
    if change.action == "unchanged":
        return f"Nothing to change: {change.login} is already {a(change.role)}."
    if change.action == "removed":
        text = f"Removed {change.login} ({change.previous_role}) from the staff."
        if change.login_disabled:
            text += " Their login can no longer log in."
        return text + " What they did stays in their name."
    if change.action == "role_changed":
        return f"{change.login} is now {a(change.role)} (was {a(change.previous_role)})."
    text = f"Added {change.login} as {a(change.role)}."
    if change.login_created:
        text += (
            f" Created the login role {change.login} (no password: set one with ALTER ROLE,"
            " or let pg_hba.conf decide how it authenticates)."
        )
    if change.owner_adopted:
        text += (
            f" Roles are enforced from now on; {change.owner_adopted} (running this) is an owner."
        )
    return text


def cap_text(change) -> str:
    if not change.changed:
        return f"The administrator cap is already {change.cap:,} points."
    return (
        f"The administrator cap is now {change.cap:,} points per credit or write-off "
        f"(was {change.previous:,})."
    )


def whoami_document(me, may: list[str], *, operator: str) -> dict:
    return {
        "operator": me.operator if me.enforced else operator,
        "role": me.role,
        "may": may,
        "enforced": me.enforced,
        "cap": me.cap,
        "backend": me.backend,
        "refused": me.connection_refused,
    }


def whoami_text(doc: dict):
    from rich.markup import escape
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Operator", escape(doc["operator"]))
    if not doc["enforced"]:
        grid.add_row("Role", "none: no staff defined, so no role is checked")
    elif doc["role"] is None:
        grid.add_row("Role", "none: not on the staff of this database")
        if doc["refused"]:
            grid.add_row("", escape(doc["refused"]))
    else:
        grid.add_row("Role", doc["role"])
    if doc["role"] == ADMINISTRATOR:
        grid.add_row("Cap", f"{doc['cap']:,} points per credit or write-off")
    groups = _by_noun(doc["may"])
    if not groups:
        grid.add_row("May run", "only whoami")
    for i, (noun, verbs) in enumerate(groups.items()):
        grid.add_row("May run" if i == 0 else "", escape(f"{noun} {', '.join(verbs)}".strip()))
    return grid


def _by_noun(commands: list[str]) -> dict[str, list[str]]:
    """``member add``, ``member find`` -> {"member": ["add", "find"]}; commands of one
    word share the first line."""
    groups: dict[str, list[str]] = {"": []}
    for command in commands:
        noun, _, verb = command.partition(" ")
        if verb:
            groups.setdefault(noun, []).append(verb)
        else:
            groups[""].append(noun)
    return {k: v for k, v in groups.items() if v}
