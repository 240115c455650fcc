#!/usr/bin/env python
"""Benchmark `loyaltyctl promo generate` against a raw-driver baseline, on SQLite and PostgreSQL.

Not a test: it prints figures. For each backend and each count (``--small``, then
``--count``) it

1. makes a fresh database with the real schema and one campaign, and runs the CLI as
   a child process: ``loyaltyctl --database-url URL promo generate bench --count N
   --json`` (wall time, peak RSS from ``os.wait4``), then checks the batch: N rows,
   N distinct hashes, ``generated`` = N;
2. makes a second fresh database with the same campaign and runs the raw baseline as
   a child process (this script with ``--baseline-child``): the same rows made the
   cheapest way (random codes with the check symbol, HMAC-SHA256 of each with the key
   file's lookup key, AES-GCM of each bound to its hash, exactly what the service
   stores) and written in ONE transaction with the driver's fastest bulk path:
   sqlite3 ``executemany`` of a plain INSERT under ``BEGIN IMMEDIATE`` with
   loyaltyctl's pragmas, or psycopg ``COPY promo_code`` of pre-formatted text blocks.
   No chunk transactions, no duplicate handling, no batch bookkeeping, no ORM;
3. prints codes/s of both, the ratio service/baseline (target <= 2) and the peaks
   (target: flat in N, the same at ``--small`` and ``--count``).

Usage:
    python bench/bench_promo_generate.py                          # 1,000,000 codes, both
    python bench/bench_promo_generate.py --count 200000 --small 50000 --backend sqlite
    python bench/bench_promo_generate.py --backend postgresql --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import bench_import  # the child-process launcher (peak RSS of children)
from _common import (
    Backend,
    PostgresBackend,
    SqliteBackend,
    child_env,
    cleanup_backends,
    code_version,
    remove_workdir,
)

CAMPAIGN = "bench"
LENGTH = 10
BASELINE_CHUNK = 50_000  # rows built at a time in the baseline (memory stays flat)
TARGET_RATIO = 2.0

# --- the databases -----------------------------------------------------------------


def add_campaign(url: str, keys_file: Path) -> None:
    """One active campaign, through loyaltyctl's own service (not timed)."""
    from loyaltyctl import crypto
    from loyaltyctl.domain.promo import CampaignSpec
    from loyaltyctl.services.promo import create_campaign
    from loyaltyctl.store.db import Database

    ring = crypto.load(keys_file)
    db = Database(url)
    try:
        db.run(
            lambda s: create_campaign(
                session=s,
                spec=CampaignSpec(slug=CAMPAIGN, name="Benchmark", points=10),
                keys=lambda: ring,
                operator="bench",
            )
        )
    finally:
        db.dispose()


def check_batch(url: str, count: int) -> str:
    """What the service left: codes, distinct hashes, the batch's counter."""
    from sqlalchemy import text

    from loyaltyctl.store.db import Database

    db = Database(url)
    try:
        with db.transaction(write=False) as s:
            rows, distinct = s.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT code_hash) FROM promo_code")
            ).one()
            generated = s.execute(text("SELECT SUM(generated) FROM promo_batch")).scalar_one()
    finally:
        db.dispose()
    ok = rows == distinct == generated == count
    return (
        f"{'ok' if ok else 'WRONG'}: {rows:,} codes, {distinct:,} distinct, generated {generated:,}"
    )


def size_mb(backend: Backend, label: str) -> float:
    if isinstance(backend, SqliteBackend):
        path = backend.path(label)
        return (
            sum(
                Path(f"{path}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{path}{s}").exists()
            )
            / 2**20
        )
    with backend._admin() as conn:
        (size,) = conn.execute("SELECT pg_database_size(%s)", (backend.dbname(label),)).fetchone()
    return size / 2**20


# --- the baseline (run in a child process) -------------------------------------------


def baseline_child(url: str, count: int, keys_file: Path) -> None:
    """Make ``count`` rows the cheapest way and insert them in one transaction; print
    {"seconds", "rows"} (the seconds after imports and connecting)."""
    import hashlib
    import hmac
    from binascii import b2a_base64
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from loyaltyctl import crypto
    from loyaltyctl.domain.promo import ALPHABET, check_symbol

    ring = crypto.load(keys_file)
    keyed = hmac.new(ring.lookup_key, digestmod=hashlib.sha256)
    encrypt = AESGCM(ring.encryption[ring.primary]).encrypt
    key_id = ring.primary
    symbol_of_byte = bytes(ALPHABET.encode()[b % 32] for b in range(256))
    now = datetime.now(UTC)
    sqlite = url.startswith("sqlite")
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now.isoformat()

    def chunks():
        left = count
        while left:
            n = min(BASELINE_CHUNK, left)
            left -= n
            symbols = os.urandom(n * LENGTH).translate(symbol_of_byte).decode()
            rows = []
            for start in range(0, n * LENGTH, LENGTH):
                body = symbols[start : start + LENGTH]
                code = body + check_symbol(body)
                mac = keyed.copy()
                mac.update(code.encode())
                code_hash = mac.hexdigest()
                nonce = os.urandom(12)
                sealed = encrypt(nonce, code.encode(), f"promo_code:{code_hash}".encode())
                enc = (
                    f"{key_id}:{b2a_base64(nonce, newline=False).decode()}:"
                    f"{b2a_base64(sealed, newline=False).decode()}"
                )
                rows.append((code_hash, enc))
            yield rows

    if sqlite:
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        campaign_id = conn.execute("SELECT id FROM campaign").fetchone()[0]
        sql = (
            "INSERT INTO promo_code (campaign_id, batch_id, code_hash, code_enc, uses_allowed, "
            "uses, created_at) VALUES (?, 'BASELINE', ?, ?, 1, 0, ?)"
        )
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for rows in chunks():
            conn.executemany(sql, ((campaign_id, h, e, stamp) for h, e in rows))
        conn.execute("COMMIT")
        seconds = time.perf_counter() - t0
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cur:
            campaign_id = cur.execute("SELECT id FROM campaign").fetchone()[0]
            t0 = time.perf_counter()
            with cur.copy(
                "COPY promo_code (campaign_id, batch_id, code_hash, code_enc, uses_allowed, "
                "uses, created_at) FROM STDIN"
            ) as copy:
                fixed_start, fixed_end = f"{campaign_id}\tBASELINE\t", f"\t1\t0\t{stamp}\n"
                for rows in chunks():
                    copy.write("".join([f"{fixed_start}{h}\t{e}{fixed_end}" for h, e in rows]))
            conn.commit()
            seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "rows": count}))


# --- the benchmark -------------------------------------------------------------------


def service_cmd(url: str, count: int, profile: Path | None) -> list[str]:
    args = ["--database-url", url, "promo", "generate", CAMPAIGN, "--count", str(count), "--json"]
    return bench_import.loyaltyctl_cmd(*args, profile=profile)


def bench_one(backend: Backend, count: int, args, workdir: Path, env: dict) -> dict:
    log = lambda msg: print(f"  [{backend.name} {count:,}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    keys_file = Path(env["LOYALTYCTL_KEYS_FILE"])
    profile = None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = args.profile / f"generate-{backend.name}-{count}.prof"

    services, baselines, peaks, base_peaks = [], [], [], []
    checked = ""
    for attempt in range(args.repeat):
        label = f"service_{count}"
        url = backend.create(label)
        add_campaign(url, keys_file)
        log(f"promo generate --count {count:,} (run {attempt + 1} of {args.repeat})")
        wall, peak, code, out, err = bench_import.run_child(
            service_cmd(url, count, profile), env, workdir, timeout=args.timeout
        )
        if code != 0:
            raise SystemExit(
                f"promo generate failed on {backend.name} (exit {code}):\n{out}\n{err}"
            )
        result = json.loads(out)
        checked = check_batch(url, count)
        log(f"service: {wall:.1f} s, peak {peak:.0f} MB, {checked}, batch {result['batch_id']}")
        services.append(wall)
        peaks.append(peak)
        service_size = size_mb(backend, label)
        if not args.keep:
            backend.drop(label)

        label = f"baseline_{count}"
        url = backend.create(label)
        add_campaign(url, keys_file)
        log("raw baseline")
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--baseline-child",
            url,
            str(count),
            str(keys_file),
        ]
        bwall, bpeak, bcode, bout, berr = bench_import.run_child(cmd, env, workdir)
        if bcode != 0:
            raise SystemExit(f"baseline failed on {backend.name}:\n{bout}\n{berr}")
        inner = json.loads(bout)["seconds"]
        log(f"baseline: {bwall:.1f} s ({inner:.1f} s in the loop), peak {bpeak:.0f} MB")
        baselines.append(bwall)
        base_peaks.append(bpeak)
        baseline_size = size_mb(backend, label)
        if not args.keep:
            backend.drop(label)
    service, base = min(services), min(baselines)
    return {
        "backend": backend.name,
        "count": count,
        "service_s": service,
        "service_cps": count / service,
        "peak_mb": max(peaks),
        "baseline_s": base,
        "baseline_cps": count / base,
        "baseline_peak_mb": max(base_peaks),
        "ratio": service / base,
        "check": checked,
        "service_db_mb": service_size,
        "baseline_db_mb": baseline_size,
        "profile": profile,
    }


def print_report(results: list[dict], args) -> None:
    print()
    print(f"{args.code_version}; measured from {args.started} to {time.strftime('%H:%M:%S')}")
    print(
        f"promo generate: codes of length {LENGTH} (+ check symbol), best of {args.repeat} "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus)"
    )
    header = (
        f"{'backend':<11} {'codes':>10} {'service s':>9} {'codes/s':>9} {'peak MB':>8} "
        f"{'baseline s':>10} {'base codes/s':>12} {'base MB':>8} {'ratio':>6}  "
        f"target ratio<={TARGET_RATIO:g}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        mark = "ok" if r["ratio"] <= TARGET_RATIO else "MISSED"
        print(
            f"{r['backend']:<11} {r['count']:>10,} {r['service_s']:>9.2f} "
            f"{r['service_cps']:>9,.0f} {r['peak_mb']:>8.1f} {r['baseline_s']:>10.2f} "
            f"{r['baseline_cps']:>12,.0f} {r['baseline_peak_mb']:>8.1f} {r['ratio']:>6.2f}  {mark}"
        )
    for r in results:
        print(
            f"  {r['backend']} {r['count']:,}: {r['check']}; database "
            f"{r['service_db_mb']:.0f} MB (baseline {r['baseline_db_mb']:.0f} MB)"
        )
    by_backend: dict[str, list[dict]] = {}
    for r in results:
        by_backend.setdefault(r["backend"], []).append(r)
    for name, rows in by_backend.items():
        if len(rows) > 1:
            low, high = rows[0], rows[-1]
            print(
                f"  {name}: peak {low['peak_mb']:.0f} MB at {low['count']:,} codes, "
                f"{high['peak_mb']:.0f} MB at {high['count']:,} "
                f"({high['peak_mb'] - low['peak_mb']:+.0f} MB for "
                f"{high['count'] / low['count']:g}x the codes)"
            )
    for r in results:
        if r["profile"]:
            print()
            print(f"cProfile of {r['backend']} {r['count']:,} ({r['profile']}), top by own time:")
            pstats.Stats(str(r["profile"]), stream=sys.stdout).sort_stats("tottime").print_stats(
                args.profile_top
            )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--baseline-child":
        baseline_child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="codes (1,000,000)")
    parser.add_argument(
        "--small",
        type=int,
        default=200_000,
        help="a smaller count first, for memory (200,000; 0: none)",
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the best kept (1)")
    parser.add_argument("--timeout", type=float, default=None, help="kill a run after S seconds")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the service into DIR")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="keep the databases and files")
    args = parser.parse_args()
    args.code_version = code_version()
    args.started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(args.code_version, file=sys.stderr)
    bench_import._launcher = bench_import.Launcher()  # while this process is still small

    from loyaltyctl import crypto

    workdir = Path(tempfile.mkdtemp(prefix="bench_promo_"))
    keys_file = workdir / "keys.toml"
    crypto.create(keys_file, exist_ok=False)
    env = child_env(workdir, keys_file)
    backends: list[Backend] = []
    results: list[dict] = []
    counts = [c for c in (args.small, args.count) if c]
    try:
        if args.backend in ("sqlite", "both"):
            backends.append(SqliteBackend(workdir))
        if args.backend in ("postgresql", "both"):
            backends.append(PostgresBackend(f"bench_promo_{os.getpid()}"))
        for backend in backends:
            for count in counts:
                results.append(bench_one(backend, count, args, workdir, env))
        print_report(results, args)
    finally:
        cleanup_backends(backends)
        bench_import._launcher.close()
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
