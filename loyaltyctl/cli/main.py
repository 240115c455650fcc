"""The root command: global options, sub-command wiring and the error wrapper."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from loyaltyctl import __version__
from loyaltyctl.cli import (
    audit,
    claims,
    completion,
    coupons,
    db,
    demo,
    discounts,
    earning,
    exports,
    keys,
    maintain,
    members,
    perks,
    points,
    promo,
    quote,
    staff,
    stats,
)
from loyaltyctl.cli._clock import activate as activate_clock
from loyaltyctl.cli._context import AppContext, activate
from loyaltyctl.cli._help import keep_examples
from loyaltyctl.cli._params import install as plain_text_parameters


def _json_usage_error(error: Exception, json_mode: bool) -> None:
    """Typer prints usage errors (exit 2) on stderr; with --json add the error document."""
    if json_mode and getattr(error, "exit_code", None) == 2:
        from loyaltyctl.cli._output import Output

        Output(json_mode=True).json({"error": {"code": "usage", "message": error.format_message()}})


class LoyaltyGroup(TyperGroup):
    """Turns every error raised by a command into the spec's exit code and message."""

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        # every command checks its operator's role first (spec §8)
        from loyaltyctl.cli._bounds import cap_integers
        from loyaltyctl.cli._permissions import guard

        cap_integers(self)  # inside the guard: who may run a command is asked first
        guard(self)

    def parse_args(self, ctx: typer.Context, args: list[str]):
        """Usage errors in the global options also get the JSON error document."""
        from loyaltyctl.cli import _errors

        json_mode = _errors.wants_json(list(args))
        try:
            return super().parse_args(ctx, args)
        except typer.exceptions.TyperException as error:
            _json_usage_error(error, json_mode)
            raise

    def invoke(self, ctx: typer.Context):
        from loyaltyctl.cli import _errors
        from loyaltyctl.domain.errors import LoyaltyError

        protected = getattr(ctx, "protected_args", None) or getattr(ctx, "_protected_args", [])
        json_mode = _errors.wants_json(list(protected) + list(ctx.args))
        try:
            return super().invoke(ctx)
        except LoyaltyError as error:
            if _errors.wants_traceback(error):
                raise
            raise typer.Exit(_errors.report(error, json_mode=json_mode)) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            # Ctrl-C: what was committed stays; the command said what it leaves undone
            raise typer.Exit(_errors.INTERRUPTED) from None
        except BrokenPipeError:
            # the reader went away (`| head`): stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except typer.exceptions.TyperException as error:
            _json_usage_error(error, json_mode)
            raise
        except Exception as error:  # noqa: BLE001 - the one place that catches everything
            if _errors.debug():
                raise
            raise typer.Exit(_errors.report_unexpected(error, json_mode=json_mode)) from None


app = typer.Typer(
    cls=LoyaltyGroup,
    name="loyaltyctl",
    no_args_is_help=True,
    add_completion=False,
    # plain help: Typer's Rich help pulls in markdown-it and doubles start-up time
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"loyaltyctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="sqlite:///path/file.db or postgresql://user@host/db "
            "[env: LOYALTYCTL_DATABASE_URL]",
            show_default=False,
        ),
    ] = None,
    read_url: Annotated[
        str | None,
        typer.Option(
            "--read-url",
            help="A read replica for the read-only commands (stats, listings, show, audit) "
            "[env: LOYALTYCTL_READ_URL]",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", help="Config file [env: LOYALTYCTL_CONFIG]", show_default=False),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option(
            "--operator",
            help="Who runs this (recorded on every change) [env: LOYALTYCTL_OPERATOR]",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Run a points-based loyalty program: members and points, perks and coupons, campaigns,
    earning from store events, maintenance and audit.

    Example: loyaltyctl demo
    """
    state = activate(
        AppContext(
            database_url=database_url, config=config, operator_flag=operator, read_url=read_url
        )
    )
    ctx.call_on_close(state.close)
    activate_clock()


app.command("init")(db.init)
app.command("demo")(demo.demo)
app.command("completion")(completion.completion)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(members.app, name="member")
app.add_typer(points.app, name="points")
app.command("apply")(perks.apply)
app.add_typer(perks.app, name="perk")
app.add_typer(claims.app, name="claim")
app.add_typer(claims.certificate_app, name="certificate")
promo.app.command("export-toml")(exports.campaigns)
app.add_typer(promo.app, name="promo")
app.add_typer(coupons.app, name="coupon")
app.add_typer(discounts.app, name="discount")
app.command("quote")(quote.quote)
app.add_typer(stats.app, name="stats")
app.add_typer(earning.events_app, name="events")
earning.rules_app.command("export")(exports.rules)
earning.tiers_app.command("export")(exports.tiers)
app.add_typer(earning.rules_app, name="rules")
app.add_typer(earning.tiers_app, name="tiers")
app.add_typer(maintain.app, name="maintain")
app.add_typer(audit.app, name="audit")
app.add_typer(staff.app, name="staff")
app.command("whoami")(staff.whoami)


keep_examples(app)  # examples print as written, never re-wrapped inside a value
plain_text_parameters()  # text parameters without pydantic: start-up (cli/_params.py)


def main() -> None:
    """Console entry point."""
    app(prog_name="loyaltyctl")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
