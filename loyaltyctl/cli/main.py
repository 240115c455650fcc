"""The root command: global options, sub-command wiring and the error wrapper."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from loyaltyctl import __version__
from loyaltyctl.cli._clock import activate as activate_clock
from loyaltyctl.cli._context import AppContext, activate
from loyaltyctl.cli._help import keep_examples
from loyaltyctl.cli._params import install as plain_text_parameters
from loyaltyctl.cli._tree import Branch, LazyCommands, build

# the commands under the root, in the order `--help` lists them: name -> the module of
# loyaltyctl.cli and its Typer app (a group) or function (a command), imported and built
# only when that command runs or the tree is listed (cli/_tree.py)
TREE = {
    "init": Branch("db", "init"),
    "demo": Branch("demo", "demo"),
    "completion": Branch("completion", "completion"),
    "apply": Branch("perks", "apply"),
    "quote": Branch("quote", "quote"),
    "whoami": Branch("staff", "whoami"),
    "db": Branch("db", "app"),
    "keys": Branch("keys", "app"),
    "member": Branch("members", "app"),
    "points": Branch("points", "app"),
    "perk": Branch("perks", "app"),
    "claim": Branch("claims", "app"),
    "certificate": Branch("claims", "certificate_app"),
    "promo": Branch("promo", "app", {"export-toml": ("exports", "campaigns")}),
    "coupon": Branch("coupons", "app"),
    "discount": Branch("discounts", "app"),
    "stats": Branch("stats", "app"),
    "events": Branch("earning", "events_app"),
    "rules": Branch("earning", "rules_app", {"export": ("exports", "rules")}),
    "tiers": Branch("earning", "tiers_app", {"export": ("exports", "tiers")}),
    "maintain": Branch("maintain", "app"),
    "audit": Branch("audit", "app"),
    "staff": Branch("staff", "app"),
}


def _json_usage_error(error: Exception, json_mode: bool) -> None:
    """Typer prints usage errors (exit 2) on stderr; with --json add the error document."""
    if json_mode and getattr(error, "exit_code", None) == 2:
        from loyaltyctl.cli._output import Output

        Output(json_mode=True).json({"error": {"code": "usage", "message": error.format_message()}})


class LoyaltyGroup(TyperGroup):
    """Turns every error raised by a command into the spec's exit code and message."""

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        # each branch is built when it is asked for, with its bound on whole numbers and
        # its permission check (spec §8): cli/_tree.py
        self.commands = LazyCommands(TREE, lambda name, branch: build(name, branch, app))

    def parse_args(self, ctx: typer.Context, args: list[str]):
        """Usage errors in the global options also get the JSON error document."""
        given = list(args)  # as given: parsing consumes the list
        try:
            return super().parse_args(ctx, args)
        except typer.exceptions.TyperException as error:
            from loyaltyctl.cli import _errors

            _json_usage_error(error, _errors.wants_json(given))
            raise

    def invoke(self, ctx: typer.Context):
        from loyaltyctl.domain.errors import LoyaltyError

        # the error map (cli/_errors.py) is imported when there is an error: start-up
        protected = getattr(ctx, "protected_args", None) or getattr(ctx, "_protected_args", [])
        given = list(protected) + list(ctx.args)  # as given: invoking consumes them
        try:
            return super().invoke(ctx)
        except LoyaltyError as error:
            from loyaltyctl.cli import _errors

            if _errors.wants_traceback(error):
                raise
            raise typer.Exit(_errors.report(error, json_mode=_errors.wants_json(given))) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            from loyaltyctl.cli import _errors

            # Ctrl-C: what was committed stays; the command said what it leaves undone
            raise typer.Exit(_errors.INTERRUPTED) from None
        except BrokenPipeError:
            # the reader went away (`| head`): stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except typer.exceptions.TyperException as error:
            from loyaltyctl.cli import _errors

            _json_usage_error(error, _errors.wants_json(given))
            raise
        except Exception as error:  # noqa: BLE001 - the one place that catches everything
            from loyaltyctl.cli import _errors

            if _errors.debug():
                raise
            json_mode = _errors.wants_json(given)
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


keep_examples(app)  # examples print as written, never re-wrapped inside a value
plain_text_parameters()  # text parameters without pydantic: start-up (cli/_params.py)


def main() -> None:
    """Console entry point."""
    app(prog_name="loyaltyctl")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
