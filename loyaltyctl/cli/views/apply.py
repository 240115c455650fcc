"""The plan of `apply`: what the program files create, update (old → new, field by
field, secrets masked), disable or leave."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from loyaltyctl.cli._output import Output, jsonable, local_time

SECRET_MASK = "***"  # domain.perks.SECRET_MASK (not imported here: start-up stays light)

ACTION_STYLE = {"create": "green", "update": "yellow", "disable": "red", "unchanged": "dim"}
SHOWN_TEXT = 48  # characters of a long value a person sees in the plan (--json has it all)


def apply_json(result) -> dict:
    return {
        "dry_run": result.dry_run,
        "created": result.count("create"),
        "updated": result.count("update"),
        "unchanged": result.count("unchanged"),
        "disabled": result.count("disable"),
        "changes": [
            {
                "kind": c.kind,
                "slug": c.slug,
                "action": c.action,
                "fields": list(c.fields),
                "changes": [
                    {"field": f.field, "old": jsonable(f.old), "new": jsonable(f.new)}
                    for f in c.changes
                ],
            }
            for c in result.changes
        ],
        "warnings": list(result.warnings),
    }


def value_text(value) -> str:
    """A value as a person reads it in a plan: strings quoted, long ones shortened."""
    if value is None:
        return "(none)"
    if value == SECRET_MASK:
        return value
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    text = json.dumps(jsonable(value), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= SHOWN_TEXT else text[: SHOWN_TEXT - 1] + "…"


def change_lines(change) -> list[str]:
    """`field: old → new` for each changed field of an update or a disable."""
    return [f"{f.field}: {value_text(f.old)} → {value_text(f.new)}" for f in change.changes]


def apply_tail(result) -> str:
    summary = apply_json(result)
    counts = (
        f"{summary['created']} to create, {summary['updated']} to update, "
        f"{summary['disabled']} to disable, {summary['unchanged']} unchanged"
    )
    if result.dry_run:
        return f"Dry run: {counts}. Nothing was changed."
    if result.changed:
        return (
            f"Applied: {summary['created']} created, {summary['updated']} updated, "
            f"{summary['disabled']} disabled, {summary['unchanged']} unchanged."
        )
    return f"Nothing to change: {summary['unchanged']} unchanged."


def apply_plan(out: Output, result) -> list:
    """Creates and unchanged ones on one line each; an update or a disable names every
    field it changes, old → new, under it (terraform plan's way, at any width)."""
    from rich.markup import escape
    from rich.table import Table

    if not result.changes:
        return ["Nothing in the files."]
    table = Table.grid(padding=(0, 2))
    table.title, table.title_justify, table.title_style = "Plan", "left", "bold"
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for c in result.changes:
        style = ACTION_STYLE.get(c.action, "")
        table.add_row(f"[{style}]{c.action}[/]", c.kind, escape(c.slug))
        if c.action in ("update", "disable"):
            for line in change_lines(c):
                table.add_row("", "", "  " + escape(line))
    return [table, apply_tail(result)]
