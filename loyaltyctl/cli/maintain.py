"""`maintain run`: the cron job."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output

app = typer.Typer(
    help="Maintenance for cron: expire and mature points, deliver webhooks.\n\n"
    "Example: loyaltyctl maintain run",
    no_args_is_help=True,
)


def _summary(result) -> str:
    if result.skipped:
        return "Another `maintain run` is working; skipped."
    if not result.changed:
        return ""
    parts = []
    if result.matured_lots or result.expired_lots:
        verb = "would mature" if result.dry_run else "matured"
        verb2 = "would expire" if result.dry_run else "expired"
        parts.append(
            f"{verb} {result.matured_points:,} points in {result.matured_lots:,} lots, "
            f"{verb2} {result.expired_points:,} points in {result.expired_lots:,} lots"
        )
    if result.birthdays:
        verb = "would give" if result.dry_run else "gave"
        parts.append(
            f"{verb} {result.birthday_points:,} birthday points to {result.birthdays:,} "
            + ("member" if result.birthdays == 1 else "members")
        )
    if result.tier_changes:
        parts.append(
            f"{result.tier_changes:,} tier " + ("change" if result.tier_changes == 1 else "changes")
        )
    if result.dry_run and result.webhooks_due:
        parts.append(f"would deliver {result.webhooks_due:,} due webhooks")
    elif result.webhooks_due:
        parts.append(
            f"webhooks: {result.webhooks_delivered:,} delivered, "
            f"{result.webhooks_retrying:,} retrying, {result.webhooks_failed:,} failed"
        )
    return "maintain: " + "; ".join(parts) + "."


@app.command("run")
def run(
    now: Annotated[
        str | None,
        typer.Option("--now", help="Act as if it were this time (tests and back-fills)."),
    ] = None,
    dry_run: opt.DryRunOpt = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Expire due points, mature pending ones, give birthday points (the program time
    zone's day), move computed tiers up or down, and deliver queued webhooks (retried with
    backoff). Safe every minute from cron: idempotent, never two at once, quiet when
    nothing is due. Exits 1 when a webhook delivery was given up in this run.

    Example: */5 * * * * loyaltyctl maintain run
    """
    from loyaltyctl import crypto
    from loyaltyctl.domain.errors import DeliveriesGaveUp
    from loyaltyctl.domain.values import utcnow
    from loyaltyctl.services.maintenance import maintain

    out = Output(json_mode=json_)
    ctx = current()
    moment = opt.when(now, option="--now", end_of_day=False) or utcnow()
    result = maintain(
        db=ctx.database(),
        now=moment,
        operator=ctx.operator,
        dry_run=dry_run,
        keys=lambda: crypto.load(ctx.settings.keys_file),  # read only when webhooks are due
        tz=ctx.settings.tz,
    )
    text = None if json_ else _summary(result)
    if json_ or text:  # quiet when nothing happened, for cron
        out.result(result, lambda: text)
    if result.webhook_failures:  # exit 1: cron mails the owner
        raise DeliveriesGaveUp(result.webhook_failures, result=result)
