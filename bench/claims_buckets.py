#!/usr/bin/env python
"""A flash sale: one perk of 10,000 units, 64 connections claiming it through PgBouncer
(transaction mode), its supply in one counter against split into buckets, in one run.

Not a test: it prints figures. It

1. creates a fresh PostgreSQL database with the real schema (on the primary, 127.0.0.1:5432)
   and, through loyaltyctl's services, two perks of ``--supply`` units (price 10):
   ``single`` (``supply_buckets = 1``: every claim updates the perk row) and ``bucketed``
   (``supply_buckets = --buckets``), and one member per connection with points for the
   whole supply;
2. for each perk in turn (``--rounds`` times, alternating, so the machine's load falls on
   both alike): starts ``--processes`` spawned processes of ``--threads`` threads, each
   thread its own connection through the pooler (``--url``, default PgBouncer at
   127.0.0.1:6432) claiming the perk for its own member with `claim_perk` inside
   ``Database.run`` (what ``loyaltyctl perk claim`` does, without the CLI start-up) until
   it is refused ``sold_out``. Timed from the release of all connections to the last one
   done: claims/s;
3. checks each sale: exactly ``--supply`` claims served, every other answer ``sold_out``,
   no error, no bucket over its capacity, ``audit verify`` clean; the same checks as the
   tests, so a fast but wrong run reports itself;
4. prints the load average, both rates and their ratio (target >= 3).

``--rtt-ms 0,0.5,1`` runs the sale once per network round trip: for a figure above 0 the
claimers connect through ``bench/latency_proxy.c`` (compiled with gcc on the spot: this
kernel has no netem), which delays every byte by half the round trip each way between
the claimers and the pooler -- the network between a club's application servers and its
database. The round trip measured through it (``SELECT 1``, autocommit, median) is
printed next to the direct one. A single counter's row is locked from the supply update
to the commit, so every statement after it waits for the network while holding the
lock; buckets let 16 claims hold their locks at once.

Start PgBouncer and the standby with ``sudo bash .ci/replica-and-pooler.sh``.

Usage:
    python bench/claims_buckets.py                        # 10,000 units, 8 x 8 connections
    python bench/claims_buckets.py --supply 2000 --rounds 1
    python bench/claims_buckets.py --url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/claims_buckets.py --rtt-ms 0,0.5,1 --supply 5000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POOLER_URL = "postgresql://postgres@127.0.0.1:6432/postgres"
PRICE = 10


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def set_up(url: str, keys_file: Path, *, supply: int, buckets: int, members: int) -> None:
    """The two perks and the members, through loyaltyctl's services (not timed)."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.perks import PerkSpec
    from loyaltyctl.program.files import ProgramFiles
    from loyaltyctl.services.apply import apply_program
    from loyaltyctl.services.ledger import change_points
    from loyaltyctl.services.members import MemberFields, add_member
    from loyaltyctl.store.db import Database

    keys, _ = crypto.create(keys_file, exist_ok=False)
    specs = [
        PerkSpec(
            slug=slug,
            name=slug,
            price=PRICE,
            max_supply=supply,
            supply_buckets=count,
            source="bench",
            line=1,
        )
        for slug, count in (("single", 1), ("bucketed", buckets))
    ]
    db = Database(url)
    db.run(
        lambda s: apply_program(
            session=s, program=ProgramFiles({"perk": specs}), keys=lambda: keys, operator="bench"
        )
    )
    for n in range(members):
        external_id = f"F-{n:03d}"
        db.run(
            lambda s, e=external_id: add_member(
                session=s,
                external_id=e,
                fields=MemberFields(name=e),
                groups=[],
                tags=[],
                operator="bench",
            )
        )
        db.run(
            lambda s, e=external_id: change_points(
                session=s, member=e, amount=PRICE * supply * 2, reason="seed", operator="bench"
            )
        )
    db.dispose()


RAW_SINGLE = (
    "UPDATE perk SET claimed = claimed + 1 WHERE id = %s AND active "
    "AND (max_supply IS NULL OR claimed < max_supply) RETURNING 0"
)
RAW_ROOM = (  # as store/perks.py _BUCKET_WITH_ROOM
    "SELECT bucket FROM perk_bucket WHERE perk_id = %s "
    "AND (capacity IS NULL OR claimed < capacity) "
    "AND EXISTS (SELECT 1 FROM perk WHERE id = %s AND active) "
    "ORDER BY CASE WHEN bucket > %s THEN bucket ELSE bucket + %s END LIMIT 1"
)


class _SoldOut(Exception):
    """No supply left: the raw claim's transaction is rolled back."""


def raw_claimer(url: str, slug: str, members: list[str], ready, go, out) -> None:
    """The raw-driver work shape of a claim, one transaction each, in claim_perk's order:
    the member's conditional debit, then the supply step (one counter, or a bucket taken
    as loyaltyctl takes it), the counters and the day's count in the same row set; then
    commit. What it leaves out
    (ledger entry, claim row, certificate) touches no row another claimer shares."""
    import random

    import psycopg

    tally: Counter = Counter()
    lock = threading.Lock()
    conns = [psycopg.connect(url, prepare_threshold=None) for _ in members]
    with conns[0].cursor() as cur:
        cur.execute("SELECT id, supply_buckets FROM perk WHERE slug = %s", (slug,))
        perk_id, buckets = cur.fetchone()
        cur.execute("SELECT external_id, id FROM member")
        ids = dict(cur.fetchall())
    conns[0].commit()

    def take(cur) -> int | None:
        if buckets <= 1:
            cur.execute(RAW_SINGLE, (perk_id,))
            return 0 if cur.fetchone() else None
        start = random.randrange(buckets)
        params = (perk_id, perk_id, start, buckets)
        while True:  # as store/perks.py _take_bucket
            cur.execute(RAW_ROOM + " FOR UPDATE SKIP LOCKED", params)
            row = cur.fetchone()
            if row is None:
                cur.execute(RAW_ROOM, params)
                row = cur.fetchone()
                if row is None:
                    return None
                cur.execute(
                    "SELECT bucket FROM perk_bucket WHERE perk_id = %s AND bucket = %s FOR UPDATE",
                    (perk_id, row[0]),
                )
                if cur.fetchone() is None:
                    continue
            cur.execute(
                "UPDATE perk_bucket SET claimed = claimed + 1 WHERE perk_id = %s "
                "AND bucket = %s AND (capacity IS NULL OR claimed < capacity) RETURNING bucket",
                (perk_id, row[0]),
            )
            taken = cur.fetchone()
            if taken:
                return taken[0]

    def run(conn, member: str) -> None:
        mine: Counter = Counter()
        target, where = ("perk", "id = %s") if buckets <= 1 else ("perk_bucket", "perk_id = %s")
        while True:
            try:
                with conn.transaction(), conn.cursor() as cur:
                    # the member's debit first, the shared rows last (claim_perk's order)
                    cur.execute(
                        "UPDATE member SET balance = balance - %s WHERE id = %s AND balance >= %s",
                        (PRICE, ids[member], PRICE),
                    )
                    bucket = take(cur)
                    if bucket is None:
                        mine["sold_out"] += 1
                        raise _SoldOut
                    cur.execute(
                        f"UPDATE {target} SET points_spent = points_spent + %s, "
                        f"last_claim_at = now() WHERE {where}"
                        + ("" if buckets <= 1 else " AND bucket = %s"),
                        (PRICE, perk_id) + (() if buckets <= 1 else (bucket,)),
                    )
                    cur.execute(
                        "INSERT INTO claim_day (perk_id, day, bucket, claims) "
                        "VALUES (%s, '2026-12-04', %s, 1) ON CONFLICT (perk_id, day, bucket) "
                        "DO UPDATE SET claims = claim_day.claims + 1",
                        (perk_id, bucket),
                    )
                mine["ok"] += 1
            except _SoldOut:  # rolled back: the debit is undone
                break
            except Exception as exc:  # noqa: BLE001 - reported, not hidden
                mine[f"error {type(exc).__name__}: {exc}"[:160]] += 1
                break
        conn.close()
        with lock:
            tally.update(mine)

    threads = [
        threading.Thread(target=run, args=(c, m)) for c, m in zip(conns, members, strict=True)
    ]
    ready.put(1)
    go.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(dict(tally))


def claimer(url: str, keys_file: str, slug: str, members: list[str], ready, go, out) -> None:
    """One process: a thread per member, each its own connection, claiming until sold out."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.errors import Refused
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.store.db import Database

    keys = crypto.load(Path(keys_file))
    db = Database(url)
    tally: Counter = Counter()
    lock = threading.Lock()
    warmed = threading.Barrier(len(members) + 1)
    start = threading.Event()

    def run(member: str) -> None:
        # its own connection, made before the start and kept between its transactions
        db.run(lambda s: None, write=False, rollback=True, raw=True)
        warmed.wait()
        start.wait()
        mine: Counter = Counter()
        while True:
            try:
                db.run(
                    lambda s: claim_perk(
                        session=s, keys=keys, perk_slug=slug, member=member, operator="bench"
                    ),
                    raw=True,  # as `perk claim` runs
                )
                mine["ok"] += 1
            except Refused as exc:
                mine[exc.code] += 1
                if exc.code == "sold_out":
                    break
            except Exception as exc:  # noqa: BLE001 - reported, not hidden
                mine[f"error {type(exc).__name__}: {exc}"[:160]] += 1
                break
        with lock:
            tally.update(mine)

    threads = [threading.Thread(target=run, args=(m,)) for m in members]
    for t in threads:
        t.start()
    warmed.wait()
    ready.put(1)
    go.wait()
    start.set()
    for t in threads:
        t.join()
    db.dispose()
    out.put(dict(tally))


def sale(url: str, keys_file: Path, slug: str, *, processes: int, threads: int, raw: bool) -> tuple:
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    members = [f"F-{n:03d}" for n in range(processes * threads)]

    def args(p: int) -> tuple:
        mine = members[p * threads : (p + 1) * threads]
        if raw:
            return (url, slug, mine, ready, go, out)
        return (url, str(keys_file), slug, mine, ready, go, out)

    procs = [
        ctx.Process(target=raw_claimer if raw else claimer, args=args(p)) for p in range(processes)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    started = time.perf_counter()
    go.set()
    tally: Counter = Counter()
    for _ in procs:
        tally.update(out.get(timeout=1800))
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return tally, elapsed


def _port(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 5432


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_proxy(workdir: Path, upstream: str, rtt_ms: float) -> tuple[subprocess.Popen, str]:
    """bench/latency_proxy.c between the claimers and ``upstream``: half the round trip
    each way. Returns the process and the URL to claim through."""
    binary = workdir / "latency_proxy"
    if not binary.exists():
        source = Path(__file__).with_name("latency_proxy.c")
        subprocess.run(["gcc", "-O2", "-pthread", "-o", str(binary), str(source)], check=True)
    port = _free_port()
    proc = subprocess.Popen(
        [str(binary), str(port), str(_port(upstream)), str(round(rtt_ms * 500))],
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout.readline().strip() != "listening":
        raise SystemExit("latency_proxy did not start")
    return proc, upstream.replace(f":{_port(upstream)}/", f":{port}/", 1)


def round_trip_ms(url: str, count: int = 200) -> float:
    """Median time of ``SELECT 1`` in autocommit: the network and the server's least."""
    import psycopg

    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def check(url: str, slug: str, supply: int, tally: Counter, raw: bool) -> list[str]:
    """What would make the figure meaningless: oversold, errors, a bucket over capacity
    (and for the service's sales, the claim rows and `audit verify`)."""
    from sqlalchemy import text

    from loyaltyctl.services.audit import verify
    from loyaltyctl.store.db import Database

    problems = []
    if tally["ok"] != supply:
        problems.append(f"{tally['ok']} claims served, the supply is {supply}")
    others = {k: v for k, v in tally.items() if k not in ("ok", "sold_out")}
    if others:
        problems.append(f"answers other than served / sold_out: {others}")
    db = Database(url)
    with db.transaction(write=False) as s:
        claims = s.execute(
            text(
                "SELECT COUNT(*) FROM claim c JOIN perk p ON p.id = c.perk_id "
                "WHERE p.slug = :slug AND c.status = 'active'"
            ),
            {"slug": slug},
        ).scalar_one()
        over = s.execute(
            text("SELECT COUNT(*) FROM perk_bucket WHERE claimed > capacity")
        ).scalar_one()
    if over:
        problems.append(f"{over} buckets over capacity")
    if not raw:
        if claims != supply:
            problems.append(f"{claims} claim rows for a supply of {supply}")
        result = db.run(lambda s: verify(session=s), write=False, rollback=True)
        if not result.ok:
            problems.append(f"audit verify: {result.problems[:3]}")
    db.dispose()
    return problems


def one_sale(args, workdir: Path, slug: str, url: str) -> tuple[float, list[str]]:
    """A fresh database, the perks and members, one sale of ``slug`` through ``url``."""
    import psycopg

    name = f"bench_buckets_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        from loyaltyctl.store.db import Database
        from loyaltyctl.store.migrate import upgrade

        primary = _with_db(ADMIN_URL, name)
        db = Database(primary, check_schema=False)
        upgrade(db)
        db.dispose()
        keys_file = workdir / f"{name}.toml"
        os.environ["LOYALTYCTL_KEYS_FILE"] = str(keys_file)
        set_up(
            primary,
            keys_file,
            supply=args.supply,
            buckets=args.buckets,
            members=args.processes * args.threads,
        )
        tally, elapsed = sale(
            _with_db(url, name),
            keys_file,
            slug,
            processes=args.processes,
            threads=args.threads,
            raw=args.raw,
        )
        problems = check(primary, slug, args.supply, tally, args.raw)
        rate = tally["ok"] / elapsed
        print(
            f"  {slug:9} {tally['ok']:>7,} served, {tally['sold_out']:>4} sold_out, "
            f"{elapsed:7.2f} s, {rate:8,.0f} claims/s, load {os.getloadavg()[0]:.2f}"
            + (f"  PROBLEMS: {problems}" if problems else ""),
            flush=True,
        )
        return rate, [f"{slug}: {p}" for p in problems]
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--supply", type=int, default=10_000)
    parser.add_argument("--buckets", type=int, default=16)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="connections per process")
    parser.add_argument("--rounds", type=int, default=1, help="sales of each perk")
    parser.add_argument("--url", default=POOLER_URL, help="where the claims connect")
    parser.add_argument(
        "--rtt-ms",
        default="0",
        help="network round trips to add between claimers and --url, comma-separated "
        "(ms; 0 = loopback as it is)",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="the raw-driver work shape instead of claim_perk (the row contention alone)",
    )
    args = parser.parse_args()
    rtts = [float(r) for r in args.rtt_ms.split(",")]

    failures = []
    summary = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-buckets-"))
    print(
        f"flash sale{' (raw-driver work shape)' if args.raw else ''}: {args.supply:,} units, "
        f"{args.processes * args.threads} connections "
        f"({args.processes} processes x {args.threads}) through {args.url}; "
        f"{os.cpu_count()} cores; load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    for rtt in rtts:
        proxy, url = (None, args.url) if rtt == 0 else start_proxy(workdir, args.url, rtt)
        try:
            print(
                f"added round trip {rtt:g} ms: SELECT 1 takes {round_trip_ms(url):.3f} ms "
                f"(direct {round_trip_ms(args.url):.3f} ms)",
                flush=True,
            )
            rates: dict[str, list[float]] = {"single": [], "bucketed": []}
            for round_ in range(args.rounds):
                order = ("single", "bucketed") if round_ % 2 == 0 else ("bucketed", "single")
                for slug in order:
                    rate, problems = one_sale(args, workdir, slug, url)
                    rates[slug].append(rate)
                    failures += problems
        finally:
            if proxy is not None:
                proxy.terminate()
                proxy.wait()
        single, bucketed = max(rates["single"]), max(rates["bucketed"])
        summary.append((rtt, single, bucketed))
    print(f"best of {args.rounds} (target >= 3); load average after {os.getloadavg()[0]:.2f}")
    print(f"  {'added RTT':>9}  {'single':>9}  {f'{args.buckets} buckets':>10}  ratio")
    for rtt, single, bucketed in summary:
        print(f"  {rtt:>6g} ms  {single:>9,.0f}  {bucketed:>10,.0f}  {bucketed / single:5.2f}")
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
