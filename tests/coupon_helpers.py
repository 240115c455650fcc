"""Coupons for tests: coupon perks applied from TOML, and coupons issued to members.

THE ONE PLACE that makes coupons for the tests of the store's side (`coupon check | use |
...`, events, audit, statistics). Until claims of coupon perks issue coupons themselves
(the coupon-issue branch), `issue` claims the perk with `claim_perk` (a real claim: supply,
allowance, certificate) and then inserts the claim's coupon row with
`store.coupons.insert_coupon`: a real code of the generated codes' shape (with its check
symbol), its keyed hash and its ciphertext made with the test's key ring, the perk's
terms frozen as `CouponSpec.terms` gives them. When the issuing lands, `issue` becomes a
call of the real claim and returns the code its redemption reveals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from loyaltyctl.domain import promo
from loyaltyctl.domain.coupons import CouponSpec, code_binding
from loyaltyctl.domain.money import money_text
from loyaltyctl.domain.values import utcnow

UTC = ZoneInfo("UTC")

# every kind, with the seed's numbers
COUPON_PERKS = """
[[perk]]
slug = "ten-off"
name = "$10 off your next order"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
instructions = "Enter the code at checkout."
[perk.coupon]
kind = "fixed"
amount = "10.00"
min_purchase = "25.00"

[[perk]]
slug = "convert"
name = "Convert your points"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "convert"
points = 100
amount = "10.00"
min_purchase = "25.00"
min_points = 100
max_points = 1000

[[perk]]
slug = "fifteen-percent"
name = "15% off"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "percent"
percent = 15

[[perk]]
slug = "summer-five"
name = "$5 off summer items"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "fixed"
amount = "5.00"
collections = ["summer"]

[[perk]]
slug = "free-shipping"
name = "Free shipping"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "free_shipping"
max_shipping = "15.00"

[[perk]]
slug = "free-lipstick"
name = "Free lipstick"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "free_product"
product = "LIPSTICK"
variants = ["LIPSTICK-RED", "LIPSTICK-PINK"]

[[perk]]
slug = "free-eyeliner"
name = "Free eyeliner"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "free_product"
product = "EYELINER"

[[perk]]
slug = "month-five"
name = "$5 off this month"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "fixed"
amount = "5.00"
expires_after_days = 30
"""


@dataclass(frozen=True)
class Issued:
    code: str  # as the member was given it: groups of four (7KQ4-M2XA-HP3C)
    claim_id: str

    @property
    def masked(self) -> str:
        return "****-" + promo.normalize(self.code)[-4:]


def apply_coupon_perks(db, folder: Path, text: str = COUPON_PERKS) -> None:
    """Apply the coupon perks (TOML) to the database."""
    from loyaltyctl.program.files import read_program_files
    from loyaltyctl.services.apply import apply_program

    path = folder / "coupon-perks.toml"
    path.write_text(text, encoding="utf-8")
    files = read_program_files([path], env={}, tz=UTC)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="tester"))


_UNSET = object()


def issue(
    db,
    keys,
    *,
    perk: str,
    member: str = "C-1",
    points: int | None = None,
    issued_at: datetime | None = None,
    expires_at=_UNSET,
    tz: ZoneInfo = UTC,
) -> Issued:
    """A coupon of ``perk`` issued to ``member`` (who must exist): the claim, then its
    coupon (``points`` chosen for a convert perk; ``expires_at`` as the perk's expiry
    gives it unless given)."""
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.store import coupons as coupon_store
    from loyaltyctl.store import members as member_store
    from loyaltyctl.store import perks as perk_store

    now = issued_at or utcnow()
    code = promo.display(promo.generated_code("", 11))
    normalized = promo.normalize(code)

    def work(session):
        claim = claim_perk(
            session=session, keys=keys, perk_slug=perk, member=member, operator="tester", now=now
        )
        row = perk_store.require(session, perk)
        spec = CouponSpec.from_json(json.loads(row.coupon))
        terms = spec.terms(points if spec.kind == "convert" else None)
        ends = spec.expires_at(now, tz) if expires_at is _UNSET else expires_at

        def money(value):
            return None if value is None else money_text(value)

        coupon_store.insert_coupon(
            session,
            {
                "claim_id": claim.claim_id,
                "perk_id": row.id,
                "member_id": member_store.require_row(session, member).id,
                "code_hash": keys.lookup_hash(normalized),
                "code_enc": keys.encrypt(code, bound_to=code_binding(claim.claim_id)),
                "code_tail": normalized[-4:],
                "kind": terms.kind,
                "amount": money(terms.amount),
                "percent": None if terms.percent is None else f"{terms.percent:f}",
                "min_purchase": money(terms.min_purchase),
                "max_shipping": money(terms.max_shipping),
                "product": terms.product,
                "variants": json.dumps(list(terms.variants)),
                "collections": json.dumps(list(terms.collections)),
                "points": points if spec.kind == "convert" else row.price,
                "issued_at": now,
                "expires_at": ends,
                "status": "active",
                "order_id": None,
                "used_at": None,
                "updated_at": now,
            },
        )
        return claim.claim_id

    return Issued(code=code, claim_id=db.run(work))
