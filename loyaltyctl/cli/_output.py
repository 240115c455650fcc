"""The only place that prints: results to stdout (Rich, --json or --csv);
messages, warnings, progress and errors to stderr.

Rich honours NO_COLOR and uses colour only on a terminal; progress bars appear
only when stderr is a terminal.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def jsonable(value: Any) -> Any:
    """Domain objects to plain JSON values (timestamps as ISO 8601 UTC with Z)."""
    from loyaltyctl.domain.values import iso_utc

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # multipliers, points per unit: exact, small
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    text = value if isinstance(value, str) else str(jsonable(value))
    if text.startswith(FORMULA_PREFIXES) and not _is_number(text) and not _INERT.fullmatch(text):
        return "'" + text
    return text


# an international phone number (+ then digits, spaces, ( ) - .; at least 7 digits):
# what `member list --csv` must give back as it is, and which no spreadsheet can run as
# anything harmful (a formula that calls something needs letters)
_INERT = re.compile(r"\+[0-9](?=(?:[^0-9]*[0-9]){6})[0-9 ().\-]*")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def local_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A timestamp for people: in the program time zone (JSON and CSV stay in UTC)."""
    from loyaltyctl.cli._context import current
    from loyaltyctl.domain.errors import LoyaltyError

    try:
        zone = current().settings.tz
    except LoyaltyError:
        return moment.strftime(fmt)
    return moment.astimezone(zone).strftime(fmt)


# what staff type or read back (slugs, ids, codes) and times: never cut in a table
KEPT_KEYS = frozenset(
    {
        "slug",
        "member",
        "external_id",
        "perk",
        "campaign",
        "claim_id",
        "redemption_id",
        "certificate_id",
        "batch_id",
        "id",
        "code",
        "event_id",
        "order_id",
        "rule",
        "ref",
        "subject",
        "tier",
        "at",
        "valid_from",
        "valid_until",
        "last_claim_at",
        "expires_at",
        "cancelled_at",
        "period",
    }
)


class Whole(str):
    """A line printed whole: no line break is put into it (the terminal wraps it), so a
    command or a path in it can be copied as it is."""


def table_time(moment: datetime) -> str:
    """A timestamp in a table: a day's first or last moment (a window given as dates)
    as its date alone, anything else as local_time."""
    from datetime import time

    from loyaltyctl.cli._context import current
    from loyaltyctl.domain.errors import LoyaltyError

    try:
        local = moment.astimezone(current().settings.tz)
    except LoyaltyError:
        local = moment
    if local.time() in (time.min, time(23, 59, 59, 999999), time(23, 59, 59)):
        return local.strftime("%Y-%m-%d")
    return local_time(moment)


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a listing. `keep`: never cut (identifiers and times; by default the
    keys of KEPT_KEYS); `drop`: may be left out when the table does not fit the terminal,
    the highest first (0: only when nothing else is left to leave out)."""

    key: str
    title: str
    justify: str = "left"
    fmt: Callable[[Any], str] | None = None
    keep: bool | None = None
    drop: int = 0

    @property
    def kept(self) -> bool:
        """Never wrapped: identifiers, times and numbers (right-aligned columns)."""
        if self.keep is not None:
            return self.keep
        return self.key in KEPT_KEYS or self.justify == "right"


class Output:
    def __init__(self, *, json_mode: bool = False, csv_mode: bool = False) -> None:
        if json_mode and csv_mode:
            from loyaltyctl.domain.errors import UsageProblem

            raise UsageProblem("Choose one of --json and --csv.")
        self.json_mode = json_mode
        self.csv_mode = csv_mode
        self._out = None
        self._err = None

    @property
    def console(self):
        if self._out is None:
            from rich.console import Console

            console = Console(file=sys.stdout, highlight=False)
            if not console.is_terminal and "COLUMNS" not in os.environ:
                # redirected to a file or a pipe: room for the whole table
                console = Console(file=sys.stdout, highlight=False, width=160)
            self._out = console
        return self._out

    @property
    def err(self):
        if self._err is None:
            from rich.console import Console

            console = Console(file=sys.stderr, highlight=False)
            if not console.is_terminal:
                # a log file or a pipe: one message, one line (grep-able `file:line: field`)
                console = Console(file=sys.stderr, highlight=False, soft_wrap=True)
            self._err = console
        return self._err

    # --- results ----------------------------------------------------------------

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()

    def jsonl(self, documents: Sequence[dict]) -> None:
        """JSON lines: one compact document per line (what another command reads back)."""
        sys.stdout.write(
            "".join(json.dumps(jsonable(d), ensure_ascii=False) + "\n" for d in documents)
        )
        sys.stdout.flush()

    def result(self, data: Any, render: Callable[[], Any] | None = None) -> None:
        """One result: JSON document, or the human rendering."""
        if self.json_mode or render is None:
            self.json(data)
            return
        rendered = render()
        for item in rendered if isinstance(rendered, list) else [rendered]:
            self.console.print(item, soft_wrap=isinstance(item, Whole))

    def text_file(self, text: str, path=None, *, secret: bool = False) -> None:
        """A document (TOML, a certificate) to stdout, or to a file (mode 0600 if secret)."""
        if path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        if secret:
            with open_secret(path, append=False) as handle:
                handle.write(text)
        else:
            path.write_text(text, encoding="utf-8")
        self.message(f"Wrote {path}.")

    def toml(
        self,
        document: dict,
        path=None,
        *,
        secret: bool = False,
        command: str = "perk export",
        left_out: str = "Secrets are left out",
    ) -> None:
        import tomli_w

        header = f"# Written by `loyaltyctl {command}`; `loyaltyctl apply` takes it back.\n"
        if not secret:
            header += f"# {left_out}: applying this file keeps the stored ones.\n"
        self.text_file(header + tomli_w.dumps(document), path, secret=secret)

    def listing(
        self,
        rows: Sequence[dict],
        columns: Sequence[Column],
        *,
        title: str | None = None,
        json_doc: Any = None,
        empty: str = "Nothing to show.",
        csv_columns: Sequence[str] | None = None,
    ) -> None:
        """A listing: a Rich table, CSV (``csv_columns`` of the rows, else the table's
        columns), or JSON (``json_doc`` or the rows)."""
        if self.json_mode:
            self.json(rows if json_doc is None else json_doc)
            return
        if self.csv_mode:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            keys = list(csv_columns) if csv_columns else [c.key for c in columns]
            writer.writerow(keys)
            for row in rows:
                writer.writerow([csv_cell(row.get(key)) for key in keys])
            sys.stdout.flush()
            return
        if not rows:
            self.message(empty)
            return
        self.console.print(self.table(rows, columns, title=title))

    def table(self, rows: Sequence[dict], columns: Sequence[Column], *, title: str | None = None):
        """A Rich table that fits the terminal without cutting an identifier or a time:
        kept columns are as wide as their longest value; when that is too wide, the
        columns least needed are left out (empty ones first, then by `drop`, then from
        the right), and the caption says which (--json and --csv have them all)."""
        cells = [[self.cell(row.get(c.key), c) for c in columns] for row in rows]
        shown = list(range(len(columns)))
        left_out: list[str] = []
        while (victim := _least_needed(self.console.width, columns, cells, shown)) is not None:
            shown.remove(victim)
            if not all(_blank(row[victim]) for row in cells):
                left_out.append(columns[victim].title)
        table = _rich_table([columns[i] for i in shown], [[r[i] for i in shown] for r in cells])
        table.title, table.title_justify = title, "left"
        if left_out:
            table.caption = f"Not shown at this width: {', '.join(left_out)} (see --json)."
            table.caption_justify = "left"
        return table

    @staticmethod
    def cell(value: Any, column: Column | None = None) -> str:
        from rich.markup import escape

        if column and column.fmt:
            return column.fmt(value)
        if value is None:
            return "[dim]—[/]"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, datetime):
            return table_time(value)
        if isinstance(value, list | tuple):
            return escape(", ".join(str(v) for v in value))
        return escape(str(value))

    # --- stderr -----------------------------------------------------------------

    def message(self, text: str, *, style: str | None = None) -> None:
        self.err.print(text, style=style)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/] {text}")

    def error(self, code: str, message: str, hint: str = "", extra: dict | None = None) -> None:
        from rich.markup import escape

        line = f"[bold red]error:[/] {escape(message)}"
        if hint:
            line += f" {escape(hint)}"
        self.err.print(line)
        if self.json_mode:
            self.json({"error": {"code": code, "message": message, "hint": hint, **(extra or {})}})

    @contextmanager
    def progress(
        self,
        description: str,
        total: int | None = None,
        *,
        lines_of: os.PathLike[str] | str | None = None,
        unit: str = "rows",
        header: int = 0,
    ) -> Iterator[Callable[[int], None]]:
        """Yields ``advance_to(n)``; draws a bar on stderr only when it is a terminal:
        done of the total, the rate and the time left. ``lines_of``: the total is the
        file's lines (less ``header``), counted only when a bar is drawn."""
        if not self.err.is_terminal:
            yield lambda _n: None
            return
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        if total is None and lines_of is not None:
            total = max(0, count_lines(lines_of) - header) or None
        with Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]}"),  # "1,200/5,000 rows 850/s"; nothing before
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=total, done="")

            def advance_to(done: int) -> None:
                speed = bar.tasks[task].speed
                count = f"{done:,}/{total:,}" if total else f"{done:,}"
                rate = f" {speed:,.0f}/s" if speed else ""
                bar.update(task, completed=done, done=f"{count} {unit}{rate}")

            yield advance_to


# --- tables that fit ----------------------------------------------------------------------


TEXT_COLUMN_FLOOR = 12  # a wrapped text column narrower than this reads as shreds


def _plain_lines(cell: str) -> list[str]:
    from rich.text import Text

    return Text.from_markup(cell).plain.splitlines() or [""]


def _plain_width(cell: str) -> int:
    return max(len(line) for line in _plain_lines(cell))


def _blank(cell: str) -> bool:
    return "".join(_plain_lines(cell)).strip() in ("", "—")


def _widest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _kept_width(column: Column, cells: Sequence[str]) -> int:
    return max([_widest_word(column.title), *(_plain_width(c) for c in cells)])


def _needed_width(column: Column, cells: Sequence[str]) -> int:
    """What a column needs to read well: a kept one all of its widest value; a text one
    the floor (or its widest line, when narrower), a longer word folding."""
    if column.kept:
        return _kept_width(column, cells)
    natural = max([len(column.title), *(_plain_width(c) for c in cells)])
    return max(_widest_word(column.title), min(natural, TEXT_COLUMN_FLOOR))


def _rich_table(columns: Sequence[Column], cells: Sequence[Sequence[str]]):
    from rich.table import Table

    table = Table(header_style="bold")
    for i, c in enumerate(columns):
        table.add_column(
            c.title,
            justify=c.justify,
            overflow="fold",  # a word too long for the width wraps; nothing is cut off
            no_wrap=c.kept,
            min_width=_kept_width(c, [row[i] for row in cells]) if c.kept else None,
        )
    for row in cells:
        table.add_row(*row)
    return table


def _least_needed(width: int, columns: Sequence[Column], cells, shown: list[int]) -> int | None:
    """The column to leave out for the table to fit `width`, or None when it fits (or
    only the first column is left): empty ones first, then the highest `drop`, then the
    rightmost that is not kept."""
    needed = 1 + sum(3 + _needed_width(columns[i], [row[i] for row in cells]) for i in shown)
    candidates = shown[1:]
    if needed <= width or not candidates:
        return None
    empty = [i for i in candidates if cells and all(_blank(row[i]) for row in cells)]
    if empty:
        return empty[-1]
    droppable = [i for i in candidates if columns[i].drop > 0]
    if droppable:
        return max(droppable, key=lambda i: (columns[i].drop, i))
    loose = [i for i in candidates if not columns[i].kept]
    return (loose or candidates)[-1]


def count_lines(path: os.PathLike[str] | str) -> int:
    """The lines of a file (a last line without a newline counts), read in blocks."""
    count, last = 0, b"\n"
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                count += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return 0
    return count + (last != b"\n")


# --- streams: documents too long to hold in memory (promo export) ----------------------


def open_secret(path: os.PathLike[str] | str, *, append: bool) -> IO[str]:
    """A text file only its owner can read (an existing one is narrowed to 0600 too)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="")


class CsvStream:
    """CSV rows streamed page by page (for listings too long to hold), neutralised
    against spreadsheet formulas like every CSV the tool writes."""

    def __init__(self, handle: IO[str], columns: tuple[str, ...], *, header: bool) -> None:
        self.handle, self.columns = handle, columns
        self.writer = csv.writer(handle, lineterminator="\n")
        if header:
            self.writer.writerow(columns)

    def write(self, codes) -> None:
        columns = self.columns
        self.writer.writerows([csv_cell(getattr(c, name)) for name in columns] for c in codes)
        self.handle.flush()

    def finish(self, _result) -> None:
        self.handle.flush()


class JsonListStream:
    """One JSON document streamed page by page: {"campaign", "batch_id", "codes": [...],
    "count", ...} (still exactly one document on stdout)."""

    def __init__(self, handle: IO[str], campaign: str, batch: str | None) -> None:
        self.handle, self.first = handle, True
        head = json.dumps({"campaign": campaign, "batch_id": batch})[:-1]
        handle.write(head + ', "codes": [')

    def write(self, codes) -> None:
        from dataclasses import asdict

        for code in codes:
            self.handle.write(("\n  " if self.first else ",\n  ") + json.dumps(asdict(code)))
            self.first = False

    def finish(self, result) -> None:
        tail = {"count": result.count, "available": result.available, "used_up": result.used_up}
        self.handle.write("\n], " + json.dumps(tail)[1:] + "\n")
        self.handle.flush()
