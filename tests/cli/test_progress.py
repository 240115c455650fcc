"""Progress on a terminal: rows or events done of the file's total, the rate, time
left; never "0/?"."""

from __future__ import annotations

import io

from rich.console import Console

from loyaltyctl.cli._output import Output, count_lines


def test_lines_are_counted_with_or_without_a_last_newline(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("h\na\nb")
    assert count_lines(path) == 3
    path.write_text("h\na\nb\n")
    assert count_lines(path) == 3
    assert count_lines(tmp_path / "missing") == 0


def test_a_bar_shows_done_of_the_total_and_the_rate(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("member,amount,reason\n" + "C-1,5,x\n" * 40)
    out = Output()
    out._err = Console(file=io.StringIO(), force_terminal=True, width=100)
    with out.progress("Importing points.csv", lines_of=path, header=1) as advance:
        for done in range(1, 41):
            advance(done)
    drawn = out._err.file.getvalue()
    assert "40/40 rows" in drawn and "/s" in drawn
    assert "/?" not in drawn


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    out = Output()
    with out.progress("x", lines_of=tmp_path / "none") as advance:
        advance(5)
    assert capsys.readouterr().err == ""
