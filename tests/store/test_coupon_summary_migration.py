"""Migration 0007 counts the coupons a database has already, each in its shard, so the
kept figures agree with them and every later move finds its shard's row."""

from __future__ import annotations

import json

from alembic import command

from loyaltyctl.domain.cart import parse_cart
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import cancel_claim
from loyaltyctl.services.coupons.checkout import use_coupon
from loyaltyctl.services.coupons.listing import coupon_figures
from loyaltyctl.store import coupons as coupon_store
from loyaltyctl.store import migrate
from loyaltyctl.store.db import Database
from tests.coupon_helpers import apply_coupon_perks, issue

CART = parse_cart(json.dumps({"items": [{"sku": "A", "price": "30.00", "quantity": 1}]}))


def use(db, keys, code, order):
    return db.run(
        lambda s: use_coupon(
            session=s, keys=keys, code=code, order_id=order, cart=CART, operator="t"
        )
    )


def test_an_upgrade_counts_the_coupons_there_are(db, db_url, keys, member, tmp_path):
    member("C-1")
    apply_coupon_perks(db, tmp_path)
    made = [issue(db, keys, perk="ten-off") for _ in range(12)]
    use(db, keys, made[0].code, "1001")
    db.run(lambda s: cancel_claim(session=s, claim_id=made[1].claim_id, reason="x", operator="t"))
    db.run(lambda s: coupon_store.cancel_coupon(s, made[1].claim_id, utcnow()))
    admin = Database(db_url, check_schema=False)
    with admin.connect() as conn, conn.begin():  # back to a 0006 database with coupons
        command.downgrade(migrate._config(conn), "0006")  # every later migration's downgrade
    assert migrate.upgrade(admin) == ("0006", migrate.head_revision())
    admin.dispose()
    assert db.run(lambda s: verify(session=s), write=False).ok
    for i, coupon in enumerate(made[2:]):  # every shard's row takes its moves
        use(db, keys, coupon.code, f"2{i:03d}")
    figures = db.run(lambda s: coupon_figures(session=s), write=False)
    assert (figures.issued, figures.used, figures.cancelled, figures.active) == (12, 11, 1, 0)
    assert db.run(lambda s: verify(session=s), write=False).ok
