"""`init`, `db upgrade`, `db current`: the schema, only through Alembic migrations;
`db backup`: a copy of a SQLite database with its audit checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyaltyctl.cli._context import current
from loyaltyctl.cli._options import JsonOpt
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import setup as views

app = typer.Typer(
    help="Database schema: apply and show migrations.\n\nExample: loyaltyctl db upgrade",
    no_args_is_help=True,
)


def init(json_: JsonOpt = False) -> None:
    """Create or upgrade the schema and create the key file if missing. Idempotent.

    Example: loyaltyctl --database-url sqlite:///club.db init
    """
    from loyaltyctl.services.setup import set_up

    out = Output(json_mode=json_)
    ctx = current()
    result = set_up(database=ctx.database(check_schema=False), keys_file=ctx.settings.keys_file)
    out.result(result, lambda: views.set_up_text(result))


@app.command("upgrade")
def upgrade(json_: JsonOpt = False) -> None:
    """Apply pending schema migrations.

    Example: loyaltyctl db upgrade
    """
    from loyaltyctl.services.setup import upgrade_schema

    out = Output(json_mode=json_)
    result = upgrade_schema(database=current().database(check_schema=False))
    out.result(result, lambda: views.upgrade_text(result))


@app.command("current")
def show_current(json_: JsonOpt = False) -> None:
    """Show the database's schema revision and the one this loyaltyctl needs.

    Example: loyaltyctl db current --json
    """
    from loyaltyctl.services.setup import schema_revision

    out = Output(json_mode=json_)
    result = schema_revision(database=current().database(check_schema=False))
    out.result(result, lambda: views.revision_text(result))


@app.command("backup")
def backup(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", dir_okay=False, help="The new file (never overwritten)."),
    ],
    json_: JsonOpt = False,
) -> None:
    """Copy a SQLite database into FILE while others keep writing (SQLite's online
    backup), with a signed audit checkpoint beside it (FILE.checkpoint.json): a restore
    ends with `audit verify --checkpoint FILE.checkpoint.json`. PostgreSQL: pg_dump, see
    README "Backups".

    Example: loyaltyctl db backup /backup/club-2026-12-04.db
    """
    from loyaltyctl.services.backup import back_up

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    made = back_up(database=ctx.database(), keys=keys, target=file, operator=ctx.operator)
    out.result(
        made,
        lambda: (
            f"Backed up to {made.file} ({made.ledger_entries:,} ledger entries, "
            f"{made.audit_events:,} audit events); checkpoint {made.checkpoint}."
        ),
    )
