#!/usr/bin/env python
"""Benchmark `loyaltyctl events ingest` of order.paid events against the raw driver.

Not a test: it prints figures. For each backend it

1. makes a fresh database with the real schema, inserts the members with the raw driver
   and applies a program of one order rule and three tiers through loyaltyctl's own
   services (not timed), generates a JSON-lines file of ``--events`` order.paid events,
   and runs the CLI as a child process, the way cron does: ``python -m loyaltyctl
   --database-url URL events ingest FILE --json``, measuring wall time and the child's
   peak RSS (through the launcher of bench_import.py);
2. reads back the ledger rows the ingest wrote (not timed) and inserts exactly those
   rows into a second fresh database with the same schema and members with the raw
   driver: sqlite3 ``executemany`` in one transaction with loyaltyctl's pragmas, or
   psycopg ``COPY``. Only the driver calls and the commit are timed: the driver's floor
   for the resulting ledger rows. A second baseline inserts every row the ingest wrote
   (ledger entries, their pending lots and the `ingested_event` records) the same way;
3. prints events/s of both and the ratios ingest/baseline (target: <= 3 against the
   ledger rows).

Usage:
    python bench/bench_ingest.py                                   # 1,000,000 events, both
    python bench/bench_ingest.py --events 50000 --backend sqlite   # quick check
    python bench/bench_ingest.py --events 200000 --profile /tmp/prof --backend postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    SqliteBackend,
    child_env,
    cleanup_backends,
    code_version,
    load_average,
    remove_workdir,
)
from bench_import import (
    PostgresImportBackend,
    SqliteImportBackend,
    external_id,
    loyaltyctl_cmd,
    run_child,
)

TARGET_RATIO = 3.0
CHUNK = 50_000
PROGRAM = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 1
rounding = "down"
wait_days = 14
{limit}

[[tier]]
slug = "silver"
name = "Silver"
threshold = 500
period = "12 months"
multiplier = 1.25

[[tier]]
slug = "gold"
name = "Gold"
threshold = 2000
period = "12 months"
multiplier = 1.5
overrides = {{ "order-points" = 2 }}

[[tier]]
slug = "platinum"
name = "Platinum"
threshold = 10000
period = "lifetime"
multiplier = 2
downgrade = "never"
"""
SKUS = [f"SKU-{i:04d}" for i in range(500)]


def generate_events(path: Path, events: int, members: int, *, seed: int, now: datetime) -> None:
    """order.paid events over the last 60 days in time order: 1-3 items of 1-120 units of
    currency, a discount on a third of them, shipping on most; members drawn uniformly."""
    rng = random.Random(seed)
    start = now - timedelta(days=60)
    step = timedelta(days=60) / events
    with path.open("w", encoding="utf-8") as handle:
        for n in range(events):
            items = [
                {
                    "sku": SKUS[rng.randrange(len(SKUS))],
                    "price": f"{rng.randint(100, 12000) / 100:.2f}",
                    "quantity": rng.randint(1, 3),
                }
                for _ in range(rng.randint(1, 3))
            ]
            event = {
                "id": f"ord-{seed}-{n}",
                "type": "order.paid",
                "at": (start + step * n).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "member": external_id(rng.randint(1, members)),
                "order_id": f"O{seed}-{n}",
                "currency": "USD",
                "items": items,
                "shipping": "4.90" if rng.random() < 0.7 else "0.00",
            }
            if rng.random() < 0.33:
                event["discount"] = f"{min(5.0, float(items[0]['price'])):.2f}"
            handle.write(json.dumps(event) + "\n")


def apply_program(url: str, workdir: Path, limit: bool) -> None:
    from loyaltyctl.program.files import read_program_files
    from loyaltyctl.services.apply import apply_program as apply
    from loyaltyctl.store.db import Database

    path = workdir / "program.toml"
    path.write_text(
        PROGRAM.format(limit='limit = { count = 5, per = "day" }' if limit else ""),
        encoding="utf-8",
    )
    files = read_program_files([path], env={}, tz=UTC)
    db = Database(url)
    try:
        db.run(lambda s: apply(session=s, program=files, keys=lambda: None, operator="bench"))
    finally:
        db.dispose()


def read_rows(backend, label: str, table: str, sqlite: bool):
    """The rows of ``table`` in id order, in chunks, as the driver gives them (SQLite
    timestamps stay text, PostgreSQL's stay datetimes: each goes back as it came)."""
    conn = backend.connect(label)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT * FROM {table} ORDER BY id")
        columns = [d[0] for d in cur.description]
        while True:
            rows = cur.fetchmany(CHUNK)
            if not rows:
                break
            if sqlite:
                yield columns, [tuple(r) for r in rows]
            else:  # psycopg reads jsonb as dicts: they go back as jsonb
                yield columns, [tuple(_jsonb(v) for v in r) for r in rows]
    finally:
        conn.close()


def _jsonb(value):
    if isinstance(value, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(value)
    return value


def raw_insert(backend, label: str, tables: list[tuple[str, object]]) -> float:
    """Insert the rows of each (table, chunks) with the driver in one transaction;
    seconds spent in the driver calls and the commit only."""
    spent = 0.0
    conn = backend.connect(label)
    sqlite = isinstance(backend, SqliteBackend)
    try:
        if sqlite:
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            spent += time.perf_counter() - t0
        cur = conn.cursor()
        for table, chunks in tables:
            if sqlite:
                for columns, rows in chunks:
                    sql = (
                        f"INSERT INTO {table} ({','.join(columns)}) "
                        f"VALUES ({','.join('?' * len(columns))})"
                    )
                    t0 = time.perf_counter()
                    conn.executemany(sql, rows)
                    spent += time.perf_counter() - t0
                continue
            copy_ctx = None
            for columns, rows in chunks:
                t0 = time.perf_counter()
                if copy_ctx is None:
                    copy_ctx = cur.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN")
                    copy = copy_ctx.__enter__()
                for row in rows:
                    copy.write_row(row)
                spent += time.perf_counter() - t0
            if copy_ctx is not None:
                t0 = time.perf_counter()
                copy_ctx.__exit__(None, None, None)
                spent += time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute("COMMIT") if sqlite else conn.commit()
        spent += time.perf_counter() - t0
    finally:
        conn.close()
    return spent


def bench_backend(backend, args, events_path: Path, workdir: Path, env: dict) -> dict:
    now = datetime.now(UTC)
    log = lambda msg: print(f"  [{backend.name}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    sqlite = isinstance(backend, SqliteBackend)

    log("creating the ingest database, its members and the program")
    url = backend.create("ingest")
    backend.insert_members("ingest", args.members, now)
    apply_program(url, workdir, args.limit)
    profile = None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = args.profile / f"ingest-{backend.name}.prof"
    log(f"running events ingest of {args.events:,} order.paid events")
    cmd = loyaltyctl_cmd(
        "--database-url", url, "events", "ingest", str(events_path), "--json", profile=profile
    )
    wall, peak, code, out, err = run_child(cmd, env, workdir, timeout=args.timeout)
    if code != 0:
        raise SystemExit(f"events ingest failed on {backend.name} (exit {code}):\n{out}\n{err}")
    result = json.loads(out)
    if result["applied"] != args.events:
        raise SystemExit(f"ingest applied {result['applied']} of {args.events}: {out}")
    log(
        f"ingest: {wall:.1f} s, peak {peak:.0f} MB, {result['points_awarded']:,} points"
        f" ({result['points_pending']:,} pending), {result['tier_changes']:,} tier changes"
    )
    counts = {}
    conn = backend.connect("ingest")
    try:
        for table in ("ledger_entry", "point_lot", "ingested_event"):
            counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()

    baselines = {}
    for name, tables in (
        ("ledger", ("ledger_entry",)),
        ("all rows", ("ledger_entry", "point_lot", "ingested_event")),
    ):
        label = "baseline"
        backend.create(label)
        backend.insert_members(label, args.members, now)
        apply_program(backend.url(label), workdir, args.limit)  # earning_rule rows (FKs)
        log(f"baseline ({name}): inserting {', '.join(tables)} with the raw driver")
        baselines[name] = raw_insert(
            backend, label, [(t, read_rows(backend, "ingest", t, sqlite)) for t in tables]
        )
        log(f"baseline ({name}): {baselines[name]:.1f} s")
        backend.drop(label)
    if not args.keep:
        backend.drop("ingest")
    return {
        "backend": backend.name,
        "events": args.events,
        "ingest_s": wall,
        "events_per_s": args.events / wall,
        "peak_mb": peak,
        "rows": counts,
        "baseline_ledger_s": baselines["ledger"],
        "baseline_all_s": baselines["all rows"],
        "ratio": wall / baselines["ledger"],
        "ratio_all": wall / baselines["all rows"],
        "profile": profile,
    }


def print_report(results: list[dict], args) -> None:
    print()
    print(f"load average at the end: {load_average()} (1, 5, 15 min; 2 cpus shared)")
    print(f"events ingest of {args.events:,} order.paid events, {args.members:,} members")
    print(f"({args.code_version}; limit: {'5 per day' if args.limit else 'none'})")
    print()
    header = (
        "| backend | ingest s | events/s | peak MB | ledger rows | raw ledger s | ratio "
        "| all rows | raw all s | ratio |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rows = r["rows"]
        every = rows["ledger_entry"] + rows["point_lot"] + rows["ingested_event"]
        mark = "" if r["ratio"] <= TARGET_RATIO else " (target missed)"
        print(
            f"| {r['backend']} | {r['ingest_s']:.1f} | {r['events_per_s']:,.0f} | "
            f"{r['peak_mb']:.0f} | {rows['ledger_entry']:,} | {r['baseline_ledger_s']:.1f} | "
            f"{r['ratio']:.2f}{mark} | {every:,} | {r['baseline_all_s']:.1f} | "
            f"{r['ratio_all']:.2f} |"
        )
    for r in results:
        if r["profile"]:
            print(f"\nprofile of {r['backend']} ({r['profile']}):")
            pstats.Stats(str(r["profile"])).sort_stats("cumulative").print_stats(args.profile_top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=None, help="default events/10, <= 100k")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--limit", action="store_true", help="the order rule has a daily limit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.members = args.members or min(max(args.events // 10, 1), 100_000)
    args.code_version = code_version()
    workdir = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    backends = []
    if args.backend in ("sqlite", "both"):
        backends.append(SqliteImportBackend(workdir))
    if args.backend in ("postgresql", "both"):
        backends.append(PostgresImportBackend(f"bench_ingest_{os.getpid()}"))
    try:
        events_path = workdir / "events.jsonl"
        print(f"generating {args.events:,} events", file=sys.stderr)
        generate_events(
            events_path, args.events, args.members, seed=args.seed, now=datetime.now(UTC)
        )
        env = child_env(workdir)
        results = [bench_backend(b, args, events_path, workdir, env) for b in backends]
        print_report(results, args)
    finally:
        cleanup_backends(backends)
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
