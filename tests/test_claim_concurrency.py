"""Real processes racing to claim perks: supply, per-member limits, balances and
single-use codes hold exactly, and only refusals reach the claimers.

Each claimer is a spawned process that makes its own `Database`, loads the key ring
from the key file and calls `claim_perk` through `db.run(...)`, as `loyaltyctl perk
claim` does. They are released together by a barrier, after each has connected.

On 2 cores a spawned process takes ~1.2 s to import loyaltyctl, so the claimers are
started once for this module (16 of them) and given one race per test; every race
still makes a fresh `Database` and key ring in each process. PostgreSQL races use
all 16, SQLite races 8 (the others sit the race out). Two tests add one more process
that holds a claim's transaction open (every write made, nothing committed) while the
racers queue behind it: one kills it with SIGKILL, the other lets it commit.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyaltyctl.domain.perks import PerkSpec
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import show_claim
from loyaltyctl.services.ledger import change_points
from loyaltyctl.store.perks import counted
from loyaltyctl.store.tables import Claim, LedgerEntry, Member, Perk, PerkMember
from tests._processes import Pool

pytestmark = pytest.mark.concurrency

POOL = 16
RACERS = {"sqlite": 8, "postgresql": 16}
PRICE = 100

PERK = PerkSpec(
    slug="concert",
    name="Concert tickets",
    price=PRICE,
    category="experience",
    redemption_type="code",
    value="GIG-2026",
    source="perks.toml",
    line=1,
)


# --- the claimer processes ---------------------------------------------------------


def _claim_all(url: str, keys_file: str, claims: list[tuple], narrow: bool, *, start) -> list:
    """A claimer's task: connect, wait for the start, then each claim as the CLI makes it."""
    from loyaltyctl import crypto
    from loyaltyctl.domain import claiming as domain  # where a claim reads suffix_length
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.store.db import Database

    warm = Database(url)
    warm.connect().close()  # the driver and the server are ready before the start
    warm.dispose()
    start()
    db = Database(url)
    keys = crypto.load(Path(keys_file))
    real_suffix_length = domain.suffix_length
    # narrow: one-character suffixes to begin with (31 of them), so concurrent claims
    # of a single-use perk draw the same code often and the uniqueness rules must work
    if narrow:
        domain.suffix_length = lambda claimed: 1
    outcome = []
    try:
        for slug, member, *key in claims:
            try:
                result = db.run(
                    lambda s, slug=slug, member=member, key=key: claim_perk(
                        session=s,
                        keys=keys,
                        perk_slug=slug,
                        member=member,
                        operator="racer",
                        key=key[0] if key else None,
                    )
                )
                outcome.append(
                    (
                        "ok",
                        result.claim_id,
                        result.redemption.value,
                        result.balance,
                        result.replayed,
                    )
                )
            except Refused as exc:
                outcome.append(("refused", exc.code, str(exc), None, None))
            except Exception as exc:  # noqa: BLE001 - every other error is a failure to report
                outcome.append(("error", f"{type(exc).__name__}: {exc}", None, None, None))
    finally:
        domain.suffix_length = real_suffix_length
        db.dispose()
    return outcome


class Claimers:
    """POOL spawned processes (tests/_processes.py); `start` hands each its claims and
    opens the barrier when all are connected, `collect` gathers what each got."""

    def __init__(self) -> None:
        self.pool = Pool(POOL, preload=("loyaltyctl.services.claims", "loyaltyctl.store.db"))

    def start(self, url: str, keys_file: Path, plans: list[list[tuple]], narrow=False):
        self.pool.start([(_claim_all, (url, str(keys_file), plan, narrow)) for plan in plans])

    def collect(self, racers: int) -> list[list[tuple]]:
        return self.pool.collect(racers)

    def race(self, url, keys_file, plans, narrow=False) -> list[list[tuple]]:
        self.start(url, keys_file, plans, narrow)
        return self.collect(len(plans))

    def close(self) -> None:
        self.pool.close()


@pytest.fixture(scope="module")
def claimers():
    pool = Claimers()
    yield pool
    pool.close()


def _hold_a_claim(url: str, keys_file: str, claim: tuple, in_progress, release) -> None:
    """Claim, then stay inside the transaction (every write made, nothing committed)
    until released (then commit) or killed."""
    from loyaltyctl import crypto
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.store.db import Database

    slug, member, key = claim
    db = Database(url)
    keys = crypto.load(Path(keys_file))

    def work(session):
        claim_perk(
            session=session, keys=keys, perk_slug=slug, member=member, operator="held", key=key
        )
        session.flush()
        in_progress.set()
        release.wait(timeout=300)

    db.run(work)
    db.dispose()


def _start_holder(url: str, keys_file: Path, claim: tuple):
    """A process holding a claim's transaction open: (process, in_progress, release)."""
    ctx = mp.get_context("spawn")
    in_progress, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(
        target=_hold_a_claim,
        args=(url, str(keys_file), claim, in_progress, release),
        daemon=True,
    )
    holder.start()
    return holder, in_progress, release


def _wait_for_lock_waits(url: str, count: int, timeout: float = 30) -> int:
    """PostgreSQL: until `count` loyaltyctl sessions wait on a lock; returns how many do."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        while True:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'loyaltyctl' AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting >= count or time.monotonic() > deadline:
                return waiting
            time.sleep(0.05)


# --- the program -------------------------------------------------------------------


@pytest.fixture
def racers(db_url) -> int:
    return RACERS["sqlite" if db_url.startswith("sqlite") else "postgresql"]


@pytest.fixture
def program(run, keys, member, tmp_path):
    """apply(spec), members(n, points) -> external ids; `credited` adds up what was given."""

    class Program:
        credited = 0
        keys_file = tmp_path / "keys" / "keys.toml"

        @staticmethod
        def apply(spec: PerkSpec) -> None:
            run(
                apply_program,
                program=ProgramFiles({"perk": [spec]}),
                keys=lambda: keys,
                operator="tester",
            )

        @classmethod
        def members(cls, count: int, points: int, prefix: str = "R") -> list[str]:
            ids = [f"{prefix}-{i}" for i in range(count)]
            for external_id in ids:
                member(external_id)
                run(change_points, member=external_id, amount=points, reason="seed", operator="t")
                cls.credited += points
            return ids

    return Program


def _figures(db, slug: str) -> dict:
    with db.transaction(write=False) as s:
        perk = s.execute(select(Perk).where(Perk.slug == slug)).scalar_one()
        active = Claim.status == "active"
        return {
            # the perk's own counter or its buckets' sum (a supply of 1,000 gets 16)
            "claimed": counted(s, perk).claimed,
            "claims": s.execute(select(func.count()).select_from(Claim)).scalar_one(),
            "spent": s.execute(
                select(func.coalesce(func.sum(Claim.points), 0)).where(active)
            ).scalar_one(),
            "balances": dict(s.execute(select(Member.external_id, Member.balance)).all()),
            "allowances": dict(
                s.execute(
                    select(Member.external_id, PerkMember.claims).join(
                        Member, Member.id == PerkMember.member_id
                    )
                ).all()
            ),
            "lowest_balance_after": s.execute(
                select(func.min(LedgerEntry.balance_after))
            ).scalar_one(),
        }


def _racers_blocked(url: str, racers: int) -> None:
    """Give the racers time to reach the held claim's locks (on PostgreSQL: see them wait)."""
    if url.startswith("sqlite"):
        time.sleep(1.0)  # they wait in BEGIN IMMEDIATE, which nothing outside can see
    else:
        _wait_for_lock_waits(url, racers)


def _tally(outcomes: list[list[tuple]]) -> Counter:
    """ok / sold_out / member_limit / ... / error, over every claim of every process."""
    return Counter(o[0] if o[0] != "refused" else o[1] for per in outcomes for o in per)


def _errors(outcomes) -> list[str]:
    return [o[1] for per in outcomes for o in per if o[0] == "error"]


# --- the rules ---------------------------------------------------------------------


def test_supply_is_never_oversold(db_url, db, run, program, claimers, racers):
    supply = 5
    program.apply(replace(PERK, max_supply=supply))
    ids = program.members(racers, 1000)
    outcomes = claimers.race(db_url, program.keys_file, [[("concert", m)] for m in ids])
    assert _errors(outcomes) == []  # no "database is locked", no serialization failure
    assert _tally(outcomes) == {"ok": supply, "sold_out": racers - supply}
    winners = {ids[i] for i, per in enumerate(outcomes) if per[0][0] == "ok"}
    figures = _figures(db, "concert")
    assert figures["claimed"] == figures["claims"] == supply
    assert figures["spent"] == supply * PRICE
    assert sum(figures["balances"].values()) + figures["spent"] == program.credited
    assert {m for m, b in figures["balances"].items() if b == 1000 - PRICE} == winners
    assert figures["allowances"] == dict.fromkeys(winners, 1)
    result = run(verify)
    assert result.ok, result.problems


def test_a_supply_in_buckets_is_never_oversold(db_url, db, run, program, claimers, racers):
    """A flash sale: 10 units in 4 buckets, every process claiming 3 times for its own
    member. Exactly 10 are served, every other claim is refused sold_out, no bucket holds
    more than its share, and the perk reports one number."""
    from loyaltyctl.services.perks import show_perk
    from loyaltyctl.store.tables import PerkBucket

    supply, attempts = 10, 3
    program.apply(replace(PERK, max_supply=supply, supply_buckets=4))
    ids = program.members(racers, 1000)
    outcomes = claimers.race(db_url, program.keys_file, [[("concert", m)] * attempts for m in ids])
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": supply, "sold_out": racers * attempts - supply}
    with db.transaction(write=False) as s:
        buckets = s.execute(select(PerkBucket.capacity, PerkBucket.claimed)).all()
        perk_row = s.execute(select(Perk.claimed)).scalar_one()
    assert sorted(buckets) == [(2, 2), (2, 2), (3, 3), (3, 3)]
    assert perk_row == 0  # the perk's own counter is not used
    shown = run(show_perk, slug="concert")
    assert (shown.claims, shown.supply_left, shown.supply_buckets) == (supply, 0, 4)
    figures = _figures(db, "concert")
    assert figures["claims"] == supply and figures["spent"] == supply * PRICE
    assert sum(figures["balances"].values()) + figures["spent"] == program.credited
    result = run(verify)
    assert result.ok, result.problems


def test_member_limit_holds_when_every_process_claims_for_one_member(
    db_url, db, run, program, claimers, racers
):
    program.apply(replace(PERK, max_supply=1000, max_per_member=2))
    (only,) = program.members(1, racers * PRICE)
    outcomes = claimers.race(db_url, program.keys_file, [[("concert", only)]] * racers)
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": 2, "member_limit": racers - 2}
    figures = _figures(db, "concert")
    assert figures["claimed"] == figures["claims"] == 2
    assert figures["allowances"] == {only: 2}
    assert figures["balances"] == {only: program.credited - 2 * PRICE}
    result = run(verify)
    assert result.ok, result.problems


def test_balance_allows_exactly_the_claims_it_pays_for(db_url, db, run, program, claimers, racers):
    program.apply(PERK)  # no supply or per-member limit: only the points stop claims
    (only,) = program.members(1, 3 * PRICE)
    outcomes = claimers.race(db_url, program.keys_file, [[("concert", only)]] * racers)
    assert _errors(outcomes) == []
    assert _tally(outcomes) == {"ok": 3, "insufficient_balance": racers - 3}
    # each success saw the balance its own debit left: 200, 100, 0 in some order
    assert sorted(o[3] for per in outcomes for o in per if o[0] == "ok") == [0, PRICE, 2 * PRICE]
    figures = _figures(db, "concert")
    assert figures["balances"] == {only: 0}
    assert figures["lowest_balance_after"] == 0  # no ledger entry ever went below zero
    assert figures["claimed"] == figures["claims"] == 3
    result = run(verify)
    assert result.ok, result.problems


def test_single_use_codes_stay_distinct_under_concurrency(
    db_url, db, run, keys, program, claimers, racers
):
    program.apply(replace(PERK, single_use=True))
    per_process = 3
    ids = program.members(racers, per_process * PRICE)
    plans = [[("concert", m)] * per_process for m in ids]
    outcomes = claimers.race(db_url, program.keys_file, plans, narrow=True)
    assert _errors(outcomes) == []
    total = racers * per_process
    assert _tally(outcomes) == {"ok": total}
    codes = [o[2] for per in outcomes for o in per]
    assert len(set(codes)) == total
    suffixes = [code.removeprefix("GIG-2026-") for code in codes]
    assert all(code.startswith("GIG-2026-") for code in codes)
    assert min(map(len, suffixes)) == 1  # the narrowed draw was in force: collisions were likely
    # what the database keeps (decrypted with the key ring) is what the members were shown
    stored = [
        run(show_claim, claim_id=o[1], keys=keys).redemption.value for per in outcomes for o in per
    ]
    assert stored == codes
    with db.transaction(write=False) as s:
        hashes = s.execute(select(Claim.code_hash)).scalars().all()
    assert len(hashes) == total and len(set(hashes)) == total and None not in hashes
    assert _figures(db, "concert")["claimed"] == total
    result = run(verify)
    assert result.ok, result.problems


def test_a_claimer_killed_inside_its_transaction_leaves_nothing(
    db_url, db, run, program, claimers, racers
):
    """The killed claimer had made every write of its claim (supply, allowance, debit,
    claim row, audit event) but not committed; the others were waiting behind it."""
    program.apply(replace(PERK, max_supply=1, max_per_member=1))
    (held,) = program.members(1, 1000, prefix="H")
    ids = program.members(racers, 1000)
    before = _figures(db, "concert")
    holder, in_progress, _release = _start_holder(
        db_url, program.keys_file, ("concert", held, None)
    )
    try:
        assert in_progress.wait(timeout=60), "the held claim never got under way"
        claimers.start(db_url, program.keys_file, [[("concert", m)] for m in ids])
        _racers_blocked(db_url, racers)
        killed_in_transaction = holder.is_alive()
        holder.kill()  # SIGKILL, our own process by its handle
        holder.join(timeout=30)
        outcomes = claimers.collect(racers)
    finally:
        if holder.is_alive():
            holder.kill()
    assert killed_in_transaction and holder.exitcode == -signal.SIGKILL
    assert _errors(outcomes) == []
    # the held claim took nothing: the one unit of supply went to one of the racers
    assert _tally(outcomes) == {"ok": 1, "sold_out": racers - 1}
    figures = _figures(db, "concert")
    assert figures["claimed"] == figures["claims"] == 1
    assert figures["balances"][held] == before["balances"][held] == 1000
    assert held not in figures["allowances"]
    with db.transaction(write=False) as s:
        held_entries = s.execute(
            select(func.count())
            .select_from(LedgerEntry)
            .join(Member, Member.id == LedgerEntry.member_id)
            .where(Member.external_id == held)
        ).scalar_one()
    assert held_entries == 1  # only the seed credit
    assert sum(figures["balances"].values()) + figures["spent"] == program.credited
    result = run(verify)
    assert result.ok, result.problems


def test_one_key_raced_by_every_process_replays_one_claim(
    db_url, db, run, program, claimers, racers
):
    """A website retrying one order: every request with the key gets the same claim.

    The first request is held open until the others have looked for the key (and
    found nothing yet) and are waiting behind it; then it commits.
    """
    program.apply(replace(PERK, max_supply=1))
    (only,) = program.members(1, PRICE)
    claim = ("concert", only, "order-5531")
    holder, in_progress, release = _start_holder(db_url, program.keys_file, claim)
    try:
        assert in_progress.wait(timeout=60), "the first claim never got under way"
        claimers.start(db_url, program.keys_file, [[claim]] * racers)
        _racers_blocked(db_url, racers)
        release.set()
        holder.join(timeout=60)
        outcomes = claimers.collect(racers)
    finally:
        if holder.is_alive():
            holder.kill()
    assert holder.exitcode == 0
    with db.transaction(write=False) as s:
        (claim_id,) = s.execute(select(Claim.id)).scalars().all()  # it applied once
    assert _errors(outcomes) == []
    assert [o[:2] + o[4:] for per in outcomes for o in per] == [("ok", claim_id, True)] * racers
    figures = _figures(db, "concert")
    assert figures["claimed"] == 1 and figures["balances"] == {only: 0}
    result = run(verify)
    assert result.ok, result.problems
