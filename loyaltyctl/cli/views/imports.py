"""CSV imports of members and points."""

from __future__ import annotations


def import_result(result, noun: str) -> str:
    verb = "Would apply" if result.dry_run else "Applied"
    text = (
        f"{verb} {result.applied:,} of {result.rows:,} {noun} rows from {result.file}"
        f"; {result.replayed:,} already applied before (nothing changed for them)."
    )
    if result.created or result.updated:
        if result.dry_run:
            text += f" It would create {result.created:,} and update {result.updated:,}."
        else:
            text += f" Created {result.created:,}, updated {result.updated:,}."
    if result.dry_run:
        text += " Dry run: nothing was changed."
    if result.derived_keys:
        text += (
            " Rows without a key got one derived from their content and position among "
            "identical rows, so running this file again is safe."
        )
    return text
