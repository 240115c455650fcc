"""Claims of coupon perks issue coupons; tier prices at claim time; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from loyaltyctl.domain import coupon_codes, errors
from loyaltyctl.domain import promo as promo_domain
from loyaltyctl.domain.coupons import CouponSpec
from loyaltyctl.domain.perks import PerkSpec
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import cancel_claim, show_claim
from loyaltyctl.services.claims import certificate, claim_perk
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.members import show_member
from loyaltyctl.services.perks import perks_for_member, show_perk
from loyaltyctl.services.secrets import reencrypt_secrets
from loyaltyctl.services.stats import claim_stats, overview
from loyaltyctl.store.tables import Claim, Coupon, LedgerEntry, Member, Perk, PerkMember

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Amsterdam")


def _perk(slug: str, coupon: CouponSpec, price: int = 100, **extra) -> PerkSpec:
    return PerkSpec(
        slug=slug,
        name=slug.replace("-", " ").title(),
        price=price,
        category="discount",
        redemption_type="coupon",
        instructions="Enter the code at checkout.",
        coupon=coupon,
        source="perks.toml",
        line=1,
        **extra,
    )


TEN_OFF = _perk(
    "ten-off",
    CouponSpec(
        kind="fixed",
        amount=Decimal("10.00"),
        min_purchase=Decimal("25.00"),
        collections=("summer",),
        expires_after_days=30,
    ),
    tier_prices={"gold": 80, "platinum": "0.5x"},
)
CONVERT = _perk(
    "convert-points",
    CouponSpec(
        kind="convert",
        points=100,
        amount=Decimal("10.00"),
        min_purchase=Decimal("25.00"),
        min_points=100,
        max_points=1000,
    ),
    price=0,
)
PERCENT = _perk("pct-off", CouponSpec(kind="percent", percent=Decimal("12.5")), price=50)
SHIPPING = _perk(
    "free-shipping", CouponSpec(kind="free_shipping", max_shipping=Decimal("9.90")), price=40
)
LIPSTICK = _perk(
    "free-lipstick",
    CouponSpec(kind="free_product", product="LIPSTICK", variants=("LIPSTICK-RED",)),
    price=50,
)
COFFEE = PerkSpec(  # not a coupon: tier prices hold for any perk
    slug="free-coffee",
    name="Free Coffee",
    price=99,
    category="experience",
    redemption_type="code",
    value="COFFEE-2026",
    tier_prices={"gold": 60, "platinum": "0.5x"},
    source="perks.toml",
    line=1,
)
ALL = (TEN_OFF, CONVERT, PERCENT, SHIPPING, LIPSTICK, COFFEE)


@pytest.fixture
def program(run, keys, member):
    def apply(*specs):
        return run(
            apply_program,
            program=ProgramFiles({"perk": list(specs)}),
            keys=lambda: keys,
            operator="tester",
            now=NOW,
        )

    def credit(external_id, amount):
        run(change_points, member=external_id, amount=amount, reason="t", operator="t", now=NOW)

    def claim(slug, who="C-1", *, points=None, key=None, now=NOW):
        return run(
            claim_perk,
            keys=keys,
            perk_slug=slug,
            member=who,
            operator="tester",
            key=key,
            points=points,
            now=now,
            tz=TZ,
        )

    member("C-1")
    member("C-GOLD", tier="gold")  # a tier set by hand
    member("C-PLAT")
    credit("C-1", 1000)
    credit("C-GOLD", 1000)
    credit("C-PLAT", 1000)
    apply(*ALL)
    return type("Program", (), {"apply": apply, "credit": credit, "claim": claim})


def _coupon(db, claim_id) -> Coupon:
    with db.transaction(write=False) as s:
        row = s.get(Coupon, claim_id)
        s.expunge(row)
        return row


def _snapshot(db) -> dict:
    """What a refused claim or cancel must leave as it was."""
    with db.transaction(write=False) as s:
        return {
            "balances": dict(s.execute(select(Member.external_id, Member.balance)).all()),
            "entries": s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one(),
            "claims": sorted(s.execute(select(Claim.id, Claim.status)).all()),
            "coupons": sorted(
                s.execute(select(Coupon.claim_id, Coupon.status, Coupon.updated_at)).all()
            ),
            "claimed": dict(s.execute(select(Perk.slug, Perk.claimed)).all()),
            "spent": dict(s.execute(select(Perk.slug, Perk.points_spent)).all()),
            "allowances": sorted(s.execute(select(PerkMember.perk_id, PerkMember.claims)).all()),
        }


def _use(db, claim_id, order="1001", at=NOW):
    """The store's side (another command) records a use: what a used coupon looks like."""
    with db.transaction() as s:
        s.execute(
            update(Coupon)
            .where(Coupon.claim_id == claim_id)
            .values(status="used", order_id=order, used_at=at, updated_at=at)
        )


# --- issuing ----------------------------------------------------------------------------


def test_a_claim_of_a_coupon_perk_issues_a_unique_code_with_frozen_terms(program, db, keys, run):
    result = program.claim("ten-off")
    redemption = result.redemption
    assert redemption.type == "coupon" and redemption.instructions == "Enter the code at checkout."
    code = redemption.value
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4]  # 7KQ4-M2XA-HP3C
    normalized = coupon_codes.normalize(code)
    assert coupon_codes.is_well_formed(normalized) and promo_domain.has_valid_check(normalized)
    assert redemption.coupon == {
        "kind": "fixed",
        "amount": "10.00",
        "percent": None,
        "min_purchase": "25.00",
        "max_shipping": None,
        "product": None,
        "variants": None,
        "collections": ["summer"],
        # end of the 30th day after the claim's day (Nov 22, Amsterdam): Dec 22, 24:00
        "expires_at": datetime(2026, 12, 22, 23, 0, tzinfo=UTC),
    }
    row = _coupon(db, result.claim_id)
    assert row.code_hash == keys.lookup_hash(normalized)
    assert row.code_tail == normalized[-4:] and row.status == "active"
    assert keys.decrypt(row.code_enc, bound_to=f"coupon:{result.claim_id}") == code
    assert code not in row.code_enc and row.points == 100 and row.kind == "fixed"
    assert (row.amount, row.min_purchase) == (Decimal("10.00"), Decimal("25.00"))
    # the claim's own row keeps no copy of the code
    with db.transaction(write=False) as s:
        claim = s.get(Claim, result.claim_id)
        assert claim.redemption_enc is None and claim.code_hash is None
    # terms are frozen: a changed perk gives new coupons new terms, not the old one
    program.apply(
        replace(TEN_OFF, coupon=replace(TEN_OFF.coupon, amount=Decimal("12.00"))),
        *ALL[1:],
    )
    assert _coupon(db, result.claim_id).amount == Decimal("10.00")
    assert program.claim("ten-off").redemption.coupon["amount"] == "12.00"
    assert run(verify).ok


def test_expiry_is_the_end_of_the_nth_day_in_the_program_time_zone(program):
    # 23:30 UTC is already Nov 23 in Amsterdam: the 30th day after is Dec 23
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    expires = program.claim("ten-off", now=late).redemption.coupon["expires_at"]
    assert expires == datetime(2026, 12, 24, 0, 0, tzinfo=TZ)


def test_every_kind_freezes_its_own_terms(program):
    shown = {
        slug: program.claim(slug).redemption.coupon
        for slug in ("pct-off", "free-shipping", "free-lipstick")
    }
    assert shown["pct-off"]["kind"] == "percent" and shown["pct-off"]["percent"] == Decimal("12.5")
    assert shown["pct-off"]["amount"] is None and shown["pct-off"]["expires_at"] is None
    assert shown["free-shipping"]["max_shipping"] == "9.90"
    assert shown["free-lipstick"]["product"] == "LIPSTICK"
    assert shown["free-lipstick"]["variants"] == ["LIPSTICK-RED"]


@pytest.mark.parametrize(
    ("points", "amount", "minimum"),
    [
        (100, "10.00", "25.00"),
        (200, "20.00", "50.00"),
        (150, "15.00", "37.50"),
        (1000, "100.00", "250.00"),
    ],
)
def test_convert_debits_the_points_chosen_at_the_seeds_rate(
    program, db, run, keys, points, amount, minimum
):
    result = program.claim("convert-points", points=points)
    assert result.points_spent == points and result.balance == 1000 - points
    assert result.redemption.coupon["amount"] == amount
    assert result.redemption.coupon["min_purchase"] == minimum
    assert _coupon(db, result.claim_id).points == points
    assert f'"points_spent":{points}' in run(certificate, claim_id=result.claim_id)
    assert run(show_perk, slug="convert-points").points_spent == points


def test_convert_rounds_the_value_down_and_the_minimum_up(program, db):
    program.apply(
        replace(CONVERT, coupon=replace(CONVERT.coupon, points=3, min_points=None)), *ALL[2:]
    )
    coupon = program.claim("convert-points", points=1).redemption.coupon
    assert coupon["amount"] == "3.33"  # 10.00 / 3 down
    assert coupon["min_purchase"] == "8.34"  # 25.00 / 3 up


def test_points_are_required_for_convert_refused_elsewhere_and_bounded(program, db):
    before = _snapshot(db)
    with pytest.raises(errors.UsageProblem) as missing:
        program.claim("convert-points")
    assert "points" in missing.value.data["arguments"]
    with pytest.raises(errors.UsageProblem) as extra:
        program.claim("ten-off", points=100)
    assert "points" in extra.value.data["arguments"]
    for wrong in (99, 1001, 0, -5):
        with pytest.raises(errors.PointsOutOfRange) as out_of_range:
            program.claim("convert-points", points=wrong)
        assert out_of_range.value.code == "points_out_of_range"
        assert out_of_range.value.data == {
            "perk": "convert-points",
            "points": wrong,
            "min_points": 100,
            "max_points": 1000,
        }
    assert _snapshot(db) == before
    assert program.claim("convert-points", points=1000).balance == 0  # both bounds inclusive
    assert program.claim("convert-points", "C-GOLD", points=100).balance == 900


def test_a_refused_convert_claim_changes_nothing(program, db):
    program.claim("convert-points", points=900)
    before = _snapshot(db)
    with pytest.raises(errors.InsufficientBalance):
        program.claim("convert-points", points=200)  # 100 left
    with pytest.raises(errors.PointsOutOfRange):
        program.claim("convert-points", points=50)
    assert _snapshot(db) == before


def test_a_drawn_code_already_issued_is_drawn_again(program, db, monkeypatch):
    first = program.claim("ten-off")
    taken = coupon_codes.normalize(first.redemption.value)
    fresh = coupon_codes.new_code()
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr(coupon_codes, "new_code", lambda: next(draws))
    second = program.claim("ten-off")
    assert coupon_codes.normalize(second.redemption.value) == fresh
    with db.transaction(write=False) as s:
        assert s.execute(select(func.count()).select_from(Coupon)).scalar_one() == 2


def test_a_key_replays_the_same_coupon_and_other_points_conflict(program, db, run, keys):
    first = program.claim("convert-points", points=300, key="web-1")
    again = program.claim("convert-points", points=300, key="web-1")
    assert again.replayed and again.claim_id == first.claim_id
    assert again.redemption.value == first.redemption.value
    assert again.redemption.coupon == first.redemption.coupon
    assert again.points_spent == 300 and again.balance == 700
    before = _snapshot(db)
    with pytest.raises(errors.KeyConflict):
        program.claim("convert-points", points=400, key="web-1")
    assert _snapshot(db) == before
    revealed = run(show_claim, claim_id=first.claim_id, keys=keys)
    assert revealed.redemption.value == first.redemption.value
    assert revealed.coupon["code"] == "****-****-" + first.redemption.value[-4:]


def test_supply_and_member_limits_hold_for_coupon_perks(program, db):
    program.apply(replace(TEN_OFF, max_supply=2, max_per_member=1), *ALL[1:])
    program.claim("ten-off", "C-1")
    with pytest.raises(errors.MemberLimit):
        program.claim("ten-off", "C-1")
    program.claim("ten-off", "C-GOLD")
    before = _snapshot(db)
    with pytest.raises(errors.SoldOut):
        program.claim("ten-off", "C-PLAT")
    assert _snapshot(db) == before
    assert len(before["coupons"]) == 2


# --- tier prices ----------------------------------------------------------------------


def _set_computed_tier(db, external_id, tier):
    """What the earning engine stores for a computed tier (not set by hand), with the
    `member.tier` audit event it records (`audit verify` checks the tier against it)."""
    from loyaltyctl.domain.values import utcnow
    from loyaltyctl.store import audit

    with db.transaction() as s:
        s.execute(
            update(Member)
            .where(Member.external_id == external_id)
            .values(tier=tier, tier_manual=False)
        )
        audit.append_event(
            s,
            subject=f"member:{external_id}",
            action="member.tier",
            operator="earning",
            at=utcnow(),
            details={"from": None, "to": tier},
        )


@pytest.mark.parametrize("slug", ["ten-off", "free-coffee"])
def test_a_member_pays_their_tiers_price_everywhere(program, db, run, slug):
    _set_computed_tier(db, "C-PLAT", "platinum")
    base = {"ten-off": 100, "free-coffee": 99}[slug]
    gold = {"ten-off": 80, "free-coffee": 60}[slug]
    half = {"ten-off": 50, "free-coffee": 50}[slug]  # 0.5x, 49.5 rounded up for coffee
    paid = {
        who: program.claim(slug, who)
        for who in ("C-1", "C-GOLD", "C-PLAT")  # none, by hand, computed
    }
    assert {w: r.points_spent for w, r in paid.items()} == {
        "C-1": base,
        "C-GOLD": gold,
        "C-PLAT": half,
    }
    assert {w: r.balance for w, r in paid.items()} == {
        "C-1": 1000 - base,
        "C-GOLD": 1000 - gold,
        "C-PLAT": 1000 - half,
    }
    with db.transaction(write=False) as s:
        debits = dict(
            s.execute(
                select(Member.external_id, -LedgerEntry.amount)
                .join(Member, Member.id == LedgerEntry.member_id)
                .where(LedgerEntry.kind == "claim")
            ).all()
        )
    assert debits == {"C-1": base, "C-GOLD": gold, "C-PLAT": half}
    for result in paid.values():
        assert f'"points_spent":{result.points_spent}' in run(certificate, claim_id=result.claim_id)
    assert run(show_perk, slug=slug).points_spent == base + gold + half
    stats = {p.slug: p for p in run(claim_stats, tz=TZ).perks}
    assert stats[slug].points_spent == base + gold + half and stats[slug].claims == 3
    assert run(overview, now=NOW).points.spent == base + gold + half
    assert run(verify).ok


def test_the_balance_rule_uses_the_tier_price(program, db, member):
    member("G-2", tier="gold")
    member("N-2")
    program.credit("G-2", 80)
    program.credit("N-2", 80)
    assert program.claim("ten-off", "G-2").balance == 0
    with pytest.raises(errors.InsufficientBalance, match="costs 100"):
        program.claim("ten-off", "N-2")


def test_perk_list_for_a_member_shows_what_they_would_pay(program, run, member):
    member("G-3", tier="gold")
    program.credit("G-3", 70)
    choices = {c.perk.slug: c for c in run(perks_for_member, member="G-3", now=NOW)}
    assert choices["ten-off"].price == 80 and not choices["ten-off"].claimable
    assert choices["ten-off"].code == "insufficient_balance"
    assert choices["free-coffee"].price == 60 and choices["free-coffee"].claimable
    assert choices["convert-points"].price is None  # the member chooses
    assert choices["convert-points"].code == "insufficient_balance"  # 70 < min_points 100
    assert choices["pct-off"].price == 50 and choices["pct-off"].claimable
    shown = run(show_perk, slug="ten-off")
    assert shown.tier_prices == {"gold": 80, "platinum": "0.5x"}
    assert shown.coupon["kind"] == "fixed" and shown.coupon["amount"] == "10.00"
    assert run(show_perk, slug="convert-points").coupon["min_points"] == 100


# --- cancel -------------------------------------------------------------------------------


def test_cancelling_an_unused_coupons_claim_refunds_and_cancels_the_coupon(program, db, run):
    result = program.claim("ten-off", "C-GOLD")
    record = run(cancel_claim, claim_id=result.claim_id, reason="changed mind", operator="t")
    assert record.status == "cancelled" and record.balance == 1000
    assert record.coupon["status"] == "cancelled"
    assert _coupon(db, result.claim_id).status == "cancelled"
    assert run(show_perk, slug="ten-off").points_spent == 0
    assert run(verify).ok


def test_an_expired_coupons_claim_can_be_cancelled(program, db, run):
    result = program.claim("ten-off")
    later = NOW + timedelta(days=60)
    shown = run(show_claim, claim_id=result.claim_id, now=later)
    assert shown.coupon["status"] == "expired"
    record = run(cancel_claim, claim_id=result.claim_id, reason="r", operator="t", now=later)
    assert record.balance == 1000 and _coupon(db, result.claim_id).status == "cancelled"


def test_a_used_coupons_claim_cannot_be_cancelled(program, db, run):
    result = program.claim("convert-points", points=200)
    _use(db, result.claim_id)
    before = _snapshot(db)
    with pytest.raises(errors.CouponUsed) as refused:
        run(cancel_claim, claim_id=result.claim_id, reason="r", operator="t")
    assert refused.value.code == "coupon_used" and "1001" in refused.value.message
    assert result.redemption.value not in refused.value.message
    assert _snapshot(db) == before


# --- prizes ---------------------------------------------------------------------------------


def test_campaign_prizes_that_are_coupon_perks_issue_coupons(program, db, run, keys):
    from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec
    from loyaltyctl.services.promo import redeem

    run(
        apply_program,
        program=ProgramFiles(
            {
                "perk": list(ALL),
                "campaign": [
                    CampaignSpec(
                        slug="xmas",
                        name="Christmas",
                        perks=("ten-off", "convert-points"),
                        codes=(SharedCodeSpec("XMAS2026", None),),
                        source="c.toml",
                        line=1,
                    )
                ],
            }
        ),
        keys=lambda: keys,
        operator="t",
        now=NOW,
    )
    result = run(redeem, keys=keys, code="xmas2026", member="C-GOLD", operator="t", tz=TZ, now=NOW)
    assert result.balance == 1000  # prizes are free, whatever the tier price
    claims = {p.slug: run(show_claim, claim_id=p.claim_id, keys=keys) for p in result.perks}
    assert {s: c.points_spent for s, c in claims.items()} == {"ten-off": 0, "convert-points": 0}
    fixed, converted = claims["ten-off"].redemption, claims["convert-points"].redemption
    assert fixed.type == "coupon" and fixed.coupon["amount"] == "10.00"
    # a convert coupon won as a prize converts its rate's points: 100 points -> $10
    assert converted.coupon["amount"] == "10.00" and converted.coupon["min_purchase"] == "25.00"
    assert fixed.value != converted.value
    assert _coupon(db, result.perks[0].claim_id).points == 0
    assert run(verify).ok


# --- a member's coupons ---------------------------------------------------------------------


def test_member_show_lists_coupons_masked_usable_first(program, db, run):
    used = program.claim("pct-off", now=NOW - timedelta(days=3))
    expired = program.claim("ten-off", now=NOW - timedelta(days=40))
    cancelled = program.claim("free-shipping", now=NOW - timedelta(days=2))
    run(cancel_claim, claim_id=cancelled.claim_id, reason="r", operator="t", now=NOW)
    active = program.claim("free-lipstick", now=NOW - timedelta(days=1))
    _use(db, used.claim_id)
    profile = run(show_member, external_id="C-1", now=NOW)
    listed = [(c.perk, c.status, c.code) for c in profile.coupons]
    assert listed[0] == ("free-lipstick", "active", "****-****-" + active.redemption.value[-4:])
    assert sorted(listed[1:]) == sorted(
        [
            ("pct-off", "used", "****-****-" + used.redemption.value[-4:]),
            ("ten-off", "expired", "****-****-" + expired.redemption.value[-4:]),
            ("free-shipping", "cancelled", "****-****-" + cancelled.redemption.value[-4:]),
        ]
    )
    assert profile.coupons[0].kind == "free_product"
    assert profile.coupons[0].expires_at is None


def test_keys_rotate_reencrypts_coupon_codes(program, db, run, keys, tmp_path):
    result = program.claim("ten-off")
    ring = keys.with_new_primary()
    count = run(reencrypt_secrets, keys=ring, operator="t")
    assert count >= 2  # the coffee perk's value and the coupon's code
    row = _coupon(db, result.claim_id)
    assert row.code_enc.startswith(ring.primary + ":")
    again = run(show_claim, claim_id=result.claim_id, keys=ring)
    assert again.redemption.value == result.redemption.value


def test_a_convert_coupon_is_never_worth_more_than_money_can_say(program, db):
    rich = replace(
        CONVERT,
        coupon=CouponSpec(kind="convert", points=1, amount=Decimal("1000.00")),
    )
    program.apply(rich, *ALL[2:])
    before = _snapshot(db)
    with pytest.raises(errors.PointsOutOfRange, match="at most 1000000000.00"):
        program.claim("convert-points", points=1_000_001)
    assert _snapshot(db) == before


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from(ALL))
def test_any_points_are_taken_or_refused_in_words(points, spec):
    """No value of --points ends anywhere but in a coupon or a refusal (no database)."""
    from loyaltyctl.services.claim_coupons import chosen_points

    perk = Perk(slug=spec.slug, redemption_type=spec.redemption_type)
    try:
        chosen = chosen_points(perk, spec.coupon, points)
    except (errors.UsageProblem, errors.PointsOutOfRange) as refused:
        assert refused.message
        return
    assert chosen == points and spec.coupon.kind == "convert"
    assert spec.coupon.terms(chosen).amount <= Decimal("1000000000.00")
