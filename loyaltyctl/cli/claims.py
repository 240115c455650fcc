"""`claim show | cancel | certificate` and `certificate verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import claims as views

app = typer.Typer(
    help="Claims: show, cancel (refund), and their signed certificates.\n\n"
    "Example: loyaltyctl claim show 7KQ4M2XAHP",
    no_args_is_help=True,
)
certificate_app = typer.Typer(
    help="Check claim certificates offline.\n\n"
    "Example: loyaltyctl certificate verify cert.json --public-key loyalty.pub",
    no_args_is_help=True,
)

ClaimArg = Annotated[str, typer.Argument(metavar="CLAIM_ID", help="The claim's id.")]


@app.command("show")
def show(
    claim_id: ClaimArg,
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal",
            help="Show the redemption (code, link or coupon code) the member received.",
        ),
    ] = False,
    json_: opt.JsonOpt = False,
) -> None:
    """A claim's details; for a coupon perk, its coupon (code masked unless --reveal,
    status, terms, expiry).

    Example: loyaltyctl claim show 7KQ4M2XAHP --reveal
    """
    from loyaltyctl.services.claim_records import show_claim

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys() if reveal else None
    record = ctx.read(lambda s: show_claim(session=s, claim_id=claim_id, keys=keys))
    out.result(record, lambda: views.claim_record_panel(record))


@app.command("cancel")
def cancel(claim_id: ClaimArg, reason: opt.ReasonOpt, json_: opt.JsonOpt = False) -> None:
    """Cancel a claim: refund its points (with the expiry they had), give the supply back.

    The coupon of a coupon perk's claim is cancelled with it while unused (active or
    expired); a coupon used on an order refuses the cancel (coupon_used, exit 1).

    Example: loyaltyctl claim cancel 7KQ4M2XAHP --reason "Coffee machine broken"
    """
    from loyaltyctl.services.claim_records import cancel_claim

    out = Output(json_mode=json_)
    ctx = current()
    record = ctx.write(
        lambda s: cancel_claim(
            session=s,
            claim_id=claim_id,
            reason=reason,
            operator=ctx.operator,
            tz=ctx.settings.tz,
        )
    )
    out.result(record, lambda: views.claim_cancelled(record))


@app.command("certificate")
def certificate(
    claim_id: ClaimArg,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the certificate to this file.")
    ] = None,
) -> None:
    """The signed certificate of a claim (JSON), to hand to the member or a partner.

    Example: loyaltyctl claim certificate 7KQ4M2XAHP --out coffee.cert.json
    """
    from loyaltyctl.services.claims import certificate as certificate_text

    text = current().read(lambda s: certificate_text(session=s, claim_id=claim_id))
    Output().text_file(text, out_file)


@certificate_app.command("verify")
def verify(
    file: Annotated[str, typer.Argument(metavar="FILE", help="The certificate, or - for stdin.")],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            metavar="FILE",
            help="PEM file from `loyaltyctl keys public` (default: the key file's key),"
            " or - for stdin.",
        ),
    ] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Verify a certificate offline: exit 0 valid, 1 invalid (any altered byte fails).

    Example: loyaltyctl certificate verify coffee.cert.json --public-key loyalty.pub
    """
    from loyaltyctl.cli._files import input_file
    from loyaltyctl.services.claims import verify_certificate

    if file == "-" and public_key == "-":
        from loyaltyctl.domain.errors import UsageProblem

        raise UsageProblem("Only one of FILE and --public-key can be read from stdin (-).")
    out = Output(json_mode=json_)
    if public_key:
        with input_file(public_key, ".pem") as path:
            pem = path.read_bytes()
    else:
        pem = current().keys().public_key_pem().encode()
    with input_file(file, ".json") as path:
        check = verify_certificate(path.read_bytes(), public_key_pem=pem)
    out.result(check, lambda: views.certificate_valid(check))
