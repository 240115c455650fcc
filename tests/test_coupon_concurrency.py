"""Real processes racing to claim coupon perks: supply, balances and the uniqueness of
codes hold exactly; a cancel racing a use of the coupon never refunds a used coupon.

The claimers are spawned processes (tests/_processes.py), started once for this module;
each race makes a fresh `Database` and key ring in each process and claims through
`claim_perk` inside `db.run(...)`, as `loyaltyctl perk claim` does. PostgreSQL races use
16 processes, SQLite races 8.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyaltyctl.domain.coupons import CouponSpec
from loyaltyctl.domain.perks import PerkSpec
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claims import claim_perk
from loyaltyctl.services.ledger import change_points
from loyaltyctl.store.tables import Claim, Coupon, Member, Perk
from tests._processes import Pool

pytestmark = pytest.mark.concurrency

POOL = 16
RACERS = {"sqlite": 8, "postgresql": 16}

TEN_OFF = PerkSpec(
    slug="ten-off",
    name="$10 off",
    price=100,
    category="discount",
    redemption_type="coupon",
    coupon=CouponSpec(kind="fixed", amount=Decimal("10.00"), expires_after_days=30),
    source="perks.toml",
    line=1,
)
CONVERT = PerkSpec(
    slug="convert",
    name="Convert your points",
    price=0,
    category="discount",
    redemption_type="coupon",
    coupon=CouponSpec(kind="convert", points=100, amount=Decimal("10.00")),
    source="perks.toml",
    line=1,
)


def _narrow_codes(count: int) -> None:
    """In a racer: draw codes from ``count`` valid ones only, so concurrent claims draw
    the same code often and both a new draw and a retried transaction must happen."""
    import random

    from loyaltyctl.domain import coupon_codes, promo

    bodies = [f"{i:011d}" for i in range(count)]
    pool = [body + promo.check_symbol(body) for body in bodies]
    coupon_codes.new_code = lambda: random.choice(pool)


def _claim_all(url: str, keys_file: str, claims: list[tuple], narrow: int, *, start) -> list:
    """A racer's task: connect, wait for the start, then make each (slug, member, points)
    claim; returns (outcome, claim id, code, balance) per claim."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.store.db import Database

    warm = Database(url)
    warm.connect().close()
    warm.dispose()
    if narrow:
        _narrow_codes(narrow)
    start()
    db = Database(url)
    keys = crypto.load(Path(keys_file))
    outcome = []
    try:
        for slug, member, points, *key in claims:
            try:
                result = db.run(
                    lambda s, slug=slug, member=member, points=points, key=key: claim_perk(
                        session=s,
                        keys=keys,
                        perk_slug=slug,
                        member=member,
                        operator="racer",
                        points=points,
                        key=key[0] if key else None,
                    )
                )
                outcome.append(("ok", result.claim_id, result.redemption.value, result.balance))
            except Refused as exc:
                outcome.append(("refused", exc.code, str(exc), None))
            except Exception as exc:  # noqa: BLE001 - every other error is a failure to report
                outcome.append(("error", f"{type(exc).__name__}: {exc}", None, None))
    finally:
        db.dispose()
    return outcome


@pytest.fixture(scope="module")
def racers_pool():
    pool = Pool(POOL, preload=("loyaltyctl.services.claims", "loyaltyctl.store.db"))
    yield pool
    pool.close()


@pytest.fixture
def racers(db_url) -> int:
    return RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]


@pytest.fixture
def program(run, keys, member, tmp_path):
    class Program:
        keys_file = tmp_path / "keys" / "keys.toml"

        @staticmethod
        def apply(*specs: PerkSpec) -> None:
            run(
                apply_program,
                program=ProgramFiles({"perk": list(specs)}),
                keys=lambda: keys,
                operator="tester",
            )

        @staticmethod
        def members(count: int, points: int, prefix: str = "R") -> list[str]:
            ids = [f"{prefix}-{i}" for i in range(count)]
            for external_id in ids:
                member(external_id)
                run(change_points, member=external_id, amount=points, reason="seed", operator="t")
            return ids

    return Program


def _race(pool, url, keys_file, plans, narrow=0) -> list[list[tuple]]:
    return pool.race([(_claim_all, (url, str(keys_file), plan, narrow)) for plan in plans])


def _tally(outcomes) -> Counter:
    return Counter(o[0] if o[0] != "refused" else o[1] for per in outcomes for o in per)


def _errors(outcomes) -> list[str]:
    return [o[1] for per in outcomes for o in per if o[0] == "error"]


def _coupons(db) -> list[tuple]:
    with db.transaction(write=False) as s:
        return s.execute(select(Coupon.claim_id, Coupon.code_hash, Coupon.status)).all()


def test_a_coupon_perks_supply_issues_exactly_that_many_distinct_codes(
    db_url, db, run, keys, program, racers_pool, racers
):
    program.apply(replace(TEN_OFF, max_supply=5))
    ids = program.members(racers, 1000)
    outcomes = _race(racers_pool, db_url, program.keys_file, [[("ten-off", m, None)] for m in ids])
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": 5, "sold_out": racers - 5}
    codes = [o[2] for per in outcomes for o in per if o[0] == "ok"]
    assert len(set(codes)) == 5
    coupons = _coupons(db)
    assert len(coupons) == 5 and len({c[1] for c in coupons}) == 5
    winners = {o[1] for per in outcomes for o in per if o[0] == "ok"}
    assert {c[0] for c in coupons} == winners  # every coupon belongs to a claim that won
    assert {keys.lookup_hash(code.replace("-", "")) for code in codes} == {c[1] for c in coupons}
    with db.transaction(write=False) as s:
        assert s.execute(select(Perk.claimed).where(Perk.slug == "ten-off")).scalar_one() == 5
    result = run(verify)
    assert result.ok, result.problems


def test_convert_claims_racing_one_balance_get_exactly_what_it_pays_for(
    db_url, db, run, program, racers_pool, racers
):
    program.apply(CONVERT)
    (only,) = program.members(1, 600)
    plans = [[("convert", only, 300)]] * racers
    outcomes = _race(racers_pool, db_url, program.keys_file, plans)
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": 2, "insufficient_balance": racers - 2}
    assert sorted(o[3] for per in outcomes for o in per if o[0] == "ok") == [0, 300]
    assert len(_coupons(db)) == 2
    with db.transaction(write=False) as s:
        assert s.execute(select(Member.balance)).scalar_one() == 0
        assert s.execute(select(func.sum(Claim.points))).scalar_one() == 600
    result = run(verify)
    assert result.ok, result.problems


def test_codes_drawn_from_a_narrow_pool_stay_unique(db_url, db, run, program, racers_pool, racers):
    """Four perks (claims of different perks do not wait for each other) and codes drawn
    from a handful: collisions happen, and are new draws or retried transactions."""
    perks = [replace(TEN_OFF, slug=f"ten-off-{i}") for i in range(4)]
    program.apply(*perks)
    ids = program.members(racers, 1000)
    plans = [
        [(f"ten-off-{i % 4}", m, None), (f"ten-off-{(i + 1) % 4}", m, None)]
        for i, m in enumerate(ids)
    ]
    outcomes = _race(racers_pool, db_url, program.keys_file, plans, narrow=2 * racers + 4)
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": 2 * racers}
    codes = [o[2] for per in outcomes for o in per]
    assert len(set(codes)) == 2 * racers
    assert len({c[1] for c in _coupons(db)}) == 2 * racers
    result = run(verify)
    assert result.ok, result.problems


def test_one_key_raced_by_every_process_issues_one_coupon(
    db_url, db, run, program, racers_pool, racers
):
    """A website retrying one order: every request gets the same claim and code."""
    program.apply(CONVERT)
    (only,) = program.members(1, 1000)
    plans = [[("convert", only, 300, "web-order-77")]] * racers
    outcomes = _race(racers_pool, db_url, program.keys_file, plans)
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": racers}
    assert len({(o[1], o[2], o[3]) for per in outcomes for o in per}) == 1
    assert len(_coupons(db)) == 1
    with db.transaction(write=False) as s:
        assert s.execute(select(Member.balance)).scalar_one() == 700
    result = run(verify)
    assert result.ok, result.problems


# --- a cancel racing a use ------------------------------------------------------------


def _hold_a_use(url: str, keys_file: str, code: str, in_progress, release) -> None:
    """The store's `coupon use` (the real service), held uncommitted until released."""
    from pathlib import Path

    from loyaltyctl import crypto
    from loyaltyctl.domain.cart import parse_cart
    from loyaltyctl.services.coupons.checkout import use_coupon
    from loyaltyctl.store.db import Database

    db = Database(url)
    keys = crypto.load(Path(keys_file))
    cart = parse_cart('{"items": [{"sku": "A", "price": "30.00", "quantity": 1}]}')
    with db.transaction() as session:
        use_coupon(
            session=session, keys=keys, code=code, order_id="1001", cart=cart, operator="till"
        )
        in_progress.set()
        release.wait(timeout=120)
    db.dispose()


def _cancel(url: str, keys_file: str, claim_id: str, *, start) -> list:
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.claim_records import cancel_claim
    from loyaltyctl.store.db import Database

    db = Database(url)
    db.connect().close()
    start()
    try:
        db.run(
            lambda s: cancel_claim(session=s, claim_id=claim_id, reason="race", operator="racer")
        )
        return [("ok",)]
    except Refused as exc:
        return [("refused", exc.code)]
    finally:
        db.dispose()


def _cancel_blocked(url: str, timeout: float = 30) -> None:
    """Until the cancel waits on the coupon's row lock (PostgreSQL: it has read the
    coupon as active and tries its conditional UPDATE); SQLite: it waits in BEGIN
    IMMEDIATE, which nothing outside can see."""
    if url.startswith("sqlite"):
        time.sleep(1.0)
        return
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        while time.monotonic() < deadline:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE coupon%'"
            ).fetchone()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the cancel never waited for the use of its coupon")


def test_a_cancel_waiting_behind_a_use_of_its_coupon_is_refused(
    db_url, db, run, keys, program, racers_pool
):
    program.apply(TEN_OFF)
    (only,) = program.members(1, 1000)
    claimed = run(claim_perk, keys=keys, perk_slug="ten-off", member=only, operator="t")
    ctx = mp.get_context("spawn")
    in_progress, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(
        target=_hold_a_use,
        args=(db_url, str(program.keys_file), claimed.redemption.value, in_progress, release),
        daemon=True,
    )
    holder.start()
    try:
        assert in_progress.wait(timeout=60), "the use never got under way"
        racers_pool.start([(_cancel, (db_url, str(program.keys_file), claimed.claim_id))])
        _cancel_blocked(db_url)
        release.set()
        holder.join(timeout=60)
        (outcome,) = racers_pool.collect(1)
    finally:
        if holder.is_alive():
            holder.kill()  # our own process, by its handle
    assert holder.exitcode == 0
    assert outcome == [("refused", "coupon_used")]
    with db.transaction(write=False) as s:
        assert s.execute(select(Member.balance)).scalar_one() == 900  # no refund
        assert s.execute(select(Claim.status)).scalar_one() == "active"
    assert _coupons(db)[0][2] == "used"
    result = run(verify)
    assert result.ok, result.problems
