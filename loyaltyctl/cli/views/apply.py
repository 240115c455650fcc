"""The plan of `apply`: what the program files create, update, disable or leave."""

from __future__ import annotations

from loyaltyctl.cli._output import Output

ACTION_STYLE = {"create": "green", "update": "yellow", "disable": "red", "unchanged": "dim"}


def apply_json(result) -> dict:
    return {
        "dry_run": result.dry_run,
        "created": result.count("create"),
        "updated": result.count("update"),
        "unchanged": result.count("unchanged"),
        "disabled": result.count("disable"),
        "changes": [
            {"kind": c.kind, "slug": c.slug, "action": c.action, "fields": list(c.fields)}
            for c in result.changes
        ],
        "warnings": list(result.warnings),
    }


def apply_plan(out: Output, result) -> list:
    from rich.markup import escape
    from rich.table import Table

    summary = apply_json(result)
    counts = (
        f"{summary['created']} to create, {summary['updated']} to update, "
        f"{summary['disabled']} to disable, {summary['unchanged']} unchanged"
    )
    if result.dry_run:
        tail = f"Dry run: {counts}. Nothing was changed."
    elif result.changed:
        tail = (
            f"Applied: {summary['created']} created, {summary['updated']} updated, "
            f"{summary['disabled']} disabled, {summary['unchanged']} unchanged."
        )
    else:
        tail = f"Nothing to change: {summary['unchanged']} unchanged."
    if not result.changes:
        return ["Nothing in the files."]
    table = Table(title="Plan", title_justify="left", header_style="bold")
    for title in ("Action", "Kind", "Slug", "Changed fields"):
        table.add_column(title)
    for c in result.changes:
        style = ACTION_STYLE.get(c.action, "")
        table.add_row(
            f"[{style}]{c.action}[/]",
            c.kind,
            escape(c.slug),
            escape(", ".join(c.fields)) if c.action == "update" else "",
        )
    return [table, tail]
