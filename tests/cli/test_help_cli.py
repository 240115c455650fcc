"""Help examples print as written at any width: never re-wrapped inside a value."""

from __future__ import annotations

import pytest

from loyaltyctl.cli._help import verbatim_examples
from loyaltyctl.cli.completion import command_tree

PATHS = [path for path in command_tree() if path]


@pytest.mark.parametrize("path", PATHS)
def test_the_example_stays_on_one_line_at_60_columns(cli, monkeypatch, path):
    monkeypatch.setenv("COLUMNS", "60")
    result = cli(*path.split(), "--help", url=None)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    examples = [i for i, line in enumerate(lines) if line.strip().startswith("Example:")]
    assert examples, f"{path}: no example"
    for i in examples:
        assert lines[i].strip().startswith("Example: loyaltyctl") or "loyaltyctl" in lines[i]
        # the paragraph ends with the example line: nothing of it was wrapped onto the next
        assert (
            i + 1 == len(lines)
            or lines[i + 1].strip() == ""
            or lines[i + 1].startswith("  Example:")
        ), (path, lines[i : i + 2])


def test_only_example_paragraphs_are_marked():
    text = "Does things.\n\nMore words here.\n\nExample: loyaltyctl x --out a-b.csv"
    marked = verbatim_examples(text)
    assert marked == "Does things.\n\nMore words here.\n\n\b\nExample: loyaltyctl x --out a-b.csv"
    assert verbatim_examples(marked) == marked
