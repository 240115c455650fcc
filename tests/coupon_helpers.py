"""Coupons for tests: coupon perks applied from TOML, and coupons issued to members.

THE ONE PLACE that makes coupons for the tests of the store's side (`coupon check | use |
...`, events, audit, statistics): `issue` makes a real claim of a coupon perk with
`claim_perk` and returns the code its redemption reveals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from loyaltyctl.domain import promo
from loyaltyctl.domain.coupons import masked
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
        return masked(promo.normalize(self.code)[-4:])


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
    from sqlalchemy import text

    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.services.ledger import change_points

    now = issued_at or utcnow()

    def work(session):
        if points:  # a convert claim pays the points chosen: the member gets them first
            change_points(
                session=session,
                member=member,
                amount=points,
                reason="points to convert",
                operator="tester",
                now=now,
            )
        claim = claim_perk(
            session=session,
            keys=keys,
            perk_slug=perk,
            member=member,
            operator="tester",
            now=now,
            points=points,
            tz=tz,
        )
        if expires_at is not _UNSET:  # a test's own expiry (e.g. one already past)
            session.execute(
                text("UPDATE coupon SET expires_at = :at WHERE claim_id = :claim"),
                {"at": expires_at, "claim": claim.claim_id},
            )
        return claim.redemption.value, claim.claim_id

    code, claim_id = db.run(work)
    return Issued(code=code, claim_id=claim_id)
