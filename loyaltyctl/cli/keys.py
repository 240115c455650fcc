"""`keys init | rotate | public`: the key file (encryption ring, lookup key, signing key)."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import setup as views

app = typer.Typer(
    help="The key file: encryption keys for secrets, the signing key for certificates.\n\n"
    "Example: loyaltyctl keys init",
    no_args_is_help=True,
)


@app.command("init")
def init(json_: opt.JsonOpt = False) -> None:
    """Create the key file (mode 0600) at LOYALTYCTL_KEYS_FILE or the user's config folder.

    Refused when one exists: replacing it would make stored secrets unreadable.

    Example: LOYALTYCTL_KEYS_FILE=/etc/loyaltyctl/keys.toml loyaltyctl keys init
    """
    from loyaltyctl.services.setup import create_key_file

    out = Output(json_mode=json_)
    result = create_key_file(current().settings.keys_file)
    out.result(result, lambda: views.key_file_created(result))


@app.command("rotate")
def rotate(
    finish: Annotated[
        bool,
        typer.Option(
            "--finish",
            help="Add no key: re-encrypt what is not yet under the current primary (after "
            "an interrupted rotation, or before removing an old key).",
        ),
    ] = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Add a new primary encryption key and re-encrypt every stored secret under it.

    The key file is written first (old keys stay in it, readable), then the secrets
    are re-encrypted in one transaction. A command that loaded the keys just before
    may still store a secret under the old key: before removing an old key from the
    file, run `keys rotate --finish` until it reports 0.

    Example: loyaltyctl keys rotate && loyaltyctl keys rotate --finish
    """
    from loyaltyctl.services.setup import rotate_keys

    out = Output(json_mode=json_)
    ctx = current()
    ring = ctx.keys()  # a missing or damaged key file stops us before anything changes
    result = rotate_keys(
        database=ctx.database(),
        keys=ring,
        keys_file=ctx.settings.keys_file,
        operator=ctx.operator,
        finish=finish,
    )
    out.result(result, lambda: views.rotation_text(result))


@app.command("public")
def public(json_: opt.JsonOpt = False) -> None:
    """Print the public key that verifies claim certificates (PEM).

    Example: loyaltyctl keys public > loyalty-public.pem
    """
    out = Output(json_mode=json_)
    ring = current().keys()
    pem = ring.public_key_pem()
    if json_:
        out.result({"key_id": ring.signing_id, "public_key": pem})
    else:
        out.text_file(pem)  # as is: a PEM file is what `certificate verify` reads
