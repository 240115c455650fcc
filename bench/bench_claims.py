#!/usr/bin/env python
"""Benchmark concurrent `claim_perk` against the raw driver, on SQLite and PostgreSQL.

Not a test: it prints figures. For each backend it

1. makes a fresh database with the real schema (Alembic ``upgrade``) and, through
   loyaltyctl's services (not timed), one perk (price 10, a redemption code, a
   supply just above what the run takes, in one counter -- ``supply_buckets = 1``, the
   raw baseline's work shape; a supply this large would otherwise be split into 16
   buckets, which takes the contention away from the service alone) and one member
   per process with points for all of its claims;
2. starts ``--processes`` spawned processes; each makes its own ``Database``, loads
   the key ring from the key file and connects, then all are released together and
   each makes ``--claims`` claims of the perk for its own member, every one the full
   service call inside ``db.run(...)`` as ``loyaltyctl perk claim`` makes it
   (no CLI start-up). Timed from the release to the last process done; then checks
   the totals (supply taken = claims = ledger debits, balances add up, ``audit
   verify``);
3. does the same on a second fresh database with the raw driver and the same work
   shape by hand, one transaction per claim, in claim_perk's order: the conditional
   member update (``... WHERE balance >= price``), the ledger row, the claim row and,
   last (the row every claimer shares), the conditional ``UPDATE perk SET claimed =
   claimed + 1 WHERE id = ? AND claimed < max_supply``
   (sqlite3 with loyaltyctl's pragmas and ``BEGIN IMMEDIATE``, retrying a busy
   database with the same jittered backoff as ``Database.run``; psycopg 3 at READ
   COMMITTED);
4. prints claims/s of both and the ratio.

It also times the CLI: one ``loyaltyctl perk claim SLUG --member M --json`` as a
child process against ``loyaltyctl --help`` (median of ``--cli-runs``, taking turns).

Usage:
    python bench/bench_claims.py                                 # 8 x 200 claims, both
    python bench/bench_claims.py --claims 50 --backend sqlite    # quick check
    python bench/bench_claims.py --processes 16 --claims 500 --backend postgresql
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from _common import (
    GENESIS,
    Backend,
    PostgresBackend,
    SqliteBackend,
    child_env,
    cleanup_backends,
    code_version,
    load_average,
    remove_workdir,
)

SLUG = "bench-perk"
PRICE = 10
SPARE = 100  # claims left in supply and points beyond the timed run (CLI runs, warm-up)
START_TIMEOUT = 300
ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as loyaltyctl's claim ids
SQLITE_BUSY_TIMEOUT_S = 5.0  # loyaltyctl.store.db.SQLITE_BUSY_TIMEOUT_MS
RETRY_BUDGET_S = 60.0  # loyaltyctl.store.db.RETRY_BUDGET_SECONDS


def member_id_text(i: int) -> str:
    return f"B-{i:03d}"


def set_up_program(url: str, keys_file: Path, processes: int, claims: int) -> None:
    """The perk and one member per process, through loyaltyctl's services (not timed)."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.perks import PerkSpec
    from loyaltyctl.program.files import ProgramFiles
    from loyaltyctl.services.apply import apply_program
    from loyaltyctl.services.ledger import change_points
    from loyaltyctl.services.members import MemberFields, add_member
    from loyaltyctl.store.db import Database

    keys = crypto.load(keys_file)
    spec = PerkSpec(
        slug=SLUG,
        name="Bench perk",
        price=PRICE,
        category="experience",
        max_supply=processes * claims + SPARE,
        supply_buckets=1,  # one counter, as the raw baseline takes it (buckets: claims_buckets.py)
        redemption_type="code",
        value="BENCH-2026",
        instructions="Show this code at the counter.",
        source="bench",
        line=1,
    )
    db = Database(url)
    try:
        db.run(
            lambda s: apply_program(
                session=s,
                program=ProgramFiles({"perk": [spec]}),
                keys=lambda: keys,
                operator="bench",
            )
        )
        for i in range(processes):
            external_id = member_id_text(i)
            db.run(
                lambda s, m=external_id: add_member(
                    session=s,
                    external_id=m,
                    fields=MemberFields(name=f"Bench {m}"),
                    groups=[],
                    tags=[],
                    operator="bench",
                )
            )
            db.run(
                lambda s, m=external_id: change_points(
                    session=s,
                    member=m,
                    amount=(claims + SPARE) * PRICE,
                    reason="bench",
                    operator="bench",
                )
            )
    finally:
        db.dispose()


def check_totals(url: str, processes: int, claims: int, made: int) -> dict:
    """What the service run left: supply taken, claim rows, debits, balances, audit."""
    from sqlalchemy import func, select

    from loyaltyctl.services.audit import verify
    from loyaltyctl.store.db import Database
    from loyaltyctl.store.perks import claimable, counted
    from loyaltyctl.store.tables import Claim, LedgerEntry, Member

    db = Database(url)
    try:
        with db.transaction(write=False) as s:
            # the supply taken, wherever it is kept (perk row or buckets)
            claimed = counted(s, claimable(s, SLUG)).claimed
            rows = s.execute(select(func.count()).select_from(Claim)).scalar_one()
            debits = s.execute(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "claim")
            ).scalar_one()
            balances = s.execute(select(func.sum(Member.balance))).scalar_one()
        audit = db.run(lambda s: verify(session=s), write=False, rollback=True)
    finally:
        db.dispose()
    credited = processes * (claims + SPARE) * PRICE
    consistent = claimed == rows == debits == made and balances + made * PRICE == credited
    return {"consistent": consistent, "audit_ok": audit.ok, "problems": audit.problems[:3]}


# --- the claimers ----------------------------------------------------------------


def service_claimer(url: str, keys_file: str, member: str, claims: int, barrier, results):
    """One process: `claim_perk` inside `db.run`, as `loyaltyctl perk claim` calls it."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.store.db import Database

    db = Database(url)
    keys = crypto.load(Path(keys_file))
    # connected before the start, like the raw driver (the connection is kept between
    # transactions, as `perk claim` runs: on the driver's own connection)
    db.run(lambda s: None, write=False, rollback=True, raw=True)
    outcome: Counter = Counter()
    barrier.wait(timeout=START_TIMEOUT)
    for _ in range(claims):
        try:
            db.run(
                lambda s: claim_perk(
                    session=s, keys=keys, perk_slug=SLUG, member=member, operator="bench"
                ),
                raw=True,
            )
            outcome["ok"] += 1
        except Refused as exc:
            outcome[exc.code] += 1
        except Exception as exc:  # noqa: BLE001 - counted and shown, the run goes on
            outcome[f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"] += 1
    done = time.monotonic()
    db.dispose()
    results.put((dict(outcome), done))


def _claim_row(claim_id: str, member: str, at: str) -> tuple[str, str]:
    """A certificate of the size loyaltyctl signs (not signed here) and its id."""
    certificate = json.dumps(
        {
            "certificate_id": f"CT-{claim_id}",
            "claim_id": claim_id,
            "issued_at": at,
            "key_id": "s-bench",
            "member": member,
            "perk": SLUG,
            "perk_name": "Bench perk",
            "points_spent": PRICE,
            "signature": "0" * 86,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return f"CT-{claim_id}", certificate


def raw_claimer(url: str, keys_file: str, member: str, claims: int, barrier, results):
    """One process: the same work shape with the bare driver, one transaction per claim."""
    sqlite = url.startswith("sqlite")
    if sqlite:
        conn = sqlite3.connect(
            url.split("///", 1)[1], timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None
        )
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        mark = "?"
    else:
        import psycopg

        conn = psycopg.connect(url)
        mark = "%s"
    (perk_id,) = conn.execute(f"SELECT id FROM perk WHERE slug = {mark}", (SLUG,)).fetchone()
    (member_id,) = conn.execute(
        f"SELECT id FROM member WHERE external_id = {mark}", (member,)
    ).fetchone()
    if not sqlite:
        conn.commit()
    take_supply = (
        f"UPDATE perk SET claimed = claimed + 1 WHERE id = {mark} AND active "
        f"AND (max_supply IS NULL OR claimed < max_supply)"
    )
    debit = (
        f"UPDATE member SET balance = balance - {mark}, ledger_seq = ledger_seq + 1, "
        f"ledger_head = {mark}, updated_at = {mark} WHERE id = {mark} AND balance >= {mark} "
        "RETURNING balance, ledger_seq"
    )
    ledger = (
        "INSERT INTO ledger_entry (member_id, seq, at, kind, amount, pending_amount, "
        "balance_after, reason, operator, claim_id, prev_hash, hash) VALUES "
        f"({', '.join([mark] * 12)}) RETURNING id"
    )
    claim = (
        "INSERT INTO claim (id, perk_id, member_id, at, points, status, operator, "
        f"certificate_id, certificate, entry_id) VALUES ({', '.join([mark] * 10)})"
    )

    def one_claim() -> str:
        now = datetime.now(UTC)
        at = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        claim_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(10))
        entry_hash = hashlib.sha256(claim_id.encode()).hexdigest()
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(debit, (PRICE, entry_hash, at, member_id, PRICE)).fetchone()
            if row is None:
                conn.rollback()
                return "insufficient_balance"
            balance, seq = row
            (entry_id,) = conn.execute(
                ledger,
                (member_id, seq, at, "claim", -PRICE, 0, balance, f"claimed perk {SLUG}", "bench",
                 claim_id, GENESIS, entry_hash),
            ).fetchone()  # fmt: skip
            certificate_id, certificate = _claim_row(claim_id, member, str(at))
            conn.execute(
                claim,
                (claim_id, perk_id, member_id, at, PRICE, "active", "bench", certificate_id,
                 certificate, entry_id),
            )  # fmt: skip
            # the shared row last, as claim_perk takes it: locked only until the commit
            if conn.execute(take_supply, (perk_id,)).rowcount != 1:
                conn.rollback()
                return "sold_out"
            conn.commit()
            return "ok"
        except BaseException:
            conn.rollback()
            raise

    def lost_race(exc: Exception) -> bool:
        if sqlite:
            return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()
        return getattr(exc, "sqlstate", None) in ("40001", "40P01", "55P03")

    outcome: Counter = Counter()
    barrier.wait(timeout=START_TIMEOUT)
    for _ in range(claims):
        deadline = time.monotonic() + RETRY_BUDGET_S
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome[one_claim()] += 1
                break
            except Exception as exc:  # noqa: BLE001 - retried like Database.run, else counted
                if not lost_race(exc) or time.monotonic() > deadline:
                    outcome[f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"] += 1
                    break
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
    done = time.monotonic()
    conn.close()
    results.put((dict(outcome), done))


def race(target, url: str, keys_file: Path, processes: int, claims: int) -> dict:
    """Start the claimers, release them together, time until the last one is done."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=target, args=(url, str(keys_file), member_id_text(i), claims, barrier, results)
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=START_TIMEOUT)  # every process connected: the start
        started = time.monotonic()
        outcome: Counter = Counter()
        finished = started
        for _ in procs:
            counts, done = results.get(timeout=START_TIMEOUT + RETRY_BUDGET_S * claims)
            outcome.update(counts)
            finished = max(finished, done)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()  # only our own claimer, by its Process handle
    seconds = finished - started
    return {"seconds": seconds, "outcome": dict(outcome), "rate": outcome["ok"] / seconds}


# --- the CLI ---------------------------------------------------------------------


def loyaltyctl_cmd(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("loyaltyctl")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "loyaltyctl", *args]


def bench_cli(url: str, env: dict, cwd: Path, runs: int) -> dict:
    """Median wall time of one claim and of --help as child processes, taking turns."""
    cmds = {
        "claim": loyaltyctl_cmd(
            "--database-url", url, "perk", "claim", SLUG, "--member", member_id_text(0), "--json"
        ),
        "help": loyaltyctl_cmd("--help"),
    }
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for rnd in range(runs + 1):  # the first round warms the file caches, not counted
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
            spent = time.perf_counter() - t0
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
            if name == "claim" and "claim_id" not in json.loads(done.stdout):
                raise SystemExit(f"unexpected claim output: {done.stdout}")
            if rnd:
                times[name].append(spent)
    return {name: statistics.median(values) for name, values in times.items()}


# --- the benchmark ---------------------------------------------------------------


def bench_backend(backend: Backend, args, keys_file: Path, env: dict, workdir: Path) -> dict:
    def log(msg: str) -> None:
        print(f"  [{backend.name}] {msg}", file=sys.stderr, flush=True)

    total = args.processes * args.claims
    log("creating the service database, the perk and the members")
    url = backend.create("service")
    set_up_program(url, keys_file, args.processes, args.claims)
    log(f"{args.processes} processes x {args.claims} claims through claim_perk")
    service = race(service_claimer, url, keys_file, args.processes, args.claims)
    log(f"service: {service['seconds']:.2f} s, {service['outcome']}")
    totals = check_totals(url, args.processes, args.claims, service["outcome"].get("ok", 0))
    if service["outcome"].get("ok") != total:
        log(f"NOTE: {total - service['outcome'].get('ok', 0)} claims did not succeed")

    log("creating the baseline database, the perk and the members")
    base_url = backend.create("baseline")
    set_up_program(base_url, keys_file, args.processes, args.claims)
    log(f"{args.processes} processes x {args.claims} claims with the raw driver")
    raw = race(raw_claimer, base_url, keys_file, args.processes, args.claims)
    log(f"raw driver: {raw['seconds']:.2f} s, {raw['outcome']}")

    cli = None
    if not args.no_cli:
        log(f"timing the CLI ({args.cli_runs} runs)")
        cli = bench_cli(url, env, workdir, args.cli_runs)
    return {
        "backend": backend.name,
        "claims": total,
        "service": service,
        "raw": raw,
        "ratio": raw["rate"] / service["rate"] if service["rate"] else float("inf"),
        "totals": totals,
        "cli": cli,
    }


def print_report(results: list[dict], args) -> None:
    print()
    print(f"load average at the end: {load_average()} (1, 5, 15 min; 2 cpus shared)")
    print(f"{args.code_version}; measured from {args.started} to {time.strftime('%H:%M:%S')}")
    print(
        f"perk claims: {args.processes} processes x {args.claims} claims, one member each, "
        f"one perk (python {sys.version.split()[0]}, {os.cpu_count()} cpus)"
    )
    header = (
        f"{'backend':<11} {'claims':>7} {'service s':>9} {'claims/s':>9} "
        f"{'raw s':>7} {'raw claims/s':>12} {'raw/service':>11}  checks"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        s, b, t = r["service"], r["raw"], r["totals"]
        others = {k: v for k, v in s["outcome"].items() if k != "ok"}
        raw_others = {k: v for k, v in b["outcome"].items() if k != "ok"}
        checks = "totals " + ("ok" if t["consistent"] else "WRONG")
        checks += ", audit verify " + ("ok" if t["audit_ok"] else f"FAILED {t['problems']}")
        if others:
            checks += f", service not ok: {others}"
        if raw_others:
            checks += f", raw not ok: {raw_others}"
        print(
            f"{r['backend']:<11} {r['claims']:>7,} {s['seconds']:>9.2f} {s['rate']:>9,.0f} "
            f"{b['seconds']:>7.2f} {b['rate']:>12,.0f} {r['ratio']:>11.2f}  {checks}"
        )
    clis = [r for r in results if r["cli"]]
    if clis:
        print()
        print(f"CLI, one child process per command, median of {args.cli_runs} runs:")
        claim = f"loyaltyctl perk claim {SLUG} --member {member_id_text(0)} --json"
        for r in clis:
            print(f"  {claim + ' (' + r['backend'] + ')':<68} {r['cli']['claim'] * 1000:6.0f} ms")
        helps = statistics.median(r["cli"]["help"] for r in clis)
        print(f"  {'loyaltyctl --help':<68} {helps * 1000:6.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument("--processes", type=int, default=8, help="concurrent claimers (8)")
    parser.add_argument("--claims", type=int, default=200, help="claims per process (200)")
    parser.add_argument("--cli-runs", type=int, default=5, help="CLI timing runs (5)")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI timing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    from loyaltyctl import crypto

    args.code_version = code_version()
    args.started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(args.code_version, file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="bench_claims_"))
    keys_file = workdir / "keys.toml"
    crypto.create(keys_file, exist_ok=False)
    env = child_env(workdir, keys_file)
    backends: list[Backend] = []
    if args.backend in ("sqlite", "both"):
        backends.append(SqliteBackend(workdir))
    if args.backend in ("postgresql", "both"):
        backends.append(PostgresBackend(f"bench_claims_{os.getpid()}"))
    results = []
    try:
        for backend in backends:
            results.append(bench_backend(backend, args, keys_file, env, workdir))
        print_report(results, args)
    finally:
        cleanup_backends(backends)
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
