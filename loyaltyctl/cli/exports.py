"""`promo export-toml`, `rules export`, `tiers export`: campaigns, earning rules and tiers
written back as TOML that `apply` takes back unchanged (as `perk export` does perks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output

OutOpt = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")]


def _slugs(metavar: str, what: str):
    return Annotated[list[str] | None, typer.Argument(metavar=metavar, help=f"Only these {what}.")]


CampaignsArg = _slugs("CAMPAIGN", "campaigns")
SlugsArg = _slugs("SLUG", "ones")


def campaigns(
    slugs: CampaignsArg = None,
    out_file: OutOpt = None,
    reveal_codes: Annotated[
        bool,
        typer.Option("--reveal-codes", help="Include the shared codes in clear (file mode 0600)."),
    ] = False,
) -> None:
    """Write campaigns as TOML that `apply` takes back unchanged: window, points,
    prizes, limits, audience, status, share card and page decoration.

    Shared codes are secrets and left out unless --reveal-codes; a file without them
    keeps the stored codes when applied (apply never removes a shared code). Generated
    codes are not program: `promo export CAMPAIGN` writes them as CSV.

    Example: loyaltyctl promo export-toml --out campaigns.toml
    """
    from loyaltyctl.services.export import campaigns_document

    ctx = current()
    document = ctx.read(
        lambda s: campaigns_document(
            session=s, slugs=list(slugs or []), reveal_codes=reveal_codes, keys=ctx.keys
        )
    )
    Output().toml(
        document,
        out_file,
        secret=reveal_codes,
        command="promo export-toml",
        left_out="Shared codes are left out",
    )


def rules(slugs: SlugsArg = None, out_file: OutOpt = None) -> None:
    """Write earning rules (disabled ones too) as TOML that `apply` takes back unchanged.

    Example: loyaltyctl rules export --out rules.toml
    """
    from loyaltyctl.services.export import rules_document

    document = current().read(lambda s: rules_document(session=s, slugs=list(slugs or [])))
    Output().text_file(_header("rules export") + _dumps(document), out_file)


def tiers(slugs: SlugsArg = None, out_file: OutOpt = None) -> None:
    """Write tiers (disabled ones too, lowest threshold first) as TOML that `apply` takes
    back unchanged.

    Example: loyaltyctl tiers export --out tiers.toml
    """
    from loyaltyctl.services.export import tiers_document

    document = current().read(lambda s: tiers_document(session=s, slugs=list(slugs or [])))
    Output().text_file(_header("tiers export") + _dumps(document), out_file)


def _header(command: str) -> str:
    return f"# Written by `loyaltyctl {command}`; `loyaltyctl apply` takes it back.\n"


def _dumps(document: dict) -> str:
    import tomli_w

    return tomli_w.dumps(document)
