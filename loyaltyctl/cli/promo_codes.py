"""`promo generate` and `promo export`: batches of unique codes, and the codes out again.

Registered on the `promo` app by cli/promo.py. Files of codes hold live codes: they
are written with mode 0600.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import CsvStream, JsonListStream, Output, open_secret

GENERATED_COLUMNS = ("code", "batch_id", "uses_allowed")
EXPORT_COLUMNS = ("code", "batch_id", "uses_allowed", "uses", "status")

CampaignArg = Annotated[str, typer.Argument(metavar="CAMPAIGN", help="The campaign's slug.")]
BatchOpt = Annotated[str | None, typer.Option("--batch", metavar="ID", show_default=False)]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", metavar="FILE.csv", dir_okay=False, show_default=False),
]


def generate(
    campaign: CampaignArg,
    count: Annotated[
        int | None,
        typer.Option(
            "--count", min=1, help="How many codes (needed for a new batch).", show_default=False
        ),
    ] = None,
    length: Annotated[
        int | None,
        typer.Option(
            "--length",
            help="Random symbols per code, 6-24 [default: 10]; a check symbol is added.",
            show_default=False,
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Put in front of every code: letters (not U) and digits; I, L and O are read "
            "as 1, 1 and 0 when a code is typed.",
            show_default=False,
        ),
    ] = None,
    uses_per_code: Annotated[
        int | None,
        typer.Option(
            "--uses-per-code", min=1, help="Redemptions per code [default: 1].", show_default=False
        ),
    ] = None,
    batch: BatchOpt = None,
    out_file: OutOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Generate unique random codes into a campaign, as one batch.

    Codes are Crockford base32 (no I, L, O, U; case, spaces and dashes ignored when
    typed), printed in groups of four (XXXX-XXXX-XXX), and end with a check symbol so
    most typos are told apart from unknown codes. The database keeps only a keyed hash
    and a ciphertext of each code: the codes themselves go to the --out file (columns
    code,batch_id,uses_allowed; mode 0600) or come back with `promo export`.

    Refused when the campaign's live codes of that length would let a random guess hit
    one with a chance above one in a million (the message gives the numbers and a
    --length that would do).

    An interrupted generation keeps every chunk it finished: run the command again
    with --batch ID (the id it printed) to finish the batch to its --count; with --out
    the new codes are appended to the file.

    Example: loyaltyctl promo generate summer-2026 --count 10000 --out summer-codes.csv
    """
    from loyaltyctl.services.promo_codes import generate_codes

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    if out_file is not None:
        _check_writable(out_file)
    sink = _GeneratedCodes(out, out_file, append=batch is not None)
    try:
        result = generate_codes(
            database=ctx.database(),
            keys=keys,
            campaign=campaign,
            operator=ctx.operator,
            count=count,
            length=length,
            prefix=prefix,
            uses_per_code=uses_per_code,
            batch_id=batch,
            on_batch=sink.start,
            on_chunk=sink.add,
        )
    except BaseException:  # Ctrl-C too: the chunks done are kept, say how to finish
        sink.close()
        if sink.batch is not None and not sink.batch.complete:
            out.message(
                f"Batch {sink.batch.id} has {sink.batch.generated:,} of "
                f"{sink.batch.requested:,} codes; finish it with: loyaltyctl promo generate "
                f"{campaign} --batch {sink.batch.id}" + (f" --out {out_file}" if out_file else "")
            )
        raise
    sink.close()
    if out_file is not None:
        from dataclasses import replace

        result = replace(result, out=str(out_file))
    out.result(result, lambda: _generated_message(result, campaign))


def export(
    campaign: CampaignArg,
    batch: BatchOpt = None,
    out_file: OutOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Export a campaign's codes with their uses and status (available or used_up).

    CSV columns code,batch_id,uses_allowed,uses,status: generated codes in groups of
    four, shared codes as written (their batch_id empty; left out with --batch). Needs
    the key file. Cells a spreadsheet would run as a formula are neutralised. Without
    --out the CSV goes to stdout (with --json, one JSON document with the codes); the
    --out file is written with mode 0600.

    Example: loyaltyctl promo export summer-2026 --batch B7KQ4M2XAH9 --out codes.csv
    """
    from loyaltyctl.services.promo_codes import export_codes

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    if out_file is not None:
        _check_writable(out_file)

    def work(session):
        # a retried transaction starts the output again
        handle = open_secret(out_file, append=False) if out_file else sys.stdout
        writer = (
            JsonListStream(handle, campaign, batch)
            if json_ and out_file is None
            else CsvStream(handle, EXPORT_COLUMNS, header=True)
        )
        try:
            result = export_codes(
                session=session, keys=keys, campaign=campaign, batch_id=batch, emit=writer.write
            )
            writer.finish(result)
        finally:
            if out_file is not None:
                handle.close()
        return result

    result = ctx.read(work)
    if out_file is None:
        return
    summary = {
        "campaign": result.campaign,
        "batch_id": result.batch_id,
        "count": result.count,
        "available": result.available,
        "used_up": result.used_up,
        "out": str(out_file),
    }
    out.result(
        summary,
        lambda: (
            f"Wrote {result.count:,} codes of {campaign} to {out_file} "
            f"({result.available:,} available, {result.used_up:,} used up)."
        ),
    )


# --- files of codes -------------------------------------------------------------------


def _check_writable(path: Path) -> None:
    """Refuse before anything is generated when the file could not be written."""
    from loyaltyctl.domain.errors import UsageProblem

    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageProblem(f"--out {path}: the folder {parent} does not exist.")
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK):
        raise UsageProblem(f"--out {path}: not writable.")


class _GeneratedCodes:
    """What `promo generate` does as chunks commit: the progress bar, the --out file."""

    def __init__(self, out: Output, path: Path | None, *, append: bool) -> None:
        self.out, self.path, self.append = out, path, append
        self.batch = None
        self.file: IO[str] | None = None
        self.csv: CsvStream | None = None
        self.progress = None
        self.advance = lambda _n: None

    def start(self, batch) -> None:
        self.batch = batch
        if self.path is not None:
            self.file = open_secret(self.path, append=self.append)
            empty = os.fstat(self.file.fileno()).st_size == 0
            self.csv = CsvStream(self.file, GENERATED_COLUMNS, header=empty)
        self.progress = self.out.progress(f"Batch {batch.id}", total=batch.requested, unit="codes")
        self.advance = self.progress.__enter__()
        self.advance(batch.generated)

    def add(self, batch, codes: list[str]) -> None:
        from loyaltyctl.services.promo_codes import display_code

        self.batch = batch
        if self.csv is not None:
            # written directly: codes and batch ids are letters, digits and dashes that
            # never start a cell with a formula character, nothing to quote or neutralise
            batch_id, uses, prefix = batch.id, batch.uses_per_code, batch.prefix
            tail = f",{batch_id},{uses}\n"
            self.file.writelines([display_code(code, prefix) + tail for code in codes])
            self.file.flush()
        self.advance(batch.generated)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None
        if self.file is not None:
            self.file.close()
            self.file = None


def _generated_message(result, campaign: str) -> str:
    done = (
        f"Generated {result.generated_now:,} codes"
        if result.generated_now
        else "Nothing left to generate"
    )
    text = (
        f"{done}: batch {result.batch_id} of campaign {campaign} has {result.count:,} of "
        f"{result.requested:,} codes."
    )
    if result.out:
        return text + f" Codes written to {result.out} (mode 0600)."
    return (
        text + f" Get them with: loyaltyctl promo export {campaign} --batch {result.batch_id} "
        "--out codes.csv"
    )
