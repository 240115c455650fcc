"""What several nouns' views share: label/value grids, audiences, validity windows."""

from __future__ import annotations

from dataclasses import dataclass

from loyaltyctl.cli._output import local_time


@dataclass(frozen=True)
class ReadFrom:
    """Which database a read-only command read (JSON ``read_from`` of `audit verify`
    and `stats`)."""

    database: str  # "primary" or "replica" (the read URL)
    url: str  # without its password
    lag_seconds: float | None = None  # a replica's, when it is a PostgreSQL standby


def fields(item) -> dict:
    """A dataclass's fields as they are (timestamps stay timestamps for local time)."""
    return {k: getattr(item, k) for k in item.__dataclass_fields__}


def grid(rows: list[tuple[str, object]]):
    """Label/value lines for a panel: yes/no for flags, a dim dash for nothing."""
    from rich.markup import escape
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif value is None or value == "":
            text = "[dim]—[/]"
        else:
            text = escape(str(value))
        table.add_row(label, text)
    return table


def audience_text(audience) -> str:
    if audience.is_everyone():
        return "everyone"
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in audience.as_dict().items() if v)


def window_text(item) -> str | None:
    """A perk's or campaign's validity window, in the program time zone."""
    if not (item.valid_from or item.valid_until):
        return None
    start = local_time(item.valid_from) if item.valid_from else "…"
    end = local_time(item.valid_until) if item.valid_until else "…"
    return f"{start} → {end}"
