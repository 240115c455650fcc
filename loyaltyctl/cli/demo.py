"""`loyaltyctl demo`: the first thing a new user runs, on a database of its own."""

from __future__ import annotations

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import AppContext, current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import demo as views


def demo(json_: opt.JsonOpt = False) -> None:
    """Build a sample program on a database of its own and show what the tool does:
    apply the example perks, campaigns, earning rules and tiers (config/program), import
    the sample members and points, credit, write off, claim perks, redeem codes, ingest the
    sample events (fixtures/events.jsonl), and print a summary. Safe to run again:
    nothing is applied twice.

    The demo's database is demo.db in the user data dir, never the club's: only
    --database-url on the command line chooses another (LOYALTYCTL_DATABASE_URL and the
    config file are ignored here). It uses the program's key file (created if missing).

    Example: loyaltyctl demo
    """
    import os

    from loyaltyctl.config import demo_database_path
    from loyaltyctl.services.demo import run_demo

    out = Output(json_mode=json_)
    ctx = current()
    own_file = None if ctx.database_url else demo_database_path()
    demo_ctx = AppContext(
        database_url=ctx.database_url or f"sqlite:///{own_file}",
        config=ctx.config,
        operator_flag=ctx.operator_flag,
    )
    try:
        result = run_demo(
            database=demo_ctx.database(check_schema=False),
            keys_file=demo_ctx.settings.keys_file,
            operator=demo_ctx.operator,
            tz=demo_ctx.settings.tz,
            env=os.environ,
        )
    finally:
        demo_ctx.close()
    where = views.DemoPlace(
        url=result.database,
        own_file=str(own_file) if own_file else None,
        explore_url=None if ctx.database_url else demo_ctx.database_url,
    )
    out.result(views.demo_json(result, where), lambda: views.demo(out, result, where))
