"""`quote`: a member's cart priced and explained. Changes nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.coupons import CartOpt
from loyaltyctl.cli.coupons import _cart as read_cart


def quote(
    member: Annotated[str, typer.Option("--member", help="The member at the checkout.")],
    cart: CartOpt,
    coupon: Annotated[
        list[str] | None,
        typer.Option(
            "--coupon",
            metavar="CODE",
            help="A coupon code, after the cart's own coupons (repeat for several).",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Price as at this timestamp (program time zone without offset); now."
        ),
    ] = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Price a member's cart and explain it: per line, the discounts the member holds
    that apply (and why the others do not), the coupons, what is left to pay, the totals
    and the points the order would earn. Changes nothing; needs the key file only when a
    coupon is given.

    Example: loyaltyctl quote --member C-1001 --cart cart.json --coupon 7KQ4-M2XA-HP3C
    """
    from loyaltyctl.cli.views import quote as views
    from loyaltyctl.services.discounts.quoting import quote_cart

    out = Output(json_mode=json_)
    ctx = current()
    moment = opt.when(at, option="--at", end_of_day=False)
    basket = read_cart(cart)
    tz = ctx.settings.tz
    result = ctx.read(
        lambda s: quote_cart(
            session=s,
            member=member,
            cart=basket,
            tz=tz,
            coupons=coupon or (),
            keys=ctx.keys,
            at=moment,
        ),
        raw=True,  # the driver's alone: a checkout starts without SQLAlchemy
    )
    out.result(views.quote_json(result), lambda: views.quote(result))
