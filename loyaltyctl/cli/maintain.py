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
    if result.grants_revoked or result.grants_ended:
        verb = "would revoke" if result.dry_run else "revoked"
        verb2 = "would end" if result.dry_run else "ended"
        parts.append(
            f"discount grants: {verb} {result.grants_revoked:,} (scheduled),"
            f" {verb2} {result.grants_ended:,} (past their end)"
        )
    if result.dry_run and result.webhooks_due:
        parts.append(f"would deliver {result.webhooks_due:,} due webhooks")
    elif result.webhooks_due:
        parts.append(
            f"webhooks: {result.webhooks_delivered:,} delivered, "
            f"{result.webhooks_retrying:,} retrying, {result.webhooks_failed:,} failed"
        )
    return "maintain: " + "; ".join(parts) + "."


FUTURE_SLACK_MINUTES = 5  # a --now this far after the clock is a clock skew, not the future


def _refuse_the_future(moment, *, dry_run: bool) -> None:
    """A run keeps what it writes (birthday entries, expiries, audit events dated
    --now): only a dry run may look into the future."""
    from datetime import timedelta

    from loyaltyctl.cli._output import local_time
    from loyaltyctl.domain.errors import Argument, UsageProblem
    from loyaltyctl.domain.values import utcnow

    clock = utcnow()
    if dry_run or moment <= clock + timedelta(minutes=FUTURE_SLACK_MINUTES):
        return
    raise UsageProblem(
        Argument("now"),
        f" {local_time(moment)} is after the clock ({local_time(clock)}): a run keeps "
        "what it writes with that date. Run it with --dry-run to look ahead, or give a "
        "time that has passed.",
    )


@app.command("run")
def run(
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Act as if it were this time (back-fills): at most 5 minutes after the "
            "clock, later only with --dry-run.",
        ),
    ] = None,
    dry_run: opt.DryRunOpt = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Expire due points, mature pending ones, give birthday points (the program time
    zone's day), move computed tiers up or down, and deliver queued webhooks (retried with
    backoff). Safe every minute from cron: idempotent, never two at once, quiet when
    nothing is due. Exits 1 when a webhook delivery was given up in this run. What a run
    writes is dated --now for good, so a --now in the future (more than 5 minutes after
    the clock) is refused unless --dry-run looks ahead.

    Example: */5 * * * * loyaltyctl maintain run
    """
    from loyaltyctl import crypto
    from loyaltyctl.domain.errors import DeliveriesGaveUp
    from loyaltyctl.domain.values import utcnow
    from loyaltyctl.services.maintenance import maintain

    out = Output(json_mode=json_)
    ctx = current()
    moment = opt.when(now, option="--now", end_of_day=False) or utcnow()
    _refuse_the_future(moment, dry_run=dry_run)
    result = maintain(
        db=ctx.database(),
        now=moment,
        operator=ctx.operator,
        dry_run=dry_run,
        keys=lambda: crypto.load(ctx.settings.keys_file),  # read only when webhooks are due
        tz=ctx.settings.tz,
    )
    if not dry_run and ctx.settings.checkpoint_dir is not None:
        _scheduled_checkpoint(out, ctx, moment)
    text = None if json_ else _summary(result)
    if json_ or text:  # quiet when nothing happened, for cron
        out.result(result, lambda: text)
    if result.webhook_failures:  # exit 1: cron mails the owner
        raise DeliveriesGaveUp(result.webhook_failures, result=result)


def _scheduled_checkpoint(out: Output, ctx, moment) -> None:
    """A signed audit checkpoint into the configured folder when the last one is older
    than checkpoint_every_hours (README "Audit")."""
    from loyaltyctl.services.audit_checkpoint import checkpoint_due, make_checkpoint

    every = ctx.settings.checkpoint_every_hours
    if not ctx.read(lambda s: checkpoint_due(session=s, now=moment, every_hours=every)):
        return
    keys = ctx.keys()
    made = ctx.write(
        lambda s: make_checkpoint(session=s, keys=keys, operator=ctx.operator, now=moment)
    )
    folder = ctx.settings.checkpoint_dir
    folder.mkdir(parents=True, exist_ok=True)
    out.text_file(made.text, folder / f"checkpoint-{moment:%Y%m%dT%H%M%SZ}.json")
