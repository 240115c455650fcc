"""Real processes racing to redeem promo codes: a code's inventory, a member's total
and daily limits, a prize's supply and an idempotency key hold exactly, and only
refusals reach the redeemers.

Each redeemer is a spawned process (a pool of 16, started once for this module, see
tests/_processes.py) that makes its own `Database`, loads the key ring from the key
file and calls `redeem` through `db.run(...)` with the program time zone UTC, as
`loyaltyctl promo redeem` does. They are released together by a barrier once each
has connected. PostgreSQL races use all 16 processes, SQLite races 8.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from loyaltyctl.domain.perks import PerkSpec
from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.promo import PROMO, create_campaign
from loyaltyctl.store.tables import (
    Campaign,
    CampaignMember,
    Claim,
    LedgerEntry,
    Member,
    Perk,
    PromoCode,
    PromoRedemption,
)
from tests._processes import Pool

pytestmark = pytest.mark.concurrency

POOL = 16
RACERS = {"sqlite": 8, "postgresql": 16}
POINTS = 10
NOW = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # one day for every redemption of a race
DAY = "2026-07-01"

PRIZE = PerkSpec(
    slug="prize",
    name="Festival pass",
    price=500,  # a prize is free: the price is never charged
    max_supply=4,
    redemption_type="code",
    value="FEST-2026",
    single_use=True,  # each winner draws a code of its own while the others race
    source="perks.toml",
    line=1,
)


# --- the redeemer processes --------------------------------------------------------


def _redeem_all(url: str, keys_file: str, redemptions: list[tuple], *, start) -> list[tuple]:
    """A redeemer's task: connect, wait for the start, then redeem as the CLI does.
    ``redemptions``: (code, member, key, now) each; now None is the clock's."""
    from zoneinfo import ZoneInfo

    from loyaltyctl import crypto
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.promo import redeem
    from loyaltyctl.store.db import Database

    db = Database(url)
    keys = crypto.load(Path(keys_file))
    db.connect().close()  # the driver and the server are ready before the start
    start()
    outcome = []
    for code, member, key, now in redemptions:
        try:
            result = db.run(
                lambda s, code=code, member=member, key=key, now=now: redeem(
                    session=s,
                    keys=keys,
                    code=code,
                    member=member,
                    operator="racer",
                    tz=ZoneInfo("UTC"),
                    key=key,
                    now=now,
                )
            )
            outcome.append(
                (
                    "ok",
                    result.redemption_id,
                    result.balance,
                    result.replayed,
                    tuple(p.claim_id for p in result.perks),
                )
            )
        except Refused as exc:
            outcome.append(("refused", exc.code, str(exc)))
        except Exception as exc:  # noqa: BLE001 - every other error is a failure to report
            outcome.append(("error", f"{type(exc).__name__}: {exc}"))
    db.dispose()
    return outcome


@pytest.fixture(scope="module")
def pool():
    workers = Pool(POOL, preload=("loyaltyctl.services.promo", "loyaltyctl.store.db"))
    yield workers
    workers.close()


@pytest.fixture
def racers(db_url) -> int:
    return RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]


@pytest.fixture
def program(db_url, run, keys, member, tmp_path, pool):
    """campaign(**fields) of "race", prize(spec), members(n, points) -> ids,
    race(plans) -> each process's outcomes."""
    keys_file = tmp_path / "keys" / "keys.toml"

    class Program:
        @staticmethod
        def campaign(**fields) -> None:
            spec = CampaignSpec(slug="race", name="Race", points=POINTS, **fields)
            run(create_campaign, spec=spec, keys=lambda: keys, operator="tester")

        @staticmethod
        def prize(spec: PerkSpec) -> None:
            run(
                apply_program,
                program=ProgramFiles({"perk": [spec]}),
                keys=lambda: keys,
                operator="tester",
            )

        @staticmethod
        def members(count: int, points: int = 0) -> list[str]:
            ids = [f"R-{i}" for i in range(count)]
            for external_id in ids:
                member(external_id)
                if points:
                    run(
                        change_points,
                        member=external_id,
                        amount=points,
                        reason="seed",
                        operator="t",
                    )
            return ids

        @staticmethod
        def race(plans: list[list[tuple]]) -> list[list[tuple]]:
            return pool.race([(_redeem_all, (db_url, str(keys_file), plan)) for plan in plans])

    return Program


def _tally(outcomes: list[list[tuple]]) -> Counter:
    """ok / code_used_up / member_limit / ... / error, over every redemption."""
    return Counter(o[0] if o[0] != "refused" else o[1] for per in outcomes for o in per)


def _errors(outcomes) -> list[str]:
    return [o[1] for per in outcomes for o in per if o[0] == "error"]


def _ok(outcomes) -> list[tuple]:
    return [o for per in outcomes for o in per if o[0] == "ok"]


def _figures(db) -> dict:
    """What the database holds of the campaign "race", its codes, members and claims."""
    with db.transaction(write=False) as s:
        campaign = s.execute(select(Campaign).where(Campaign.slug == "race")).scalar_one()
        ext = Member.external_id

        def per_member(table, *where) -> Counter:
            rows = s.execute(
                select(ext).join(table, table.member_id == Member.id).where(*where)
            ).scalars()
            return Counter(rows)

        return {
            "redemptions": campaign.redemptions,
            "points_granted": campaign.points_granted,
            "uses": sorted(
                s.execute(
                    select(PromoCode.uses).where(PromoCode.campaign_id == campaign.id)
                ).scalars()
            ),
            "redeemed": per_member(PromoRedemption),
            "redemption_ids": set(s.execute(select(PromoRedemption.id)).scalars()),
            "counters": {
                (member, day): n
                for member, day, n in s.execute(
                    select(ext, CampaignMember.day, CampaignMember.redemptions).join(
                        Member, Member.id == CampaignMember.member_id
                    )
                )
            },
            "credited": per_member(LedgerEntry, LedgerEntry.kind == PROMO),
            "claims": per_member(Claim),
            "claimed": dict(s.execute(select(Perk.slug, Perk.claimed)).all()),
            "balances": dict(s.execute(select(ext, Member.balance)).all()),
        }


def _verified(run) -> None:
    result = run(verify)
    assert result.ok, result.problems


# --- the rules ---------------------------------------------------------------------


def test_a_shared_code_is_never_used_beyond_its_inventory(db, run, program, racers):
    inventory = 5
    program.campaign(codes=(SharedCodeSpec("RACE-5", inventory),))
    ids = program.members(racers)
    outcomes = program.race([[("race-5", m, None, NOW)] for m in ids])
    assert _errors(outcomes) == []  # no "database is locked", no serialization failure
    assert _tally(outcomes) == {"ok": inventory, "code_used_up": racers - inventory}
    winners = {ids[i] for i, per in enumerate(outcomes) if per[0][0] == "ok"}
    assert [o[2] for o in _ok(outcomes)] == [POINTS] * inventory  # each saw its own credit
    figures = _figures(db)
    assert figures["uses"] == [inventory]
    assert figures["redemptions"] == inventory
    assert figures["points_granted"] == inventory * POINTS
    assert figures["redeemed"] == dict.fromkeys(winners, 1)
    assert figures["redemption_ids"] == {o[1] for o in _ok(outcomes)}
    assert figures["credited"] == dict.fromkeys(winners, 1)
    assert figures["balances"] == {m: POINTS if m in winners else 0 for m in ids}
    assert sum(figures["balances"].values()) == figures["points_granted"]
    assert figures["counters"] == {(m, day): 1 for m in winners for day in ("", DAY)}
    _verified(run)


def test_a_member_redeeming_many_codes_at_once_stays_within_the_campaign_limit(
    db, run, program, racers
):
    limit = 3
    codes = [f"CODE-{i}" for i in range(racers)]  # one campaign, unlimited codes
    program.campaign(per_member=limit, codes=tuple(SharedCodeSpec(c, None) for c in codes))
    (only,) = program.members(1)
    outcomes = program.race([[(code, only, None, NOW)] for code in codes])
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": limit, "member_limit": racers - limit}
    # the member's balance was locked: each success saw the credits before it
    assert sorted(o[2] for o in _ok(outcomes)) == [POINTS * (n + 1) for n in range(limit)]
    figures = _figures(db)
    assert figures["uses"] == [0] * (racers - limit) + [1] * limit
    assert figures["redemptions"] == figures["redeemed"][only] == limit
    assert figures["credited"] == {only: limit}
    assert figures["counters"] == {(only, ""): limit, (only, DAY): limit}
    assert figures["balances"] == {only: limit * POINTS} == {only: figures["points_granted"]}
    _verified(run)


def test_a_member_redeeming_many_codes_at_once_stays_within_the_daily_limit(
    db, run, program, racers
):
    daily = 2
    codes = [f"DAY-{i}" for i in range(racers)]
    program.campaign(per_member_daily=daily, codes=tuple(SharedCodeSpec(c, None) for c in codes))
    (only,) = program.members(1)
    outcomes = program.race([[(code, only, None, NOW)] for code in codes])  # all on one day
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": daily, "member_daily_limit": racers - daily}
    figures = _figures(db)
    assert figures["uses"] == [0] * (racers - daily) + [1] * daily
    assert figures["redemptions"] == figures["redeemed"][only] == daily
    assert figures["counters"] == {(only, ""): daily, (only, DAY): daily}
    assert figures["balances"] == {only: daily * POINTS}
    _verified(run)


def test_a_prize_out_of_supply_refuses_the_whole_redemption_under_a_race(db, run, program, racers):
    seed = 1000
    program.prize(PRIZE)
    program.campaign(perks=("prize",), codes=(SharedCodeSpec("PRIZE-DRAW", None),))
    ids = program.members(racers, seed)
    outcomes = program.race([[("PRIZE-DRAW", m, None, NOW)] for m in ids])
    assert _errors(outcomes) == []
    supply = PRIZE.max_supply
    assert _tally(outcomes) == {"ok": supply, "prize_unavailable": racers - supply}
    winners = {ids[i] for i, per in enumerate(outcomes) if per[0][0] == "ok"}
    figures = _figures(db)
    assert figures["claimed"] == {"prize": supply}
    assert figures["claims"] == dict.fromkeys(winners, 1)  # exactly 4 claims, the winners'
    with db.transaction(write=False) as s:
        claims = s.execute(select(Claim.id, Claim.points, Claim.redemption_id, Claim.code_hash))
        claims = claims.all()
    assert {c.id for c in claims} == {o[4][0] for o in _ok(outcomes)}
    assert {(c.points, c.redemption_id) for c in claims} == {(0, o[1]) for o in _ok(outcomes)}
    assert len({c.code_hash for c in claims} - {None}) == supply  # distinct single-use codes
    # all or nothing: the refused got no points, no use of the code, no counted redemption
    assert figures["balances"] == {m: seed + POINTS if m in winners else seed for m in ids}
    assert figures["credited"] == dict.fromkeys(winners, 1)
    assert figures["uses"] == [supply]
    assert figures["redemptions"] == supply and figures["points_granted"] == supply * POINTS
    assert figures["counters"] == {(m, day): 1 for m in winners for day in ("", DAY)}
    _verified(run)


def test_one_key_raced_by_every_process_redeems_once_and_replays(db, run, program, racers):
    """A website retrying one order: every request with the key gets the same redemption."""
    program.campaign(codes=(SharedCodeSpec("RETRY", None),))  # nothing else stops a second
    (only,) = program.members(1)
    outcomes = program.race([[("RETRY", only, "order-5531", NOW)]] * racers)
    assert _errors(outcomes) == []
    figures = _figures(db)
    (redemption_id,) = figures["redemption_ids"]  # it applied once
    assert [o[:3] for o in _ok(outcomes)] == [("ok", redemption_id, POINTS)] * racers
    assert sorted(o[3] for o in _ok(outcomes)) == [False] + [True] * (racers - 1)
    assert figures["uses"] == [1] and figures["redemptions"] == 1
    assert figures["balances"] == {only: POINTS}
    assert figures["credited"] == {only: 1}
    _verified(run)
