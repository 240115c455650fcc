"""The views' shared helpers: charts, label/value grids, validity windows, audiences."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console

from loyaltyctl.cli.views.charts import bar_chart
from loyaltyctl.cli.views.common import audience_text, fields, grid, window_text
from loyaltyctl.domain.perks import Audience


def rendered(renderable) -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_bars_are_proportional_to_the_largest_with_eighths_at_the_end():
    chart = bar_chart([("2026-01", 8), ("2026-02", 1), ("2026-03", 0)], width=2)
    assert chart.splitlines() == ["2026-01 ██ 8", "2026-02 ▎ 1", "2026-03  0"]
    assert bar_chart([]) == "(no data)"
    assert bar_chart([("a", 0)]) == "a  0"  # all zero: no division by zero


def test_a_grid_shows_flags_as_yes_no_and_nothing_as_a_dash():
    text = rendered(grid([("Active", True), ("Paused", False), ("Note", None), ("Name", "[b]x")]))
    lines = [line.split() for line in text.splitlines()]
    assert lines == [["Active", "yes"], ["Paused", "no"], ["Note", "—"], ["Name", "[b]x"]]


def test_a_window_names_its_open_ends():
    class Item:
        valid_from = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
        valid_until = None

    assert window_text(Item()) == "2026-07-01 12:00 UTC → …"
    Item.valid_from, Item.valid_until = None, None
    assert window_text(Item()) is None


def test_an_audience_lists_its_non_empty_lists():
    assert audience_text(Audience()) == "everyone"
    assert audience_text(Audience(tiers=("gold",), tags=("vip", "staff"))) == (
        "tiers: gold; tags: vip, staff"
    )


def test_fields_keep_timestamps_as_they_are():
    @dataclass(frozen=True)
    class Entry:
        id: int
        at: datetime

    moment = datetime(2026, 7, 1, tzinfo=UTC)
    assert fields(Entry(7, moment)) == {"id": 7, "at": moment}
