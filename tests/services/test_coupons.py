"""Coupons at a store's checkout, on SQLite and PostgreSQL: `coupon check`, `use`,
`release`, `show`, `list` and `export` through their services. Every refusal leaves the
database as it was; `audit verify` passes after each test."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from loyaltyctl.domain import coupons as domain
from loyaltyctl.domain.cart import parse_cart
from loyaltyctl.domain.errors import (
    BadInputFile,
    CouponCancelled,
    CouponExpired,
    CouponNotUsed,
    CouponUsed,
    MinPurchase,
    NoEligibleItems,
    ProductNotInCart,
    UnknownCoupon,
    UnknownMember,
    UnknownPerk,
    UsageProblem,
    UsedOnAnotherOrder,
    WrongMember,
)
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import cancel_claim
from loyaltyctl.services.coupons.checkout import (
    check_coupon,
    read_cart,
    release_coupon,
    show_coupon,
    use_coupon,
)
from loyaltyctl.services.coupons.listing import coupon_figures, export_coupons, list_coupons
from loyaltyctl.store import coupons as coupon_store
from tests.coupon_helpers import apply_coupon_perks, issue

D = Decimal


@pytest.fixture
def perks(db, tmp_path, member, keys):
    member("C-1")
    member("C-2")
    apply_coupon_perks(db, tmp_path)
    return keys


@pytest.fixture(autouse=True)
def _verified(db):
    yield
    result = db.run(lambda s: verify(session=s), write=False, rollback=True)
    assert result.ok, result.problems


def cart(*items, shipping="0.00", **extra):
    lines = []
    for sku, price, quantity, *more in items:
        extra_fields = more[0] if more else {}
        lines.append({"sku": sku, "price": price, "quantity": quantity, **extra_fields})
    return parse_cart(json.dumps({"items": lines, "shipping": shipping, **extra}))


def check(db, keys, code, basket, **kwargs):
    return db.run(
        lambda s: check_coupon(session=s, keys=keys, code=code, cart=basket, **kwargs),
        write=False,
        rollback=True,
    )


def use(db, keys, code, order, basket, **kwargs):
    return db.run(
        lambda s: use_coupon(
            session=s, keys=keys, code=code, order_id=order, cart=basket, operator="till", **kwargs
        )
    )


def release(db, keys, code, order, reason="order cancelled"):
    return db.run(
        lambda s: release_coupon(
            session=s, keys=keys, code=code, order_id=order, reason=reason, operator="till"
        )
    )


def show(db, keys, code, **kwargs):
    return db.run(lambda s: show_coupon(session=s, keys=keys, code=code, **kwargs), write=False)


def snapshot(db) -> tuple:
    """Every coupon row and every audit event: what a refusal must leave as it was."""

    def read(s):
        coupons = s.execute(text("SELECT * FROM coupon ORDER BY claim_id")).all()
        events = s.execute(text("SELECT subject, seq, action FROM audit_event ORDER BY id")).all()
        return [tuple(r) for r in coupons], [tuple(r) for r in events]

    return db.run(read, write=False)


def coupon_events(db, claim_id):
    sql = text("SELECT action, reason, details FROM audit_event WHERE subject = :s ORDER BY seq")
    return db.run(lambda s: s.execute(sql, {"s": f"coupon:{claim_id}"}).all(), write=False)


# --- the seed's numbers ----------------------------------------------------------------------


def test_convert_100_points_is_10_off_from_25(db, perks):
    coupon = issue(db, perks, perk="convert", points=100)
    with pytest.raises(MinPurchase) as refused:
        check(db, perks, coupon.code, cart(("A", "24.99", 1)))
    assert "25.00" in refused.value.message and "24.99" in refused.value.message
    assert refused.value.data == {
        "coupon": coupon.masked,
        "min_purchase": "25.00",
        "subtotal": "24.99",
    }
    found = check(db, perks, coupon.code, cart(("A", "25.00", 1)))
    assert (found.kind, found.amount, found.shipping_discount) == ("convert", D("10.00"), D("0"))


def test_convert_200_points_is_20_off_from_50(db, perks):
    coupon = issue(db, perks, perk="convert", points=200)
    with pytest.raises(MinPurchase) as refused:
        check(db, perks, coupon.code, cart(("A", "49.99", 1)))
    assert refused.value.data["min_purchase"] == "50.00"  # scaled with the points
    found = check(db, perks, coupon.code, cart(("A", "30.00", 1), ("B", "20.00", 1)))
    assert found.amount == D("20.00")
    assert [(sku, amount) for _, sku, amount in found.lines] == [
        ("A", D("12.00")),
        ("B", D("8.00")),
    ]


def test_every_kind_takes_off_what_it_says(db, perks):
    basket = cart(
        ("LIPSTICK-RED", "12.00", 2),
        ("LIPSTICK-PINK", "9.50", 1),
        ("HAT", "20.00", 1, {"collections": ["summer"]}),
        shipping="20.00",
    )
    expected = {
        "ten-off": (D("10.00"), D("0")),
        "fifteen-percent": (D("8.03"), D("0")),  # 15% of 53.50 = 8.025, half up once
        "summer-five": (D("5.00"), D("0")),
        "free-shipping": (D("0"), D("15.00")),
        "free-lipstick": (D("9.50"), D("0")),  # the cheapest listed variant, one unit
    }
    for perk, (amount, shipping) in expected.items():
        found = check(db, perks, issue(db, perks, perk=perk).code, basket)
        assert (found.amount, found.shipping_discount) == (amount, shipping), perk
        assert sum(a for _, _, a in found.lines) == found.amount
    summer = check(db, perks, issue(db, perks, perk="summer-five").code, basket)
    assert [sku for _, sku, _ in summer.lines] == ["HAT"]  # only its collection's items


# --- check ---------------------------------------------------------------------------------


def test_check_changes_nothing_and_codes_are_typed_loosely(db, perks):
    coupon = issue(db, perks, perk="ten-off")
    before = snapshot(db)
    typed = " " + coupon.code.lower().replace("-", " - ") + " "
    found = check(db, perks, typed, cart(("A", "30.00", 1)), member="C-1")
    assert found.coupon == coupon.masked and found.member == "C-1"
    assert found.as_json() == {
        "coupon": coupon.masked,
        "kind": "fixed",
        "applies": True,
        "amount": "10.00",
        "shipping_discount": "0.00",
        "order": None,
        "replayed": False,
        "member": "C-1",
        "claim_id": coupon.claim_id,
        "lines": [{"position": 0, "sku": "A", "amount": "10.00"}],
    }
    assert snapshot(db) == before


def test_refusals_name_their_reason_and_change_nothing(db, perks):
    ten = issue(db, perks, perk="ten-off")
    summer = issue(db, perks, perk="summer-five")
    lipstick = issue(db, perks, perk="free-lipstick")
    old = issue(db, perks, perk="ten-off", expires_at=utcnow() - timedelta(seconds=1))
    gone = issue(db, perks, perk="ten-off")
    db.run(lambda s: cancel_claim(session=s, claim_id=gone.claim_id, reason="x", operator="t"))
    db.run(lambda s: coupon_store.cancel_coupon(s, gone.claim_id, utcnow()))
    used = issue(db, perks, perk="ten-off")
    use(db, perks, used.code, "O-1", cart(("A", "30.00", 1)))
    big = cart(("A", "30.00", 1))
    cases = [
        ("ABCD-EFGH-JKMN", big, {}, UnknownCoupon),
        (used.code, big, {}, CouponUsed),
        (old.code, big, {}, CouponExpired),
        (gone.code, big, {}, CouponCancelled),
        (ten.code, big, {"member": "C-2"}, WrongMember),
        (ten.code, cart(("A", "24.99", 1)), {}, MinPurchase),
        (summer.code, big, {}, NoEligibleItems),
        (lipstick.code, big, {}, ProductNotInCart),
    ]
    before = snapshot(db)
    for code, basket, extra, error in cases:
        for attempt in (check, lambda *a, **k: use(*a[:3], "O-9", *a[3:], **k)):
            with pytest.raises(error) as refused:
                attempt(db, perks, code, basket, **extra)
            assert refused.value.code == error.code
            assert code not in refused.value.message
            assert promo_normal(code) not in refused.value.message.replace("-", "")
    assert snapshot(db) == before


def promo_normal(code: str) -> str:
    from loyaltyctl.domain.promo import normalize

    return normalize(code)


def test_an_unknown_code_gets_one_sentence_and_a_typo_is_data(db, perks):
    coupon = issue(db, perks, perk="ten-off")
    wrong = coupon.code[:-1] + ("0" if coupon.code[-1] != "0" else "1")
    with pytest.raises(UnknownCoupon) as typo:
        check(db, perks, wrong, cart(("A", "30.00", 1)))
    tail = promo_normal(wrong)[-4:]
    assert str(typo.value) == (
        f"No coupon has the code ending {tail}; check it for a typo and type it again."
    )
    assert typo.value.data["mistyped"] is True
    assert promo_normal(wrong)[:-4] not in str(typo.value)  # never the whole code
    with pytest.raises(UnknownCoupon, match="^No coupon has the code; check it") as short:
        check(db, perks, "abc", cart(("A", "30.00", 1)))
    assert short.value.data["mistyped"] is False
    with pytest.raises(UnknownCoupon):
        check(db, perks, " - ", cart(("A", "30.00", 1)))


def test_the_expiry_is_the_end_of_the_nth_day(db, perks):
    issued = utcnow() - timedelta(days=31)
    coupon = issue(db, perks, perk="month-five", issued_at=issued)
    record = show(db, perks, coupon.code)
    assert record.expires_at == domain.CouponSpec(kind="fixed", expires_after_days=30).expires_at(
        issued, domain.ZoneInfo("UTC")
    )
    assert record.status == "expired"
    assert show(db, perks, coupon.code, now=record.expires_at - timedelta(seconds=1)).status == (
        "active"
    )
    with pytest.raises(CouponExpired):
        check(db, perks, coupon.code, cart(("A", "9.00", 1)))


def test_a_bad_cart_names_every_field_with_its_position():
    bad = '{"items": [\n  {"sku": "A", "price": "1.005", "quantity": 0},\n  {"price": 2}\n]}'
    with pytest.raises(BadInputFile) as caught:
        read_cart(bad, "cart.json")
    found = [(p.line, p.field) for p in caught.value.problems]
    assert found == [
        (2, "items[0].price"),
        (2, "items[0].quantity"),
        (3, "items[1].sku"),
        (3, "items[1].quantity"),
    ]
    assert all(p.file == "cart.json" and p.column for p in caught.value.problems)


# --- use -----------------------------------------------------------------------------------


def test_a_coupon_is_used_once_and_the_same_order_replays(db, perks):
    coupon = issue(db, perks, perk="ten-off")
    basket = cart(("A", "30.00", 1))
    first = use(db, perks, coupon.code, "1001", basket, member="C-1")
    assert (first.order, first.replayed, first.amount) == ("1001", False, D("10.00"))
    again = use(db, perks, coupon.code, "1001", basket)
    assert (again.order, again.replayed, again.amount) == ("1001", True, D("10.00"))
    with pytest.raises(CouponUsed) as refused:
        use(db, perks, coupon.code, "1002", basket)
    assert refused.value.data == {"coupon": coupon.masked, "order_id": "1001"}
    with pytest.raises(CouponUsed):
        check(db, perks, coupon.code, basket)
    record = show(db, perks, coupon.code)
    assert (record.status, record.order_id) == ("used", "1001")
    assert record.used_at is not None
    (event,) = coupon_events(db, coupon.claim_id)
    assert event[0] == "coupon.use"
    assert json.loads(event[2]) == {
        "order_id": "1001",
        "member": "C-1",
        "coupon": coupon.masked,
        "amount": "10.00",
        "shipping_discount": "0.00",
    }


def test_a_use_needs_an_order_id(db, perks):
    coupon = issue(db, perks, perk="ten-off")
    for order in ("", "   ", "a\nb", "x" * 101):
        with pytest.raises(UsageProblem):
            use(db, perks, coupon.code, order, cart(("A", "30.00", 1)))
    assert show(db, perks, coupon.code).status == "active"


def test_a_used_coupon_replays_after_it_expired(db, perks):
    coupon = issue(db, perks, perk="ten-off", expires_at=utcnow() + timedelta(hours=1))
    basket = cart(("A", "30.00", 1))
    use(db, perks, coupon.code, "1001", basket)
    later = utcnow() + timedelta(hours=2)
    replay = db.run(
        lambda s: use_coupon(
            session=s,
            keys=perks,
            code=coupon.code,
            order_id="1001",
            cart=basket,
            operator="t",
            now=later,
        )
    )
    assert replay.replayed


# --- release -------------------------------------------------------------------------------


def test_release_gives_a_used_coupon_back_for_its_order_only(db, perks):
    coupon = issue(db, perks, perk="ten-off")
    basket = cart(("A", "30.00", 1))
    with pytest.raises(CouponNotUsed):
        release(db, perks, coupon.code, "1001")
    use(db, perks, coupon.code, "1001", basket)
    before = snapshot(db)
    with pytest.raises(UsedOnAnotherOrder) as refused:
        release(db, perks, coupon.code, "1002")
    assert refused.value.data["order_id"] == "1001"
    assert snapshot(db) == before
    record = release(db, perks, coupon.code, "1001", reason="order cancelled before payment")
    assert (record.status, record.order_id, record.used_at) == ("active", None, None)
    assert use(db, perks, coupon.code, "1002", basket).replayed is False
    actions = [(a, r) for a, r, _ in coupon_events(db, coupon.claim_id)]
    assert actions == [
        ("coupon.use", "used on order 1001"),
        ("coupon.release", "order cancelled before payment"),
        ("coupon.use", "used on order 1002"),
    ]


def test_a_released_coupon_past_its_expiry_is_expired(db, perks):
    coupon = issue(db, perks, perk="ten-off", expires_at=utcnow() + timedelta(hours=1))
    use(db, perks, coupon.code, "1001", cart(("A", "30.00", 1)))
    later = utcnow() + timedelta(hours=2)
    record = db.run(
        lambda s: release_coupon(
            session=s,
            keys=perks,
            code=coupon.code,
            order_id="1001",
            reason="x",
            operator="t",
            now=later,
        )
    )
    assert record.status == "expired"


# --- show, list, export ----------------------------------------------------------------------


def test_show_gives_the_spec_fields(db, perks):
    coupon = issue(db, perks, perk="free-lipstick")
    data = show(db, perks, coupon.code).as_json()
    assert set(data) >= {
        "coupon",
        "kind",
        "amount",
        "percent",
        "min_purchase",
        "max_shipping",
        "product",
        "variants",
        "collections",
        "status",
        "member",
        "claim_id",
        "order_id",
        "used_at",
        "expires_at",
    }
    assert data["coupon"] == coupon.masked and "code" not in data
    assert (data["kind"], data["product"], data["variants"]) == (
        "free_product",
        "LIPSTICK",
        ["LIPSTICK-RED", "LIPSTICK-PINK"],
    )
    assert (data["status"], data["member"], data["claim_id"]) == ("active", "C-1", coupon.claim_id)


def test_list_filters_and_masks_unless_revealed(db, perks):
    a = issue(db, perks, perk="ten-off", member="C-1")
    b = issue(db, perks, perk="free-shipping", member="C-2")
    c = issue(db, perks, perk="ten-off", member="C-2", expires_at=utcnow() - timedelta(days=1))
    use(db, perks, a.code, "1001", cart(("A", "30.00", 1)))

    def listed(**kwargs):
        found = db.run(lambda s: list_coupons(session=s, **kwargs), write=False)
        return [(r.claim_id, r.status, r.code) for r in found.coupons], found.total

    assert listed()[1] == 3
    assert listed(member="C-2")[0] == [
        (c.claim_id, "expired", None),
        (b.claim_id, "active", None),
    ]
    assert listed(perk="ten-off", status="used")[0] == [(a.claim_id, "used", None)]
    assert listed(status="expired")[0] == [(c.claim_id, "expired", None)]
    assert listed(status="active")[0] == [(b.claim_id, "active", None)]
    assert listed(status="cancelled") == ([], 0)
    assert listed(member="C-2", keys=perks)[0] == [
        (c.claim_id, "expired", c.code),
        (b.claim_id, "active", b.code),
    ]
    limited = listed(limit=2)
    assert (len(limited[0]), limited[1]) == (2, 3)
    with pytest.raises(UnknownMember):
        listed(member="C-9")
    with pytest.raises(UnknownPerk):
        listed(perk="ten-of")
    with pytest.raises(UsageProblem):
        listed(status="lost")


def test_export_streams_codes_and_terms_page_by_page(db, perks):
    made = [issue(db, perks, perk="ten-off") for _ in range(5)]
    made.append(issue(db, perks, perk="free-lipstick", member="C-2"))
    use(db, perks, made[0].code, "1001", cart(("A", "30.00", 1)))
    pages = []
    result = db.run(
        lambda s: export_coupons(session=s, keys=perks, emit=pages.append, page_size=2),
        write=False,
    )
    assert result.count == 6 and [len(p) for p in pages] == [2, 2, 2]
    rows = [row for page in pages for row in page]
    assert [r.code for r in rows] == [m.code for m in made]
    last = rows[-1]
    assert (last.kind, last.product, last.variants, last.member) == (
        "free_product",
        "LIPSTICK",
        ("LIPSTICK-RED", "LIPSTICK-PINK"),
        "C-2",
    )
    assert (rows[0].amount, rows[0].min_purchase, rows[0].percent) == ("10.00", "25.00", None)
    active = []
    db.run(
        lambda s: export_coupons(session=s, keys=perks, emit=active.extend, status="active"),
        write=False,
    )
    assert [r.code for r in active] == [m.code for m in made[1:]]


def test_coupon_figures(db, perks):
    a = issue(db, perks, perk="ten-off")
    issue(db, perks, perk="ten-off", expires_at=utcnow() - timedelta(days=1))
    issue(db, perks, perk="ten-off")
    use(db, perks, a.code, "1001", cart(("A", "30.00", 1)))
    figures = db.run(lambda s: coupon_figures(session=s), write=False)
    assert (figures.issued, figures.active, figures.used, figures.expired) == (3, 1, 1, 1)
