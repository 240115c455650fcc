"""`keys init | rotate | public`: the key file (encryption ring, lookup key, signing key)."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output

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
    from loyaltyctl import crypto

    out = Output(json_mode=json_)
    path = current().settings.keys_file
    ring, _ = crypto.create(path, exist_ok=False)
    result = {"keys_file": str(path), "primary": ring.primary, "signing_key": ring.signing_id}
    out.result(
        result,
        lambda: (
            f"Created {path} (mode 0600). Back it up: stored secrets cannot be read without it."
        ),
    )


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
    from loyaltyctl import crypto
    from loyaltyctl.services.secrets import reencrypt_secrets

    out = Output(json_mode=json_)
    ctx = current()
    path = ctx.settings.keys_file
    ring = crypto.load(path)
    ctx.database()  # an unreachable or outdated database stops us before the file changes
    if not finish:
        ring = ring.with_new_primary()
        crypto.save(ring, path)
    count = ctx.write(lambda s: reencrypt_secrets(session=s, keys=ring, operator=ctx.operator))
    result = {
        "keys_file": str(path),
        "primary": ring.primary,
        "keys": sorted(ring.encryption),
        "added": not finish,
        "reencrypted": count,
    }
    what = "Primary encryption key" if finish else "New primary encryption key"
    out.result(
        result,
        lambda: f"{what} {ring.primary} in {path}; re-encrypted {count:,} stored secret(s).",
    )


@app.command("public")
def public(json_: opt.JsonOpt = False) -> None:
    """Print the public key that verifies claim certificates (PEM).

    Example: loyaltyctl keys public > loyalty-public.pem
    """
    from loyaltyctl import crypto

    out = Output(json_mode=json_)
    ring = crypto.load(current().settings.keys_file)
    pem = ring.public_key_pem()
    if json_:
        out.result({"key_id": ring.signing_id, "public_key": pem})
    else:
        out.text_file(pem)  # as is: a PEM file is what `certificate verify` reads
