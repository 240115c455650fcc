"""A cart, as a store sends it to `quote` and `coupon check` (spec §7 "Money").

Pure: no I/O. Only ``items[].sku``, ``items[].price`` and ``items[].quantity`` are
required; unknown keys are ignored. Every problem of a cart is reported at once, each with
the field at fault and its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from loyaltyctl.domain.jsonpos import JsonProblem, Path, path_text, read_json
from loyaltyctl.domain.money import ZERO, MoneyProblem, parse_money

MAX_LINES = 10_000
MAX_QUANTITY = 1_000_000
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class CartLine:
    position: int  # 0-based, as in the file
    sku: str
    price: Decimal  # of one unit
    quantity: int
    category: str | None = None
    collections: tuple[str, ...] = ()
    sale: bool = False

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class Cart:
    lines: tuple[CartLine, ...]
    shipping: Decimal = ZERO
    giftcard: bool = False
    cumulative: bool = False
    coupons: tuple[str, ...] = ()

    @property
    def subtotal(self) -> Decimal:
        """The items before any discount, shipping excluded."""
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True, slots=True)
class CartProblem:
    field: str
    message: str
    line: int
    column: int


class BadCart(ValueError):
    """Every problem of a cart, in file order."""

    def __init__(self, problems: list[CartProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the cart")
        self.problems = problems


class _Fields:
    """Typed reads of one JSON object that note a problem instead of stopping."""

    def __init__(self, positions: dict[Path, tuple[int, int]], problems: list[CartProblem]):
        self.positions = positions
        self.problems = problems

    def problem(self, path: Path, message: str) -> None:
        line, column = self._where(path)
        self.problems.append(CartProblem(path_text(path), message, line, column))

    def _where(self, path: Path) -> tuple[int, int]:
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def text(self, data: dict, path: Path, *, required: bool = False) -> str | None:
        value = data.get(path[-1])
        if value is None:
            if required:
                self.problem(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            self.problem(path, f"must be a non-empty string of at most {MAX_TEXT} characters")
            return None
        return value.strip()

    def money(self, data: dict, path: Path, *, required: bool = False) -> Decimal | None:
        value = data.get(path[-1])
        if value is None:
            if required:
                self.problem(path, 'is required (a decimal string such as "10.00")')
            return None if required else ZERO
        try:
            return parse_money(value)
        except MoneyProblem as problem:
            self.problem(path, str(problem))
            return None

    def flag(self, data: dict, path: Path) -> bool:
        value = data.get(path[-1], False)
        if value is None or isinstance(value, bool):
            return bool(value)
        self.problem(path, "must be true or false")
        return False

    def quantity(self, data: dict, path: Path) -> int | None:
        value = data.get(path[-1])
        if value is None:
            self.problem(path, "is required (a whole number of at least 1)")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
            self.problem(path, f"must be a whole number from 1 to {MAX_QUANTITY:,}")
            return None
        return value

    def strings(self, data: dict, path: Path) -> tuple[str, ...]:
        value = data.get(path[-1])
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > MAX_LINES:
            self.problem(path, "must be a list of strings")
            return ()
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip() or len(item) > MAX_TEXT:
                self.problem((*path, index), "must be a non-empty string")
            else:
                found.append(item.strip())
        return tuple(found)


def _line(fields: _Fields, item: object, index: int) -> CartLine | None:
    path: Path = ("items", index)
    if not isinstance(item, dict):
        fields.problem(path, "must be an object with sku, price and quantity")
        return None
    before = len(fields.problems)
    sku = fields.text(item, (*path, "sku"), required=True)
    price = fields.money(item, (*path, "price"), required=True)
    quantity = fields.quantity(item, (*path, "quantity"))
    category = fields.text(item, (*path, "category"))
    collections = fields.strings(item, (*path, "collections"))
    sale = fields.flag(item, (*path, "sale"))
    if len(fields.problems) > before:
        return None
    return CartLine(index, sku, price, quantity, category, collections, sale)


def parse_cart(text: str) -> Cart:
    """The cart in ``text`` (JSON); `BadCart` lists every problem with its position."""
    try:
        document, positions = read_json(text)
    except JsonProblem as error:
        line, column = error.position
        raise BadCart([CartProblem("", f"not valid JSON: {error.message}", line, column)]) from None
    problems: list[CartProblem] = []
    fields = _Fields(positions, problems)
    if not isinstance(document, dict):
        fields.problem((), "a cart is a JSON object with an items list")
        raise BadCart(problems)
    items = document.get("items")
    if not isinstance(items, list) or not items:
        fields.problem(("items",), "is required: a non-empty list of {sku, price, quantity}")
        items = []
    elif len(items) > MAX_LINES:
        fields.problem(("items",), f"has more than {MAX_LINES:,} lines")
        items = []
    lines = [_line(fields, item, index) for index, item in enumerate(items)]
    shipping = fields.money(document, ("shipping",))
    cart = Cart(
        lines=tuple(line for line in lines if line is not None),
        shipping=shipping if shipping is not None else ZERO,
        giftcard=fields.flag(document, ("giftcard",)),
        cumulative=fields.flag(document, ("cumulative",)),
        coupons=fields.strings(document, ("coupons",)),
    )
    if problems:
        raise BadCart(sorted(problems, key=lambda p: (p.line, p.column)))
    return cart
