"""`loyaltyctl demo`: the first thing a new user runs."""

from __future__ import annotations

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import demo as views


def demo(json_: opt.JsonOpt = False) -> None:
    """Create the database and key file if needed, apply the example program of perks,
    campaigns, earning rules and tiers (config/program), import the sample members and
    points, credit, write off, claim perks, redeem codes, ingest the sample events
    (fixtures/events.jsonl), and print a summary. Safe to run again: nothing is applied twice.

    Example: loyaltyctl demo
    """
    import os

    from loyaltyctl.services.demo import run_demo

    out = Output(json_mode=json_)
    ctx = current()
    result = run_demo(
        database=ctx.database(check_schema=False),
        keys_file=ctx.settings.keys_file,
        operator=ctx.operator,
        tz=ctx.settings.tz,
        env=os.environ,
    )
    out.result(views.demo_json(result), lambda: views.demo(out, result))
