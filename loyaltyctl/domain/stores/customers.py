"""Customer exports of the stores, read by `member import --preset NAME`: which of the
platform's columns gives each of ours.

Pure: no I/O. A preset turns one row of the platform's export (its own header) into a
row of our columns, and says which platform column each value came from, so a problem
names the column of the file the user has.

- shopify (Customers > Export): ``Customer ID`` (Shopify writes it with a leading
  ``'`` so spreadsheets keep its digits; else the ``Email`` is the id), ``First Name``
  + ``Last Name``, ``Email``, ``Phone`` (else ``Default Address Phone``), ``Tags``
  (comma-separated).
- square (Customers > Export customers): ``Reference ID`` (else ``Square Customer
  ID``), ``First Name`` + ``Surname``, ``Email Address``, ``Phone Number``,
  ``Birthday`` (``0000-MM-DD`` when the year is not known, read as ``MM-DD``),
  ``Groups`` (comma-separated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNKNOWN_YEAR = re.compile(r"0000-(\d\d-\d\d)")


@dataclass(frozen=True)
class Preset:
    name: str
    ids: tuple[str, ...]  # the columns giving external_id, the first non-empty wins
    first_name: str
    last_name: str
    email: str
    phones: tuple[str, ...]
    birthday: str | None = None
    groups: str | None = None
    tags: str | None = None

    def missing(self, header: list[str]) -> list[str]:
        """The columns the file must have (an id column, a name or an email)."""
        problems = []
        if not any(column in header for column in self.ids):
            problems.append(" or ".join(self.ids))
        return problems

    def row(self, raw: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """(our row, our column -> the platform column it came from)."""
        row: dict[str, str] = {}
        source: dict[str, str] = {}

        def take(ours: str, columns: tuple[str, ...]) -> None:
            for column in columns:
                value = (raw.get(column) or "").strip()
                if value:
                    row[ours], source[ours] = value, column
                    return
            source[ours] = columns[0]

        take("external_id", self.ids)
        if row.get("external_id", "").startswith("'"):
            row["external_id"] = row["external_id"][1:]
        first = (raw.get(self.first_name) or "").strip()
        last = (raw.get(self.last_name) or "").strip()
        row["name"] = " ".join(p for p in (first, last) if p)
        source["name"] = f"{self.first_name} / {self.last_name}"
        take("email", (self.email,))
        if not row["name"]:
            row["name"] = row.get("email") or row.get("external_id", "")
        take("phone", self.phones)
        if self.birthday:
            take("birthday", (self.birthday,))
            unknown_year = _UNKNOWN_YEAR.fullmatch(row.get("birthday", ""))
            if unknown_year:
                row["birthday"] = unknown_year.group(1)
        for ours, column in (("groups", self.groups), ("tags", self.tags)):
            if column:
                take(ours, (column,))
                if ours in row:  # the platforms separate them by commas; we by ;
                    row[ours] = ";".join(p.strip() for p in row[ours].split(",") if p.strip())
        return row, source


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "shopify",
            ids=("Customer ID", "Email"),
            first_name="First Name",
            last_name="Last Name",
            email="Email",
            phones=("Phone", "Default Address Phone"),
            tags="Tags",
        ),
        Preset(
            "square",
            ids=("Reference ID", "Square Customer ID"),
            first_name="First Name",
            last_name="Surname",
            email="Email Address",
            phones=("Phone Number",),
            birthday="Birthday",
            groups="Groups",
        ),
    )
}
