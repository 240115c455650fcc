#!/usr/bin/env python
"""Benchmark `loyaltyctl points import` against the raw driver, on SQLite and PostgreSQL.

Not a test: it prints figures. For each backend it

1. makes a fresh database with the real schema (Alembic ``upgrade``), inserts the
   members with the raw driver (not timed), generates a points CSV and runs the CLI
   as a child process: ``python -m loyaltyctl --database-url URL points import FILE
   --json``, measuring wall time and the child's peak RSS (``os.wait4`` rusage);
2. makes a second fresh database with the same schema and members and inserts the
   same ledger rows (same member ids, seqs, balances, keys, expiry dates; realistic
   64-hex hashes) with the raw driver: sqlite3 ``executemany`` in one transaction,
   psycopg ``COPY``. Only the driver calls and the commit are timed (the rows are
   built in Python in chunks outside the timer), so this is the driver's floor;
3. prints a table and the ratio import/baseline (targets: ratio <= 2, peak < 200 MB).

It also times CLI start-up: ``loyaltyctl --help`` against ``python -c "import typer"``
(median of several runs; target ratio <= 2).

Usage:
    python bench/bench_import.py                       # 1,000,000 rows, both backends
    python bench/bench_import.py --rows 20000 --verify  # quick check + `audit verify`
    python bench/bench_import.py --rows 100000 --backend sqlite --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import pstats
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
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

CHUNK = 50_000
REASONS = ("Purchase", "Purchase bonus", "Tournament win", "Birthday gift", "Referral")

TARGET_RATIO = 2.0
TARGET_PEAK_MB = 200.0


# --- data ------------------------------------------------------------------------


def external_id(i: int) -> str:
    return f"C-{i:06d}"


def generate_csv(
    path: Path, rows: int, members: int, *, keys: str, writeoffs: float, seed: int
) -> None:
    """member,amount,reason,key,expires_at: mostly credits, ~10% expiring in the future,
    a small share of write-offs (never beyond the member's running balance)."""
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    balance = [0] * (members + 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["member", "amount", "reason", "key", "expires_at"])
        for n in range(rows):
            m = rng.randint(1, members)
            expires = ""
            if balance[m] > 0 and rng.random() < writeoffs:
                amount = -rng.randint(1, min(balance[m], 200))
                reason = "Correction"
            else:
                amount = rng.randint(1, 1000)
                reason = REASONS[rng.randrange(len(REASONS))]
                if rng.random() < 0.10:
                    expires = (today + timedelta(days=rng.randint(30, 730))).isoformat()
            balance[m] += amount
            key = f"bench-{seed}-{n}" if keys == "explicit" else ""
            out.writerow([external_id(m), amount, reason, key, expires])


def member_rows(members: int, now: datetime, sqlite: bool):
    ts = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    false = 0 if sqlite else False
    for i in range(1, members + 1):
        # id, external_id, name, phone, phone_rev, email, birthday, plan, tier,
        # tier_manual, created_at, updated_at, balance, pending, ledger_seq, ledger_head
        phone = f"+1555{i:07d}"
        yield (
            i,
            external_id(i),
            f"Member {i}",
            phone,
            "".join(ch for ch in reversed(phone) if ch.isdigit()),
            f"member{i}@example.com",
            None,
            None,
            None,
            false,
            ts,
            ts,
            0,
            0,
            0,
            GENESIS,
        )


MEMBER_COLUMNS = (
    "id,external_id,name,phone,phone_rev,email,birthday,plan,tier,tier_manual,"
    "created_at,updated_at,balance,pending,ledger_seq,ledger_head"
)
ENTRY_COLUMNS = (
    "id,member_id,seq,at,kind,amount,pending_amount,balance_after,reason,operator,"
    "idem_key,request_hash,expires_at,pending_until,rule,event_id,order_id,claim_id,"
    "prev_hash,hash"
)


def ledger_chunks(csv_path: Path, members: int, now: datetime, sqlite: bool, operator: str):
    """The rows the import writes, built from the same CSV, in chunks of CHUNK tuples."""
    seq = [0] * (members + 1)
    bal = [0] * (members + 1)
    head = [GENESIS] * (members + 1)
    from loyaltyctl.services.ledger import request_hash

    occurrences: dict[str, int] = {}
    at = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    chunk: list[tuple] = []
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for n, (member, amount_text, reason, key, expires_text) in enumerate(reader, 1):
            m = int(member[2:])
            amount = int(amount_text)
            expires = None
            if expires_text:
                day = datetime.fromisoformat(expires_text).date()
                expires = datetime.combine(day, dtime.max, tzinfo=UTC)
            # the request hash and derived key as loyaltyctl makes them (same content hash,
            # `csv:<32 hex>:<how many identical rows came before>`)
            digest = request_hash(
                member=member, amount=amount, reason=reason, expires_at=expires, pending_until=None
            )
            if not key:
                count = occurrences.get(digest[:16], 0)
                occurrences[digest[:16]] = count + 1
                key = f"csv:{digest[:32]}:{count}"
            if sqlite and expires is not None:
                expires = expires.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            seq[m] += 1
            bal[m] += amount
            entry_hash = hashlib.sha256(f"{head[m]}{n}".encode()).hexdigest()
            chunk.append(
                (
                    n,
                    m,
                    seq[m],
                    at,
                    "credit" if amount > 0 else "write_off",
                    amount,
                    0,
                    bal[m],
                    reason,
                    operator,
                    key,
                    digest,
                    expires,
                    None,
                    None,
                    None,
                    None,
                    None,
                    head[m],
                    entry_hash,
                )
            )
            head[m] = entry_hash
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# --- databases -------------------------------------------------------------------


class SqliteImportBackend(SqliteBackend):
    """SQLite, with the members, the raw-driver baseline and the size."""

    def connect(self, label: str) -> sqlite3.Connection:
        # the same pragmas loyaltyctl sets on every connection (store/db.py)
        conn = sqlite3.connect(self.path(label), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def insert_members(self, label: str, members: int, now: datetime) -> None:
        conn = self.connect(label)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT INTO member ({MEMBER_COLUMNS}) VALUES ({','.join('?' * 16)})",
                member_rows(members, now, sqlite=True),
            )
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
        finally:
            conn.close()

    def baseline(self, label: str, chunks) -> float:
        conn = self.connect(label)
        sql = f"INSERT INTO ledger_entry ({ENTRY_COLUMNS}) VALUES ({','.join('?' * 20)})"
        spent = 0.0
        try:
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            spent += time.perf_counter() - t0
            for chunk in chunks:
                t0 = time.perf_counter()
                conn.executemany(sql, chunk)
                spent += time.perf_counter() - t0
            t0 = time.perf_counter()
            conn.execute("COMMIT")
            spent += time.perf_counter() - t0
        finally:
            conn.close()
        return spent

    def size_mb(self, label: str) -> float:
        return (
            sum(
                Path(f"{self.path(label)}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{self.path(label)}{s}").exists()
            )
            / 2**20
        )


class PostgresImportBackend(PostgresBackend):
    """PostgreSQL, with the members, the raw-driver baseline, progress and the size."""

    def connect(self, label: str):
        import psycopg

        return psycopg.connect(self.url(label))

    def insert_members(self, label: str, members: int, now: datetime) -> None:
        with self.connect(label) as conn:
            with conn.cursor() as cur:
                with cur.copy(f"COPY member ({MEMBER_COLUMNS}) FROM STDIN") as copy:
                    for row in member_rows(members, now, sqlite=False):
                        copy.write_row(row)
                cur.execute("SELECT setval('member_id_seq', %s)", (members,))
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE member")

    def baseline(self, label: str, chunks) -> float:
        spent = 0.0
        top = 0
        with self.connect(label) as conn, conn.cursor() as cur:
            t0 = time.perf_counter()
            with cur.copy(f"COPY ledger_entry ({ENTRY_COLUMNS}) FROM STDIN") as copy:
                spent += time.perf_counter() - t0
                for chunk in chunks:
                    t0 = time.perf_counter()
                    for row in chunk:
                        copy.write_row(row)
                    spent += time.perf_counter() - t0
                    top = chunk[-1][0]
                t0 = time.perf_counter()
            spent += time.perf_counter() - t0  # the end of COPY
            t0 = time.perf_counter()
            cur.execute("SELECT setval('ledger_entry_id_seq', %s)", (top,))
            conn.commit()
            spent += time.perf_counter() - t0
        return spent

    def progress(self, label: str) -> int | None:
        # sequences are not transactional: the import takes ledger ids chunk by chunk
        import psycopg

        try:
            with psycopg.connect(self.url(label), connect_timeout=5) as conn:
                value, called = conn.execute(
                    "SELECT last_value, is_called FROM ledger_entry_id_seq"
                ).fetchone()
            return value if called else 0
        except psycopg.Error:
            return None

    def size_mb(self, label: str) -> float:
        with self._admin() as conn:
            (size,) = conn.execute("SELECT pg_database_size(%s)", (self.dbname(label),)).fetchone()
        return size / 2**20


# --- child processes -------------------------------------------------------------


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# A child's ru_maxrss on Linux is at least the high-water RSS of the process that
# spawned it (the address space it started from, before exec). This script's own RSS
# grows (the baseline rows), so children are spawned by a small launcher process
# started at the beginning; their peaks are then their own.
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "wb") as out, open(job["err"], "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(job["cmd"], stdout=out, stderr=err, env=job["env"], cwd=job["cwd"])
        print(json.dumps({"pid": proc.pid}), flush=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps({"wall": wall, "maxrss_kb": usage.ru_maxrss, "code": proc.returncode}),
          flush=True)
"""


class Launcher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def start(self, cmd: list[str], env: dict, cwd: Path, out: Path, err: Path) -> int:
        job = {"cmd": cmd, "env": env, "cwd": str(cwd), "out": str(out), "err": str(err)}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def finish(self) -> dict:
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


_launcher: Launcher | None = None


def run_child(
    cmd: list[str],
    env: dict,
    cwd: Path,
    *,
    timeout: float | None = None,
    every: float = 0,
    progress=None,
) -> tuple[float, float, int | None, str, str]:
    """(wall seconds, peak RSS MB, exit code or None when killed at the timeout, stdout,
    stderr) of one child process. Peak RSS is the child's ru_maxrss from wait4, taken by
    the launcher (see LAUNCHER).

    Every ``every`` seconds ``progress(elapsed, rss_mb)`` is called while it runs.
    """
    global _launcher
    if _launcher is None:
        _launcher = Launcher()
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        t0 = time.perf_counter()
        pid = _launcher.start(cmd, env, cwd, out, err)
        done = threading.Event()
        killed = threading.Event()

        def watch() -> None:
            step = min(x for x in (every or 3600, 1.0) if x > 0)
            next_report = every
            while not done.wait(step):
                elapsed = time.perf_counter() - t0
                if timeout is not None and elapsed > timeout and not killed.is_set():
                    killed.set()
                    os.kill(pid, signal.SIGKILL)  # only the child we started, by its pid
                if every and progress and elapsed >= next_report:
                    next_report += every
                    progress(elapsed, _rss_mb(pid))

        watcher = threading.Thread(target=watch, daemon=True)
        if timeout is not None or (every and progress):
            watcher.start()
        result = _launcher.finish()
        done.set()
        peak_mb = result["maxrss_kb"] / 1024  # KiB on Linux
        code = None if killed.is_set() else result["code"]
        return (
            result["wall"],
            peak_mb,
            code,
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )


def loyaltyctl_cmd(*args: str, profile: Path | None = None) -> list[str]:
    if profile is not None:
        return [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "loyaltyctl", *args]
    return [sys.executable, "-m", "loyaltyctl", *args]


# --- the benchmark ---------------------------------------------------------------


def bench_backend(backend: Backend, args, csv_path: Path, workdir: Path, env: dict) -> dict:
    now = datetime.now(UTC)
    log = lambda msg: print(f"  [{backend.name}] {msg}", file=sys.stderr, flush=True)  # noqa: E731

    log("creating the import database and its members")
    url = backend.create("import")
    backend.insert_members("import", args.members, now)
    profile = None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = args.profile / f"import-{backend.name}.prof"
    log(f"running points import of {args.rows:,} rows")
    cmd = loyaltyctl_cmd(
        "--database-url", url, "points", "import", str(csv_path), "--json", profile=profile
    )

    def report(elapsed: float, rss: float | None) -> None:
        done = backend.progress("import")
        rate = f", {done / elapsed:,.0f} rows/s" if done else ""
        rows = f", {done:,} ledger ids taken{rate}" if done is not None else ""
        log(f"  ... {elapsed:,.0f} s, RSS {'?' if rss is None else format(rss, '.0f')} MB{rows}")

    version_before = code_version()
    wall, peak, code, out, err = run_child(
        cmd, env, workdir, timeout=args.timeout, every=args.progress_every, progress=report
    )
    version_after = code_version()
    code_note = version_before
    if version_after != version_before:
        code_note = f"{version_before}, then {version_after} by the end (changed while it ran)"
    if code_note != args.code_version:
        log(f"code measured: {code_note}")
    finished = code is not None
    if not finished:
        done = backend.progress("import")
        log(
            f"import killed at the --timeout of {args.timeout:,.0f} s"
            + (f" after {done:,} of {args.rows:,} rows" if done is not None else "")
        )
    elif code != 0:
        raise SystemExit(f"points import failed on {backend.name} (exit {code}):\n{out}\n{err}")
    else:
        result = json.loads(out)
        if result.get("applied") != args.rows:
            raise SystemExit(f"points import applied {result.get('applied')} of {args.rows}: {out}")
        log(f"import: {wall:.1f} s, peak {peak:.0f} MB")
    import_size = backend.size_mb("import")

    verify = None
    if args.verify and finished:
        log("running audit verify")
        vwall, _vpeak, vcode, vout, verr = run_child(
            loyaltyctl_cmd("--database-url", url, "audit", "verify", "--json"), env, workdir
        )
        doc = json.loads(vout) if vout.strip() else {}
        verify = {
            "exit": vcode,
            "ok": doc.get("ok"),
            "ledger_entries": doc.get("ledger_entries"),
            "members": doc.get("members"),
            "seconds": vwall,
            "problems": doc.get("problems"),
            "stderr": verr.strip(),
        }
        log(f"audit verify: exit {vcode}, ok={doc.get('ok')}")
    if not args.keep:
        backend.drop("import")  # free the disk before the baseline

    log("creating the baseline database and its members")
    backend.create("baseline")
    backend.insert_members("baseline", args.members, now)
    log("inserting the same ledger rows with the raw driver")
    base = backend.baseline(
        "baseline",
        ledger_chunks(csv_path, args.members, now, isinstance(backend, SqliteBackend), "bench"),
    )
    log(f"baseline: {base:.1f} s")
    base_size = backend.size_mb("baseline")
    if not args.keep:
        backend.drop("baseline")
    return {
        "backend": backend.name,
        "rows": args.rows,
        "finished": finished,
        "code": code_note,
        "import_s": wall,
        "import_rps": args.rows / wall,
        "peak_mb": peak,
        "baseline_s": base,
        "baseline_rps": args.rows / base,
        "ratio": wall / base,
        "import_db_mb": import_size,
        "baseline_db_mb": base_size,
        "verify": verify,
        "profile": profile,
    }


def bench_startup(env: dict, cwd: Path, runs: int) -> dict:
    """Median wall time of each command; the commands take turns, so a busy moment on
    the machine hits all of them alike."""
    script = Path(sys.executable).with_name("loyaltyctl")
    help_cmd = [str(script), "--help"] if script.exists() else loyaltyctl_cmd("--help")
    cmds = {
        "help": help_cmd,
        "typer": [sys.executable, "-c", "import typer"],
        "bare": [sys.executable, "-c", "pass"],
    }
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for cmd in cmds.values():  # warm the file caches
        subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=True)
    for _ in range(runs):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(values) for name, values in times.items()}
    return {
        "help_cmd": " ".join([Path(help_cmd[0]).name, *help_cmd[1:]]),
        "help_s": med["help"],
        "typer_s": med["typer"],
        "bare_s": med["bare"],
        "ratio": med["help"] / med["typer"],
        "times": times,
    }


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_report(results: list[dict], startup: dict | None, args) -> None:
    print()
    print(f"load average at the end: {load_average()} (1, 5, 15 min; 2 cpus shared)")
    print(f"{args.code_version}; measured from {args.started} to {time.strftime('%H:%M:%S')}")
    print(
        f"points import: {args.rows:,} rows, {args.members:,} members, keys {args.keys}, "
        f"~10% expiring, write-offs {args.writeoffs:.0%} "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus)"
    )
    header = (
        f"{'backend':<11} {'rows':>10} {'import s':>9} {'rows/s':>9} {'peak MB':>8} "
        f"{'baseline s':>10} {'base rows/s':>11} {'ratio':>6}  targets (ratio<={TARGET_RATIO:g}, "
        f"peak<{TARGET_PEAK_MB:g} MB)"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if not r["finished"]:
            print(
                f"{r['backend']:<11} {r['rows']:>10,} {'>' + format(r['import_s'], '.0f'):>9} "
                f"{'<' + format(r['import_rps'], ',.0f'):>9} {r['peak_mb']:>8.1f} "
                f"{r['baseline_s']:>10.2f} {r['baseline_rps']:>11,.0f} "
                f"{'>' + format(r['ratio'], '.1f'):>6}  NOT FINISHED: killed at --timeout"
            )
            continue
        print(
            f"{r['backend']:<11} {r['rows']:>10,} {r['import_s']:>9.2f} {r['import_rps']:>9,.0f} "
            f"{r['peak_mb']:>8.1f} {r['baseline_s']:>10.2f} {r['baseline_rps']:>11,.0f} "
            f"{r['ratio']:>6.2f}  ratio {mark(r['ratio'] <= TARGET_RATIO)}, "
            f"peak {mark(r['peak_mb'] < TARGET_PEAK_MB)}"
        )
    for r in results:
        if r["code"] != args.code_version:
            print(f"  {r['backend']}: NOTE the import ran on {r['code']}")
        print(
            f"  {r['backend']}: database size after import {r['import_db_mb']:.0f} MB "
            f"(baseline, ledger_entry only: {r['baseline_db_mb']:.0f} MB)"
        )
        if r["verify"] is not None:
            v = r["verify"]
            print(
                f"  {r['backend']}: audit verify exit {v['exit']}, ok={v['ok']}, "
                f"{v['ledger_entries']} entries, {v['members']} members, {v['seconds']:.1f} s"
                + (f", problems: {v['problems']}" if v["problems"] else "")
                + (f", stderr: {v['stderr']}" if v["stderr"] else "")
            )
    if startup:
        print()
        print(f"start-up, median of {args.startup_runs} runs:")
        print(f"  {startup['help_cmd']:<28} {startup['help_s'] * 1000:8.0f} ms")
        typer_label = 'python -c "import typer"'
        print(f"  {typer_label:<28} {startup['typer_s'] * 1000:8.0f} ms")
        print(f"  {'python -c pass':<28} {startup['bare_s'] * 1000:8.0f} ms")
        print(
            f"  ratio --help / import typer: {startup['ratio']:.2f}  "
            f"(target <= {TARGET_RATIO:g}: {mark(startup['ratio'] <= TARGET_RATIO)})"
        )
    for r in results:
        if r["profile"]:
            print()
            print(f"cProfile of the {r['backend']} import ({r['profile']}), top by own time:")
            stats = pstats.Stats(str(r["profile"]), stream=sys.stdout)
            stats.sort_stats("tottime").print_stats(args.profile_top)
            print("... and by cumulative time:")
            stats.sort_stats("cumulative").print_stats(args.profile_top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (1,000,000)")
    parser.add_argument(
        "--members", type=int, default=None, help="members (default rows/10, at most 100,000)"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument(
        "--keys",
        choices=("derived", "explicit"),
        default="derived",
        help="empty key column, so keys are derived (default), or one explicit key per row",
    )
    parser.add_argument(
        "--writeoffs", type=float, default=0.02, help="share of write-off rows (0.02)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--verify", action="store_true", help="run `audit verify` on the imported database"
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="run the import under cProfile, into DIR"
    )
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="kill an import that runs longer than this many seconds (report it as unfinished)",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=60,
        help="log the running import's RSS (and PostgreSQL progress) every N seconds (60)",
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up timing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.members is None:
        args.members = max(1, min(100_000, args.rows // 10))

    args.code_version = code_version()
    args.started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{args.code_version}", file=sys.stderr)
    global _launcher
    _launcher = Launcher()  # while this process is still small
    workdir = Path(tempfile.mkdtemp(prefix="bench_import_"))
    env = child_env(workdir, leave_out=("PYTHONPROFILEIMPORTTIME",))
    results: list[dict] = []
    backends: list[Backend] = []
    try:
        csv_path = workdir / "points.csv"
        t0 = time.perf_counter()
        generate_csv(
            csv_path,
            args.rows,
            args.members,
            keys=args.keys,
            writeoffs=args.writeoffs,
            seed=args.seed,
        )
        print(
            f"generated {csv_path} ({csv_path.stat().st_size / 2**20:.0f} MB) "
            f"in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        if args.backend in ("sqlite", "both"):
            backends.append(SqliteImportBackend(workdir))
        if args.backend in ("postgresql", "both"):
            backends.append(PostgresImportBackend(f"bench_import_{os.getpid()}"))
        for backend in backends:
            results.append(bench_backend(backend, args, csv_path, workdir, env))
        startup = None
        if not args.no_startup:
            print("  timing start-up", file=sys.stderr)
            startup = bench_startup(env, workdir, args.startup_runs)
        print_report(results, startup, args)
    finally:
        cleanup_backends(backends)
        if _launcher is not None:
            _launcher.close()
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
