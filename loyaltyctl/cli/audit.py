"""`audit log` and `audit verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output, jsonable
from loyaltyctl.cli.views import audit as views

app = typer.Typer(
    help="The audit trail: who changed what, when and why.\n\nExample: loyaltyctl audit verify",
    no_args_is_help=True,
)


@app.command("log")
def log(
    since: Annotated[str | None, typer.Option("--since", help="From this date or time.")] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Only this operator.")] = None,
    limit: opt.LimitOpt = 100,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Every change, newest first: ledger entries and member changes, with operator and reason.

    Example: loyaltyctl audit log --since 2026-11-01 --operator alice
    """
    from loyaltyctl.services.audit import audit_log

    out = Output(json_mode=json_, csv_mode=csv_)
    start = opt.when(since, option="--since", end_of_day=False)
    records = current().read(
        lambda s: audit_log(session=s, since=start, operator=operator, limit=limit)
    )
    out.listing(
        views.audit_rows(records),
        views.AUDIT_COLUMNS,
        title="Audit log",
        json_doc=records,
        empty="No changes recorded.",
    )


@app.command("verify")
def verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Also prove that nothing recorded before this signed checkpoint "
            "(`audit checkpoint --out`) was removed or changed.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Recompute the hash chains and check every balance against its ledger.

    Exits 1 and names the first bad row when anything was altered behind the tool's back.

    Example: loyaltyctl audit verify --checkpoint /backup/audit/checkpoint-2026-12-01.json
    """
    from loyaltyctl.domain.errors import AuditFailure
    from loyaltyctl.services.audit import verify as run_verify

    out = Output(json_mode=json_)
    ctx = current()
    document = None
    if checkpoint is not None:
        from loyaltyctl.services.audit_checkpoint import read_checkpoint

        public = ctx.keys().public_key_pem().encode()
        document = read_checkpoint(checkpoint.read_bytes(), public_key_pem=public)
    result = ctx.read(lambda s: run_verify(session=s, checkpoint=document))
    source = ctx.read_source()
    if not result.ok:
        raise AuditFailure(
            f"Audit verification of the {source.database} failed: {result.problems[0]}.",
            problems=list(result.problems),
            read_from=source.database,
        )
    out.result({**jsonable(result), "read_from": source}, lambda: views.verified(result, source))


@app.command("checkpoint")
def checkpoint(
    out_file: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Where to write the signed checkpoint: keep it outside the database "
            "(another disk or machine).",
            dir_okay=False,
        ),
    ],
    json_: opt.JsonOpt = False,
) -> None:
    """Write a signed checkpoint of the audit trail: the head of every chain and the
    counts, signed with the key file's Ed25519 key. `audit verify --checkpoint FILE`
    later proves that nothing recorded before it was removed or changed.

    Example: loyaltyctl audit checkpoint --out /backup/audit/checkpoint-2026-12-01.json
    """
    from dataclasses import replace

    from loyaltyctl.services.audit_checkpoint import make_checkpoint

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    made = ctx.write(lambda s: make_checkpoint(session=s, keys=keys, operator=ctx.operator))
    out.text_file(made.text, out_file)
    made = replace(made, out=str(out_file))
    out.result(views.checkpoint_json(made), lambda: views.checkpoint_text(made))
