"""`coupon check | use | release | show | list | export`: coupons at a store's checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loyaltyctl.cli import _options as opt
from loyaltyctl.cli._context import current
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.promo_codes import _check_writable as check_writable

app = typer.Typer(
    help="Coupons members bought with points: check one against a cart, record its use on "
    "an order, give it back, list and export them for a store's own discount system.\n\n"
    "Example: loyaltyctl coupon check 7KQ4-M2XA-HP3C --cart cart.json",
    no_args_is_help=True,
)

CART_MAX_BYTES = 16 * 1024 * 1024
STATUSES = ("active", "used", "expired", "cancelled")

CodeArg = Annotated[
    str,
    typer.Argument(metavar="CODE", help="The coupon's code (case, spaces and dashes are ignored)."),
]
CartOpt = Annotated[
    str,
    typer.Option(
        "--cart",
        metavar="FILE|-",
        help='The cart as JSON: {"items": [{"sku", "price", "quantity", "collections"}], '
        '"shipping"}; - reads standard input.',
    ),
]
MemberOpt = Annotated[
    str | None,
    typer.Option(
        "--member", help="The member at the checkout: refused when the coupon is another's."
    ),
]
OrderOpt = Annotated[str, typer.Option("--order", metavar="ORDER_ID", help="The store's order id.")]
StatusOpt = Annotated[
    str | None,
    typer.Option(
        "--status",
        help=f"Only coupons in this status now: {', '.join(STATUSES)}.",
        show_default=False,
    ),
]
PerkOpt = Annotated[
    str | None, typer.Option("--perk", metavar="SLUG", help="Only coupons of this perk.")
]


def _cart(cart: str):
    """The cart of --cart, read and checked (every problem with its line and column)."""
    import sys

    from loyaltyctl.domain.errors import BadInputFile, Problem, UsageProblem
    from loyaltyctl.services.coupons.checkout import read_cart

    if cart == "-":
        source, data = "<stdin>", sys.stdin.buffer.read(CART_MAX_BYTES + 1)
    else:
        path = Path(cart)
        if not path.is_file():
            raise UsageProblem(f"--cart {cart}: there is no such file.")
        source = cart
        with path.open("rb") as handle:
            data = handle.read(CART_MAX_BYTES + 1)
    if len(data) > CART_MAX_BYTES:
        message = f"the cart is larger than {CART_MAX_BYTES // 1024 // 1024} MB"
        raise BadInputFile([Problem(source, 1, None, message, 1)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BadInputFile([Problem(source, line, None, "not UTF-8 text", column)]) from None
    return read_cart(text, source)


@app.command("check")
def check(
    code: CodeArg,
    cart: CartOpt,
    member: MemberOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Whether the coupon applies to this cart now, and what it takes off. Changes nothing.

    Exit 0 when it applies; exit 1 with a reason code when it does not: unknown_coupon,
    coupon_used, coupon_expired, coupon_cancelled, wrong_member, min_purchase (says the
    amount), no_eligible_items (none of the coupon's collections in the cart),
    product_not_in_cart. A bad cart file exits 3 with every field at fault.

    Example: loyaltyctl coupon check 7KQ4-M2XA-HP3C --cart cart.json --member C-1001 --json
    """
    from loyaltyctl.cli.views import coupons as views
    from loyaltyctl.services.coupons.checkout import check_coupon

    out = Output(json_mode=json_)
    ctx = current()
    basket = _cart(cart)
    keys = ctx.keys()
    result = ctx.read(  # the driver's alone: a checkout starts without SQLAlchemy
        lambda s: check_coupon(session=s, keys=keys, code=code, cart=basket, member=member),
        raw=True,
    )
    out.result(result.as_json(), lambda: views.applied(result))


@app.command("use")
def use(
    code: CodeArg,
    order: OrderOpt,
    cart: CartOpt,
    member: MemberOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Record the coupon's use on an order when the store places it: at most once.

    Refused (exit 1, nothing changed) for the reasons `coupon check` gives. The same
    order again is a replay ("replayed": true, exit 0); another order is coupon_used.

    Example: loyaltyctl coupon use 7KQ4-M2XA-HP3C --order 1001 --cart cart.json --json
    """
    from loyaltyctl.cli.views import coupons as views
    from loyaltyctl.services.coupons.checkout import use_coupon

    out = Output(json_mode=json_)
    ctx = current()
    basket = _cart(cart)
    keys = ctx.keys()
    result = ctx.write(
        lambda s: use_coupon(
            session=s,
            keys=keys,
            code=code,
            order_id=order,
            cart=basket,
            member=member,
            operator=ctx.operator,
        )
    )
    out.result(result.as_json(), lambda: views.applied(result))


@app.command("release")
def release(
    code: CodeArg,
    order: OrderOpt,
    reason: opt.ReasonOpt,
    json_: opt.JsonOpt = False,
) -> None:
    """Give a used coupon back (its order was cancelled before it was paid): usable again
    unless it expired meanwhile. Only for the order it was used on; audited with the reason.

    Example: loyaltyctl coupon release 7KQ4-M2XA-HP3C --order 1001 --reason "Order cancelled"
    """
    from loyaltyctl.cli.views import coupons as views
    from loyaltyctl.services.coupons.checkout import release_coupon

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    record = ctx.write(
        lambda s: release_coupon(
            session=s, keys=keys, code=code, order_id=order, reason=reason, operator=ctx.operator
        )
    )
    note = f"Given back from order {order}: the coupon is {record.status} now."
    out.result(record.as_json(), lambda: views.record_panel(record, note=note))


@app.command("show")
def show(code: CodeArg, json_: opt.JsonOpt = False) -> None:
    """A coupon: its terms, status now (active, used, expired, cancelled), member, claim
    and order. The code is shown masked to its last 4 symbols.

    Example: loyaltyctl coupon show 7KQ4-M2XA-HP3C --json
    """
    from loyaltyctl.cli.views import coupons as views
    from loyaltyctl.services.coupons.checkout import show_coupon

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    record = ctx.read(lambda s: show_coupon(session=s, keys=keys, code=code))
    out.result(record.as_json(), lambda: views.record_panel(record))


@app.command("list")
def list_(
    member: Annotated[str | None, typer.Option("--member", help="Only this member's.")] = None,
    perk: PerkOpt = None,
    status: StatusOpt = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show the codes in full (needs the key file).")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many, newest first.")
    ] = 1000,
    json_: opt.JsonOpt = False,
    csv_: opt.CsvOpt = False,
) -> None:
    """Coupons, newest first, codes masked to their last 4 symbols unless --reveal.

    Example: loyaltyctl coupon list --member C-1001 --status active --csv
    """
    from loyaltyctl.cli.views import coupons as views
    from loyaltyctl.services.coupons.listing import list_coupons

    out = Output(json_mode=json_, csv_mode=csv_)
    ctx = current()
    keys = ctx.keys() if reveal else None
    listing = ctx.read(
        lambda s: list_coupons(
            session=s, keys=keys, member=member, perk=perk, status=status, limit=limit
        )
    )
    out.listing(
        views.list_rows(listing, csv=csv_),
        views.columns(csv=csv_, reveal=reveal),
        title="Coupons",
        json_doc=[record.as_json() for record in listing.coupons],
        empty="No coupons match.",
    )
    if (note := views.limited(listing, limit)) is not None:
        out.message(note)


@app.command("export")
def export(
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", metavar="FILE.csv", dir_okay=False, help="Where to write (mode 0600)."
        ),
    ],
    perk: PerkOpt = None,
    status: StatusOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Coupons with their codes and terms, for loading into a store's own discount system.

    CSV columns code,kind,amount,percent,min_purchase,max_shipping,product,variants,
    collections,expires_at,member (variants and collections ;-separated, expires_at in
    UTC), in the order they were issued; the file is written with mode 0600. Needs the
    key file. Streams: a million coupons take the memory of a few thousand.

    Example: loyaltyctl coupon export --perk ten-off --status active --out coupons.csv
    """
    from loyaltyctl.cli._output import CsvStream, open_secret
    from loyaltyctl.cli.views import coupons as views
    from loyaltyctl.services.coupons.listing import EXPORT_COLUMNS, export_coupons

    out = Output(json_mode=json_)
    ctx = current()
    keys = ctx.keys()
    check_writable(out_file)

    def work(session):
        # a retried transaction starts the file again
        with open_secret(out_file, append=False) as handle:
            writer = CsvStream(handle, EXPORT_COLUMNS, header=True)
            return export_coupons(
                session=session, keys=keys, perk=perk, status=status, emit=writer.write
            )

    result = ctx.read(work)
    summary = {"count": result.count, "perk": perk, "status": status, "out": str(out_file)}
    out.result(summary, lambda: views.exported(result, out_file))
