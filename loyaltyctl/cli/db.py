"""`init`, `db upgrade`, `db current`: the schema, only through Alembic migrations."""

from __future__ import annotations

import typer

from loyaltyctl.cli._context import current
from loyaltyctl.cli._options import JsonOpt
from loyaltyctl.cli._output import Output

app = typer.Typer(
    help="Database schema: apply and show migrations.\n\nExample: loyaltyctl db upgrade",
    no_args_is_help=True,
)


def _upgrade(out: Output) -> dict:
    from loyaltyctl.store import migrate

    ctx = current()
    db = ctx.database(check_schema=False)
    before, after = migrate.upgrade(db)
    return {
        "database": db.safe_url(),
        "before": before,
        "after": after,
        "upgraded": before != after,
    }


def _render_upgrade(result: dict) -> str:
    if not result["upgraded"]:
        return f"Schema of {result['database']} is up to date (revision {result['after']})."
    start = result["before"] or "empty"
    return f"Upgraded {result['database']}: {start} → {result['after']}."


def init(json_: JsonOpt = False) -> None:
    """Create or upgrade the schema and create the key file if missing. Idempotent.

    Example: loyaltyctl --database-url sqlite:///club.db init
    """
    from loyaltyctl import crypto

    out = Output(json_mode=json_)
    result = _upgrade(out)
    keys_file = current().settings.keys_file
    _ring, created = crypto.create(keys_file, exist_ok=True)
    result.update(keys_file=str(keys_file), keys_created=created)
    out.result(
        result,
        lambda: (
            _render_upgrade(result)
            + (f" Created the key file {keys_file} (mode 0600); back it up." if created else "")
        ),
    )


@app.command("upgrade")
def upgrade(json_: JsonOpt = False) -> None:
    """Apply pending schema migrations.

    Example: loyaltyctl db upgrade
    """
    out = Output(json_mode=json_)
    result = _upgrade(out)
    out.result(result, lambda: _render_upgrade(result))


@app.command("current")
def show_current(json_: JsonOpt = False) -> None:
    """Show the database's schema revision and the one this loyaltyctl needs.

    Example: loyaltyctl db current --json
    """
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import SCHEMA_HEAD

    out = Output(json_mode=json_)
    db = current().database(check_schema=False)
    revision = migrate.current(db)
    result = {
        "database": db.safe_url(),
        "current": revision,
        "head": SCHEMA_HEAD,
        "up_to_date": revision == SCHEMA_HEAD,
    }
    out.result(
        result,
        lambda: (
            f"{result['database']}: revision {revision or 'none'} (needed: {SCHEMA_HEAD})"
            + ("" if result["up_to_date"] else " — run `loyaltyctl db upgrade`")
        ),
    )
