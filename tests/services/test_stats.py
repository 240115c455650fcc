"""Every statistics figure against values counted independently from the rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from loyaltyctl.domain.perks import PerkSpec
from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import cancel_claim
from loyaltyctl.services.claims import claim_perk
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.maintenance import run_due_work
from loyaltyctl.services.promo import create_campaign, redeem
from loyaltyctl.services.stats import claim_stats, member_stats, overview
from loyaltyctl.store.tables import Claim, LedgerEntry, Member, Perk, PointLot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("UTC")
PERKS = [
    PerkSpec(slug="coffee", name="Coffee", price=50, max_supply=100, source="p", line=1),
    PerkSpec(slug="tea", name="Tea", price=30, source="p", line=2),
    PerkSpec(slug="gift", name="Gift", price=0, max_supply=5, source="p", line=3),
]


@pytest.fixture
def program(run, keys, member):
    """A program built through the services: credits (plain, expiring, pending),
    write-offs, claims on several days, a cancellation, expiry, maturing, a promo code."""
    for i, tier in enumerate(("gold", "silver", None, "gold")):
        member(f"M{i}", tier=tier)
    run(apply_program, program=ProgramFiles({"perk": PERKS}), keys=lambda: keys, operator="t")
    run(
        create_campaign,
        spec=CampaignSpec(
            slug="spring", name="Spring", points=25, perks=("gift",),
            codes=(SharedCodeSpec("SPRING", None),),
        ),
        keys=lambda: keys,
        operator="t",
    )  # fmt: skip

    def credit(who, amount, day, **kw):
        run(change_points, member=who, amount=amount, reason="r", operator="t",
            now=T0 + timedelta(days=day), **kw)  # fmt: skip

    def claim(slug, who, day):
        return run(claim_perk, keys=keys, perk_slug=slug, member=who, operator="t",
                   now=T0 + timedelta(days=day, hours=day), tz=TZ)  # fmt: skip

    credit("M0", 500, 0)
    credit("M1", 300, 0, expires_at=T0 + timedelta(days=5))
    credit("M2", 200, 0, pending_until=T0 + timedelta(days=3))
    credit("M3", 1000, 1)
    credit("M3", -120, 2)
    claim("coffee", "M0", 1)
    claim("coffee", "M0", 1)
    claim("tea", "M1", 2)
    cancelled = claim("coffee", "M3", 4)
    claim("tea", "M3", 6)
    run(cancel_claim, claim_id=cancelled.claim_id, reason="oops", operator="t",
        now=T0 + timedelta(days=7), tz=TZ)  # fmt: skip
    run(run_due_work, now=T0 + timedelta(days=8), operator="cron")  # M1's lot expires, M2 matures
    run(redeem, keys=keys, code="spring", member="M2", operator="t", tz=TZ,
        now=T0 + timedelta(days=9))  # fmt: skip
    credit("M3", 40, 9, pending_until=T0 + timedelta(days=60))
    return T0 + timedelta(days=10)


def _rows(db):
    with db.transaction(write=False) as s:
        entries = s.execute(select(LedgerEntry)).scalars().all()
        members = s.execute(select(Member)).scalars().all()
        claims = s.execute(select(Claim)).scalars().all()
        perks = {p.id: p for p in s.execute(select(Perk)).scalars()}
        lots = s.execute(select(PointLot)).scalars().all()
        return entries, members, claims, perks, lots


def test_overview_figures_are_exact(program, run, db):
    now = program
    entries, members, claims, perks, lots = _rows(db)
    effect = defaultdict(int)
    for e in entries:
        effect[e.kind] += e.amount + e.pending_amount
    got = run(overview, now=now)
    p = got.points
    assert p.issued == effect["credit"] + effect["promo"] == 2040 + 25
    assert p.spent == -(effect["claim"] + effect["claim_refund"]) == 50 + 50 + 30 + 30
    assert p.written_off == 120
    assert p.expired == -effect["expire"] == 300 - 30
    assert p.reversed == 0
    assert p.pending == sum(m.pending for m in members) == 40
    assert p.outstanding == sum(m.balance + m.pending for m in members)
    assert p.outstanding == p.issued - p.spent - p.written_off - p.reversed - p.expired
    assert p.expiring_soon == sum(
        lot.remaining
        for lot in lots
        if lot.expires_at and now < lot.expires_at <= now + timedelta(days=30)
    )
    assert (got.members, got.active_members) == (4, 4)
    assert got.perks == {"active": 3, "sold_out": 0}
    assert [(t.slug, t.claims) for t in got.top_perks] == [("coffee", 2), ("tea", 2), ("gift", 1)]
    assert got.campaigns == {"active": 1, "redemptions": 1}
    assert run(verify).ok


def test_claim_figures_and_series_are_exact(program, run, db):
    _, members, claims, perks, _ = _rows(db)
    external = {m.id: m.external_id for m in members}
    active = [c for c in claims if c.status == "active"]
    got = {p.slug: p for p in run(claim_stats, tz=TZ).perks}
    for perk in perks.values():
        mine = [c for c in active if c.perk_id == perk.id]
        figures = got[perk.slug]
        assert figures.claims == len(mine)
        assert figures.unique_members == len({external[c.member_id] for c in mine})
        assert figures.points_spent == sum(c.points for c in mine)
        assert figures.last_claim_at == max((c.at for c in mine), default=None)
    assert got["coffee"].supply_left == 98 and got["tea"].supply_left is None

    by_day = Counter(c.at.date().isoformat() for c in active)
    series = run(claim_stats, tz=TZ).series
    assert {s.period: s.claims for s in series if s.claims} == dict(by_day)
    days = [s.period for s in series]
    first, last = min(c.at for c in active).date(), max(c.at for c in active).date()
    assert days == sorted(days) and len(days) == (last - first).days + 1

    weekly = run(claim_stats, tz=TZ, by="week").series
    assert sum(s.claims for s in weekly) == len(active)
    window = run(
        claim_stats, tz=TZ, since=T0 + timedelta(days=2), until=T0 + timedelta(days=6, hours=23)
    )
    assert {p.slug: p.claims for p in window.perks} == {"tea": 2, "coffee": 0, "gift": 0}
    only = run(claim_stats, tz=TZ, perk="coffee")
    assert [p.slug for p in only.perks] == ["coffee"] and sum(s.claims for s in only.series) == 2


def test_member_figures_are_exact(program, run, db):
    _, members, *_ = _rows(db)
    got = run(member_stats, top=2)
    expected_balances = sorted(members, key=lambda m: (-m.balance, m.external_id))[:2]
    assert [(r.member, r.value) for r in got.biggest_balances] == [
        (m.external_id, m.balance) for m in expected_balances
    ]
    expected_active = sorted(members, key=lambda m: (-m.ledger_seq, m.external_id))[:2]
    assert [(r.member, r.value) for r in got.most_active] == [
        (m.external_id, m.ledger_seq) for m in expected_active
    ]
    assert {t["tier"]: t["members"] for t in got.tiers} == {"gold": 2, "silver": 1, None: 1}


def test_statistics_through_the_cli(cli, keys, tmp_path):
    assert cli("member", "add", "C-1", "--name", "A").exit_code == 0
    assert cli("points", "credit", "C-1", "100", "--reason", "r").exit_code == 0
    program = tmp_path / "p.toml"
    program.write_text('[[perk]]\nslug = "tea"\nname = "Tea"\nprice = 30\n')
    assert cli("apply", str(program)).exit_code == 0
    assert cli("perk", "claim", "tea", "--member", "C-1").exit_code == 0
    doc = cli("stats", "overview", "--json").json
    assert doc["points"]["outstanding"] == 70 and doc["points"]["spent"] == 30
    assert set(doc) >= {"members", "active_members", "points", "perks", "top_perks", "campaigns"}
    claims = cli("stats", "claims", "--json").json
    assert claims["perks"][0]["slug"] == "tea" and claims["perks"][0]["claims"] == 1
    assert set(claims["perks"][0]) >= {
        "slug", "name", "claims", "unique_members", "points_spent", "supply_left", "last_claim_at",
    }  # fmt: skip
    assert claims["series"][-1]["claims"] == 1
    rows = cli("stats", "claims", "--csv").stdout.splitlines()
    assert rows[0] == "slug,name,claims,unique_members,points_spent,supply_left,last_claim_at"
    assert "█" in cli("stats", "claims").stdout
    members = cli("stats", "members", "--json").json
    assert members["biggest_balances"][0] == {"member": "C-1", "name": "A", "value": 70}
    assert cli("stats", "overview", "--csv").stdout.startswith("figure,value\nmembers,1\n")
    assert cli("stats", "claims", "--by", "year").exit_code == 2


def test_reports_are_read_only(program, run, db):
    before = _rows(db)
    run(overview, now=program)
    run(claim_stats, tz=TZ)
    run(member_stats)
    after = _rows(db)
    assert [len(x) for x in before] == [len(x) for x in after]


def test_a_cancel_takes_the_claim_off_the_day_it_was_counted_on(run, keys, member):
    member("M9")
    run(change_points, member="M9", amount=500, reason="r", operator="t", now=T0)
    run(apply_program, program=ProgramFiles({"perk": PERKS[:1]}), keys=lambda: keys, operator="t")
    late = datetime(2026, 3, 2, 13, 15, tzinfo=UTC)  # March 3rd in Auckland
    auckland = ZoneInfo("Pacific/Auckland")
    made = run(claim_perk, keys=keys, perk_slug="coffee", member="M9", operator="t",
               now=late, tz=auckland)  # fmt: skip
    assert [(p.period, p.claims) for p in run(claim_stats, tz=auckland).series] == [
        ("2026-03-03", 1)
    ]
    # the program's time zone changed since: the cancel still finds the claim's day
    run(cancel_claim, claim_id=made.claim_id, reason="r", operator="t", now=late, tz=TZ)
    assert run(claim_stats, tz=TZ).series == ()
    assert run(verify).ok
