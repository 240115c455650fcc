"""Campaigns and redeeming codes, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from loyaltyctl.domain import errors
from loyaltyctl.domain.perks import Audience, PerkSpec
from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec, normalize
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.apply.campaigns import CampaignKind
from loyaltyctl.services.apply.planner import plan
from loyaltyctl.services.audit import verify
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.promo import (
    create_campaign,
    redeem,
    restock,
    set_campaign_status,
    show_campaign,
)
from loyaltyctl.store.tables import Claim, Member, Perk, PromoCode, PromoRedemption

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Amsterdam")

SUMMER = CampaignSpec(
    slug="summer",
    name="Summer",
    points=100,
    perks=("free-coffee",),
    per_member=3,
    per_member_daily=2,
    codes=(SharedCodeSpec("SUMMER50", 4),),
    source="campaigns.toml",
    line=1,
)
COFFEE = PerkSpec(
    slug="free-coffee",
    name="Free Coffee",
    price=200,
    max_supply=10,
    max_per_member=1,  # prizes are not limited by it
    redemption_type="code",
    value="COFFEE",
    single_use=True,
    source="p.toml",
    line=1,
)


@pytest.fixture
def promo(run, keys, member):
    member("C-1", tier="gold", groups=["students"])
    member("C-2")
    run(apply_program, program=ProgramFiles({"perk": [COFFEE]}), keys=lambda: keys, operator="t")

    def apply(*specs, prune=False):
        def work(session):
            planned = plan(
                (CampaignKind,),
                session=session,
                program=ProgramFiles({"campaign": list(specs)}),
                keys=lambda: keys,
                operator="t",
                prune=prune,
                now=NOW,
            )
            if planned.problems:
                raise errors.BadInputFile(planned.problems)
            planned.write()
            return planned.changes

        return run(lambda session: work(session))

    def use(code, who="C-1", now=NOW, key=None):
        return run(redeem, keys=keys, code=code, member=who, operator="t", tz=TZ, key=key, now=now)

    apply(SUMMER)
    return type("Promo", (), {"apply": apply, "redeem": use})


def _state(db):
    with db.transaction() as s:
        balances = dict(s.execute(select(Member.external_id, Member.balance)).all())
        uses = s.execute(select(PromoCode.uses)).scalars().all()
        claims = s.execute(select(Claim.id)).scalars().all()
        redemptions = s.execute(select(PromoRedemption.id)).scalars().all()
        claimed = s.execute(select(Perk.claimed)).scalar_one()
    return balances, sorted(uses), len(claims), len(redemptions), claimed


def test_redeem_credits_points_and_claims_the_prize_free(promo, db, run, keys):
    result = promo.redeem(" summer-5o ")  # case, spaces, dashes and O/0 ignored
    assert (result.campaign, result.points, result.balance) == ("summer", 100, 100)
    assert [p.slug for p in result.perks] == ["free-coffee"]
    balances, uses, claims, redemptions, claimed = _state(db)
    assert balances["C-1"] == 100 and uses == [1] and (claims, redemptions, claimed) == (1, 1, 1)
    with db.transaction() as s:
        claim = s.execute(select(Claim)).scalar_one()
    assert claim.points == 0 and claim.redemption_id == result.redemption_id
    shown = run(show_campaign, slug="summer", keys=keys)
    assert (shown.redemptions, shown.points_granted, shown.codes_issued) == (1, 100, 1)
    assert [(c.code, c.inventory, c.used) for c in shown.shared_codes] == [("SUMMER50", 4, 1)]
    assert run(verify).ok


def test_unknown_code_says_nothing_about_other_codes(promo):
    for typo, shown in (("SUMMER51", "SUMMER51"), ("sumer50", "SUMER50"), ("", "given")):
        with pytest.raises(errors.UnknownCode) as caught:
            promo.redeem(typo)
        assert caught.value.message == (
            f"The code {shown} is not valid; check it for a typo and type it again."
        )


def test_limits_and_inventory(promo, db):
    promo.redeem("SUMMER50")
    promo.redeem("SUMMER50")
    with pytest.raises(errors.MemberDailyLimit):
        promo.redeem("SUMMER50")
    tomorrow = NOW + timedelta(days=1)
    promo.redeem("SUMMER50", now=tomorrow)
    with pytest.raises(errors.MemberLimit):
        promo.redeem("SUMMER50", now=tomorrow + timedelta(days=1))
    promo.redeem("SUMMER50", who="C-2")  # the 4th and last use
    before = _state(db)
    with pytest.raises(errors.CodeUsedUp) as caught:
        promo.redeem("SUMMER50", who="C-2", now=tomorrow)
    assert caught.value.message == "This code has been used up."
    assert _state(db) == before


def test_daily_limit_counts_days_in_the_program_time_zone(promo):
    late = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # 23:30 in Amsterdam
    promo.redeem("SUMMER50", now=late)
    promo.redeem("SUMMER50", now=late + timedelta(minutes=10))
    # 00:10 in Amsterdam on July 2nd, still July 1st in UTC: a new day for the program
    assert promo.redeem("SUMMER50", now=late + timedelta(minutes=40)).points == 100


@pytest.mark.parametrize(
    ("change", "who", "error"),
    [
        ({"status": "paused"}, "C-1", errors.CampaignPaused),
        ({"valid_from": NOW + timedelta(days=1)}, "C-1", errors.NotInWindow),
        ({"valid_until": NOW - timedelta(days=1)}, "C-1", errors.NotInWindow),
        ({"audience": Audience(groups=("students",))}, "C-2", errors.NotInAudience),
    ],
)
def test_refusals_change_nothing(promo, db, change, who, error):
    promo.apply(replace(SUMMER, **change))
    before = _state(db)
    with pytest.raises(error):
        promo.redeem("SUMMER50", who=who)
    assert _state(db) == before


def test_a_prize_out_of_supply_refuses_the_whole_redemption(promo, db, run, keys):
    run(
        apply_program,
        program=ProgramFiles({"perk": [replace(COFFEE, active=False)]}),
        keys=lambda: keys,
        operator="t",
    )
    before = _state(db)
    with pytest.raises(errors.PrizeUnavailable):
        promo.redeem("SUMMER50")
    assert _state(db) == before  # no points, no use, no claim: all or nothing


def test_archive_is_final_and_restock_only_grows(promo, run, keys):
    restocked = run(restock, keys=keys, slug="summer", code="summer50", add=6, operator="t")
    assert (restocked.code, restocked.inventory) == ("SUMMER50", 10)
    run(set_campaign_status, slug="summer", status="paused", operator="t")
    run(set_campaign_status, slug="summer", status="archived", operator="t")
    with pytest.raises(errors.CampaignArchived):
        run(set_campaign_status, slug="summer", status="active", operator="t")
    with pytest.raises(errors.CampaignArchived):
        promo.redeem("SUMMER50")
    with pytest.raises(errors.CampaignArchived):
        run(restock, keys=keys, slug="summer", code="summer50", add=6, operator="t")


def test_apply_refuses_a_lowered_inventory_and_a_taken_code(promo):
    with pytest.raises(errors.BadInputFile) as caught:
        promo.apply(
            replace(SUMMER, codes=(SharedCodeSpec("SUMMER50", 3, line=12, column=1),)),
            CampaignSpec(
                slug="winter",
                name="Winter",
                points=5,
                codes=(SharedCodeSpec("summer-50", None, line=30, column=1),),
                source="w.toml",
                line=20,
            ),
        )
    messages = sorted(str(p) for p in caught.value.problems)
    assert messages[0] == (
        "campaigns.toml:12:1: code.inventory: the inventory of this shared code can only "
        "grow: it is 4, the file says 3."
    )
    assert messages[1].startswith("w.toml:30:1: code: this shared code is already a code")
    assert not any("SUMMER" in m.upper() for m in messages)  # codes are never quoted
    changes = promo.apply(replace(SUMMER, codes=(SharedCodeSpec("SUMMER50", 8),)))
    assert [(c.action, c.fields) for c in changes] == [("update", ("codes",))]
    assert [
        (c.action) for c in promo.apply(replace(SUMMER, codes=(SharedCodeSpec("SUMMER50", 8),)))
    ] == ["unchanged"]


def test_a_generated_code_cannot_be_taken_over_as_a_shared_code(promo, db, run, keys):
    from loyaltyctl.services.promo_codes import generate_codes

    first = []
    generate_codes(
        database=db,
        keys=keys,
        campaign="summer",
        operator="t",
        count=3,
        on_chunk=lambda _b, codes: first.extend(codes),
    )
    with pytest.raises(errors.BadInputFile):
        promo.apply(replace(SUMMER, codes=(SharedCodeSpec(first[0], 1000, line=9, column=1),)))


def test_a_mistyped_generated_code_is_told_as_a_typo(promo, db, keys):
    from loyaltyctl.services.promo_codes import generate_codes

    codes = []
    generate_codes(
        database=db, keys=keys, campaign="summer", operator="t", count=1,
        on_chunk=lambda _b, made: codes.extend(made),
    )  # fmt: skip
    code = codes[0]
    wrong = code[:3] + ("7" if code[3] != "7" else "8") + code[4:]
    with pytest.raises(errors.UnknownCode) as caught:
        promo.redeem(wrong)
    # the same sentence as any unknown code; scripts see the typo in the data
    assert caught.value.message.endswith("is not valid; check it for a typo and type it again.")
    assert caught.value.data == {"mistyped": True}
    assert promo.redeem(code.lower()).campaign == "summer"


def test_idempotent_redemption(promo, db, run):
    first = promo.redeem("SUMMER50", key="web-1")
    again = promo.redeem("SUMMER50", key="web-1")
    assert again.replayed and again.redemption_id == first.redemption_id
    assert [p.claim_id for p in again.perks] == [p.claim_id for p in first.perks]
    assert _state(db)[3] == 1
    with pytest.raises(errors.KeyConflict) as caught:
        promo.redeem("SUMMER50", who="C-2", key="web-1")
    assert caught.value.message == (
        f"The key 'web-1' was already used for another redemption ({first.redemption_id}); "
        "nothing was changed."
    )
    with pytest.raises(errors.KeyConflict) as caught:  # keys are global across kinds of change
        run(change_points, member="C-1", amount=5, reason="x", operator="t", key="web-1")
    assert caught.value.message == (
        f"The key 'web-1' was already used for redemption {first.redemption_id}; "
        "nothing was changed."
    )


@pytest.mark.slow  # starts pg_dump
def test_codes_are_not_stored_in_clear(promo, db_url, run, keys):
    run(
        create_campaign,
        spec=CampaignSpec(
            slug="x", name="X", points=1, codes=(SharedCodeSpec("ZEBRA-7741", None),)
        ),
        keys=lambda: keys,
        operator="t",
    )
    import sqlite3
    import subprocess
    from pathlib import Path

    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    else:
        raw = subprocess.run(["pg_dump", db_url], capture_output=True, check=True).stdout
    for needle in ("ZEBRA7741", "ZEBRA-7741", normalize("ZEBRA-7741"), "SUMMER50"):
        assert needle.encode() not in raw


def test_stats_series_has_every_day_with_gaps_as_zero(promo, run):
    from loyaltyctl.services.stats import promo_stats

    promo.redeem("SUMMER50", who="C-1")
    promo.redeem("SUMMER50", who="C-2", now=NOW + timedelta(days=2))
    (stats,) = run(promo_stats, campaign="summer")
    assert [(p.period, p.redemptions) for p in stats.series] == [
        ("2026-07-01", 1),
        ("2026-07-02", 0),
        ("2026-07-03", 1),
    ]
    assert (stats.redemptions, stats.points_granted, stats.redemption_rate) == (2, 200, 0.5)


def test_stats_series_by_week_and_month(promo, run):
    from loyaltyctl.services.stats import promo_stats

    promo.redeem("SUMMER50", who="C-1")  # Wednesday 2026-07-01
    promo.redeem("SUMMER50", who="C-2", now=NOW + timedelta(days=6))  # Tuesday 07-07
    (weekly,) = run(promo_stats, campaign="summer", by="week")
    assert [(p.period, p.redemptions) for p in weekly.series] == [
        ("2026-06-29", 1),
        ("2026-07-06", 1),
    ]
    (monthly,) = run(promo_stats, campaign="summer", by="month")
    assert [(p.period, p.redemptions) for p in monthly.series] == [("2026-07", 2)]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE perk SET claimed = claimed + 1", "perk free-coffee: claimed is 2"),
        ("UPDATE perk_member SET claims = 0", "a member's claim count is 0"),
        ("UPDATE campaign SET redemptions = 5", "campaign summer: redemptions is 5"),
        ("UPDATE campaign SET points_granted = 1", "campaign summer: points granted is 1"),
        ("UPDATE promo_code SET uses = 3", "a code's uses are 3"),
        ("UPDATE campaign_member SET redemptions = 2", "a member's redemption count is 2"),
        ("UPDATE claim_day SET claims = claims + 1", "its claims per day add up to 2"),
        ("UPDATE ledger_summary SET points = points + 1", "ledger summary of"),
    ],
)
def test_verify_recounts_the_kept_counters(promo, run, tamper, statement, expected):
    promo.redeem("SUMMER50")
    assert run(verify).ok
    tamper(statement)
    result = run(verify)
    assert not result.ok
    assert any(expected in p for p in result.problems), result.problems
