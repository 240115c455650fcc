#!/usr/bin/env python
"""Benchmark `coupon check`, `coupon use` and `coupon export` over a program of issued
coupons, against the raw driver in the same run, on SQLite and PostgreSQL.

Not a test: it prints figures. For each backend it

1. makes a fresh database with the real schema and fills it (not timed) with
   ``--members`` members (the raw driver), three coupon perks (loyaltyctl's own
   ``apply``) and ``--coupons`` coupons, each with its claim, written through the
   drivers' bulk paths in chunks: a real code of the generated codes' shape with its
   check symbol, its keyed hash (HMAC-SHA256, the key file's lookup key) and its AES-GCM
   ciphertext bound to the claim, exactly what the service reads; 10% used on an
   order, 10% expired, 30% expiring later;
2. times, taking turns in rounds (``--rounds``, median of each), ``--ops`` operations
   of each:
   - **raw lookup** (the baseline the issue names): the code normalised, its keyed hash,
     ``SELECT ... FROM coupon WHERE code_hash = ?`` on a raw sqlite3 / psycopg
     connection (autocommit), the row fetched;
   - **check** as the CLI runs it: ``Database.run(check_coupon, write=False)`` — a
     transaction of its own, the cart given, the coupon found, the rules, the spread;
   - **check in a transaction**: the same service call inside one open transaction
     (the service's own work, without the transaction's set-up);
   - **use** as the CLI runs it: ``Database.run(use_coupon)`` on a fresh coupon and
     order each time (lookup, rules, conditional UPDATE, audit event, commit);
   - **raw use**: the same writes by hand on the raw connection, one transaction each
     (BEGIN [IMMEDIATE], the lookup, the conditional UPDATE, the kept figures' shard,
     the audit event and its chain head, COMMIT), with loyaltyctl's pragmas on SQLite;
3. runs ``loyaltyctl coupon export --out FILE`` as a child process over every coupon
   and over one perk's third (wall time and peak RSS through the launcher of
   bench_import.py; target: the peak flat in the count) and the raw baseline of the
   export (a child: raw cursor, decrypt, csv) for its speed;
4. times the coupon figures of ``stats overview`` against the same SQL on the raw
   driver.

Usage:
    python bench/bench_coupons.py                                   # 1,000,000 coupons, both
    python bench/bench_coupons.py --coupons 50000 --backend sqlite  # quick check
    python bench/bench_coupons.py --backend postgresql --ops 500 --rounds 5
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench_import  # the child-process launcher (peak RSS of children), members
from _common import (
    Backend,
    child_env,
    cleanup_backends,
    code_version,
    remove_workdir,
)

CHUNK = 50_000
STATUSES = ("active", "used", "cancelled")
TARGET_RATIO = 3.0
PERKS_TOML = """
[[perk]]
slug = "bench-ten"
name = "$10 off"
price = 100
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "fixed"
amount = "10.00"
min_purchase = "25.00"

[[perk]]
slug = "bench-percent"
name = "15% off"
price = 150
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "percent"
percent = 15
collections = ["summer"]

[[perk]]
slug = "bench-shipping"
name = "Free shipping"
price = 80
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "free_shipping"
max_shipping = "15.00"
"""
TERMS = {  # perk -> kind, amount, percent, min_purchase, max_shipping, collections
    "bench-ten": ("fixed", "10.00", None, "25.00", None, "[]"),
    "bench-percent": ("percent", None, "15", None, None, '["summer"]'),
    "bench-shipping": ("free_shipping", None, None, None, "15.00", "[]"),
}
CART = {
    "items": [
        {"sku": "HAT", "price": "30.00", "quantity": 1, "collections": ["summer"]},
        {"sku": "SHIRT", "price": "19.99", "quantity": 2},
    ],
    "shipping": "4.90",
}
LOOKUP_SQL = (
    "SELECT claim_id, code_tail, kind, amount, percent, min_purchase, max_shipping, product, "
    "variants, collections, status, issued_at, expires_at, order_id, used_at, member_id "
    "FROM coupon WHERE code_hash = {p}"
)
CLAIM_COLUMNS = (
    "id",
    "perk_id",
    "member_id",
    "at",
    "points",
    "status",
    "operator",
    "certificate_id",
    "certificate",
    "day",
)
COUPON_COLUMNS = (
    "claim_id",
    "perk_id",
    "member_id",
    "code_hash",
    "code_enc",
    "code_tail",
    "kind",
    "amount",
    "percent",
    "min_purchase",
    "max_shipping",
    "product",
    "variants",
    "collections",
    "points",
    "issued_at",
    "expires_at",
    "status",
    "order_id",
    "used_at",
    "updated_at",
)


# --- the program ---------------------------------------------------------------------


class Codes:
    """Codes of the generated codes' shape (11 random symbols and the check symbol),
    made in bulk from os.urandom like `promo generate`, with their hashes and
    ciphertexts."""

    def __init__(self, keys) -> None:
        from loyaltyctl.domain import promo

        self.promo = promo
        self.hasher = keys.lookup_hasher()
        self.seal = keys.sealer()
        self.symbol_of_byte = bytes(promo.ALPHABET[b % 32].encode()[0] for b in range(256))

    def make(self, count: int) -> list[str]:
        symbols = os.urandom(count * 11).translate(self.symbol_of_byte).decode()
        check = self.promo.check_symbol
        bodies = [symbols[i * 11 : (i + 1) * 11] for i in range(count)]
        return [self.promo.display(body + check(body)) for body in bodies]


def claim_id(i: int) -> str:
    return f"B{i:09d}"


def program_chunks(count: int, members: int, perk_ids: dict, keys, now: datetime, sqlite: bool):
    """(claim rows, coupon rows, the active never-expiring codes of the chunk) per chunk."""
    codes = Codes(keys)
    rng = random.Random(7)
    stamp = (
        (lambda t: None if t is None else t.replace(tzinfo=None).isoformat(" "))
        if sqlite
        else (lambda t: t)
    )
    slugs = list(TERMS)
    certificate = json.dumps({"certificate_id": "x" * 13, "signature": "s" * 88, "pad": "p" * 200})
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        made = codes.make(size)
        claims, coupons, fresh = [], [], []
        for n, code in enumerate(made):
            i = start + n
            cid, slug = claim_id(i), slugs[i % 3]
            member = 1 + i % members
            issued = now - timedelta(days=rng.randint(1, 300))
            roll = rng.random()
            status, order, used, expires = "active", None, None, None
            if roll < 0.10:
                status, order, used = "used", f"ORD-{i}", issued + timedelta(days=1)
            elif roll < 0.20:
                expires = now - timedelta(days=rng.randint(1, 30))
            elif roll < 0.50:
                expires = now + timedelta(days=rng.randint(1, 300))
            elif len(fresh) < 5000:
                fresh.append(code)
            normalized = codes.promo.normalize(code)
            kind, amount, percent, min_purchase, max_shipping, collections = TERMS[slug]
            claims.append(
                (
                    cid,
                    perk_ids[slug],
                    member,
                    stamp(issued),
                    100,
                    "active",
                    "bench",
                    f"CT-{cid}",
                    certificate,
                    issued.date().isoformat(),
                )
            )
            coupons.append(
                (
                    cid,
                    perk_ids[slug],
                    member,
                    codes.hasher(normalized),
                    codes.seal(code, f"coupon:{cid}"),
                    normalized[-4:],
                    kind,
                    amount,
                    percent,
                    min_purchase,
                    max_shipping,
                    None,
                    "[]",
                    collections,
                    100,
                    stamp(issued),
                    stamp(expires),
                    status,
                    order,
                    stamp(used),
                    stamp(issued),
                )
            )
        yield claims, coupons, fresh


def fill(backend, label: str, url: str, args, keys, now: datetime) -> list[str]:
    """Members, perks and coupons; returns the sample of active codes."""
    from zoneinfo import ZoneInfo

    from loyaltyctl.program.files import read_program_files
    from loyaltyctl.services.apply import apply_program
    from loyaltyctl.store.coupons import shard_of
    from loyaltyctl.store.db import Database

    backend.insert_members(label, args.members, now)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "perks.toml"
        path.write_text(PERKS_TOML)
        files = read_program_files([path], env={}, tz=ZoneInfo("UTC"))
        db = Database(url)
        db.run(lambda s: apply_program(session=s, program=files, keys=lambda: keys, operator="b"))
        db.dispose()
    conn = backend.connect(label)
    sqlite = backend.name == "sqlite"
    p = "?" if sqlite else "%s"
    perk_ids = dict(conn.execute("SELECT slug, id FROM perk").fetchall())
    sample: list[str] = []
    kept: dict[int, list[int]] = {}  # shard -> coupons active, used, cancelled
    t0 = time.perf_counter()
    if sqlite:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("SET session_replication_role = replica")  # no FK triggers while filling
    for claims, coupons, fresh in program_chunks(
        args.coupons, args.members, perk_ids, keys, now, sqlite
    ):
        if sqlite:
            conn.executemany(
                f"INSERT INTO claim ({','.join(CLAIM_COLUMNS)}) VALUES ({','.join([p] * 10)})",
                claims,
            )
            conn.executemany(
                f"INSERT INTO coupon ({','.join(COUPON_COLUMNS)}) VALUES ({','.join([p] * 21)})",
                coupons,
            )
        else:
            with conn.cursor() as cur:
                for table, columns, rows in (
                    ("claim", CLAIM_COLUMNS, claims),
                    ("coupon", COUPON_COLUMNS, coupons),
                ):
                    with cur.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
        sample.extend(fresh)
        for row in coupons:  # claim id, ..., status at 17
            kept.setdefault(shard_of(row[0]), [0, 0, 0])[STATUSES.index(row[17])] += 1
        print(
            f"  {backend.name}: {len(sample)} samples, {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
    # the kept figures, each coupon in its shard (as the writes and migration 0007 keep them)
    conn.execute("DELETE FROM coupon_summary")
    rows = [(shard, *counts) for shard, counts in sorted(kept.items())]
    insert = (
        f"INSERT INTO coupon_summary (shard, active, used, cancelled) VALUES ({p}, {p}, {p}, {p})"
    )
    if sqlite:
        conn.executemany(insert, rows)
    else:
        with conn.cursor() as cur:
            cur.executemany(insert, rows)
    if sqlite:
        conn.execute("COMMIT")
        conn.execute("PRAGMA synchronous=FULL")
    else:
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE claim")
        conn.execute("VACUUM ANALYZE coupon")
    conn.close()
    print(
        f"  {backend.name}: filled {args.coupons:,} coupons in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    random.Random(3).shuffle(sample)
    return sample


# --- the timed operations ------------------------------------------------------------------


def per_op(run, items) -> float:
    """Seconds per item of ``run(item)`` over ``items``."""
    t0 = time.perf_counter()
    for item in items:
        run(item)
    return (time.perf_counter() - t0) / len(items)


class Raw:
    """The raw driver's side: a sqlite3 connection with loyaltyctl's pragmas, or psycopg."""

    def __init__(self, backend, label: str, keys) -> None:
        from loyaltyctl.domain.promo import normalize
        from loyaltyctl.store.coupons import shard_of

        self.shard_of = shard_of

        self.sqlite = backend.name == "sqlite"
        self.conn = backend.connect(label)
        if self.sqlite:
            self.conn.execute("PRAGMA busy_timeout=5000")
        else:
            self.conn.autocommit = True
            self.conn.prepare_threshold = None  # parsed and planned each time, as the service
        self.normalize, self.hasher = normalize, keys.lookup_hasher()
        self.p = "?" if self.sqlite else "%s"
        self.lookup_sql = LOOKUP_SQL.format(p=self.p)

    def lookup(self, code: str):
        row = self.conn.execute(self.lookup_sql, (self.hasher(self.normalize(code)),)).fetchone()
        assert row is not None
        return row

    def lookup_in_tx(self, code: str):
        """The lookup in a transaction of its own, as a read command makes one."""
        self.conn.execute("BEGIN")
        row = self.lookup(code)
        self.conn.execute("COMMIT")
        return row

    def use(self, job: tuple[str, str]) -> None:
        import hashlib

        code, order = job
        now = datetime.now(UTC)
        at = now.replace(tzinfo=None).isoformat(" ") if self.sqlite else now
        p, conn = self.p, self.conn
        conn.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        row = conn.execute(self.lookup_sql, (self.hasher(self.normalize(code)),)).fetchone()
        changed = conn.execute(
            f"UPDATE coupon SET status = 'used', order_id = {p}, used_at = {p}, updated_at = {p} "
            f"WHERE claim_id = {p} AND status = 'active' "
            f"AND (expires_at IS NULL OR expires_at > {p})",
            (order, at, at, row[0], at),
        ).rowcount
        assert changed == 1
        conn.execute(
            f"UPDATE coupon_summary SET active = active - 1, used = used + 1 WHERE shard = {p}",
            (self.shard_of(row[0]),),
        )
        subject = f"coupon:{row[0]}"
        details = json.dumps({"order_id": order, "member": "x", "coupon": "****-" + row[1]})
        digest = hashlib.sha256(f"{subject}{order}{details}".encode()).hexdigest()
        conn.execute(
            "INSERT INTO audit_event (subject, seq, at, operator, action, reason, details, "
            f"prev_hash, hash) VALUES ({p}, 1, {p}, 'bench', 'coupon.use', {p}, {p}, {p}, {p})",
            (subject, at, f"used on order {order}", details, "0" * 64, digest),
        )
        conn.execute(
            f"INSERT INTO audit_chain (subject, seq, head) VALUES ({p}, 1, {p})", (subject, digest)
        )
        conn.execute("COMMIT")

    def figures(self, now: datetime):
        """The figures counted from the coupons themselves (what the kept rows spare)."""
        at = now.replace(tzinfo=None).isoformat(" ") if self.sqlite else now
        return self.conn.execute(
            "SELECT COUNT(*), SUM(CASE WHEN status = 'used' THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN status = 'active' AND expires_at <= {self.p} THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) FROM coupon",
            (at,),
        ).fetchone()

    def close(self) -> None:
        self.conn.close()


def time_hot_path(backend, label: str, url: str, keys, sample: list[str], args) -> dict:
    """Median seconds per operation of each kind, the kinds taking turns in rounds."""
    from loyaltyctl.domain.cart import parse_cart
    from loyaltyctl.services.coupons.checkout import check_coupon, use_coupon
    from loyaltyctl.store.db import Database

    cart = parse_cart(json.dumps(CART))
    ops, rounds = args.ops, args.rounds
    checks, fresh = sample[:ops], iter(sample[ops:])
    if len(sample) < ops + 2 * ops * rounds:
        raise SystemExit(
            f"{len(sample)} fresh coupons are too few for --ops {ops} x --rounds {rounds}"
        )
    db, raw = Database(url), Raw(backend, label, keys)
    if not db.is_sqlite:
        # as in the CLI, where each statement runs once per process: psycopg prepares a
        # statement on its 5th run, and a read transaction's ROLLBACK then costs a
        # DEALLOCATE ALL round trip (and the next run a new PREPARE)
        from sqlalchemy import event

        event.listen(db.engine, "connect", lambda conn, _: setattr(conn, "prepare_threshold", None))
    orders = iter(range(10**9))

    def check(code):
        return db.run(
            lambda s: check_coupon(session=s, keys=keys, code=code, cart=cart),
            write=False,
            rollback=True,
        )

    def check_in_tx(codes):
        with db.transaction(write=False, rollback=True) as s:
            return per_op(
                lambda code: check_coupon(session=s, keys=keys, code=code, cart=cart), codes
            )

    def use(code):
        order = f"B-{next(orders)}"
        return db.run(
            lambda s: use_coupon(
                session=s, keys=keys, code=code, order_id=order, cart=cart, operator="bench"
            )
        )

    for code in checks[:20]:  # warm: statement caches, prepared statements, the pool
        raw.lookup(code)
        check(code)
    times: dict[str, list[float]] = {
        k: [] for k in ("raw", "raw_tx", "check", "check_tx", "use", "raw_use")
    }
    for _ in range(rounds):
        times["raw"].append(per_op(raw.lookup, checks))
        times["raw_tx"].append(per_op(raw.lookup_in_tx, checks))
        times["check"].append(per_op(check, checks))
        times["check_tx"].append(check_in_tx(checks))
        times["use"].append(per_op(use, [next(fresh) for _ in range(ops)]))
        times["raw_use"].append(
            per_op(raw.use, [(next(fresh), f"R-{next(orders)}") for _ in range(ops)])
        )
    figures = time_figures(db, raw, rounds)
    raw.close()
    db.dispose()
    return {k: statistics.median(v) for k, v in times.items()} | figures


def time_figures(db, raw: Raw, rounds: int) -> dict:
    """The coupon figures of `stats overview` against the same SQL on the raw driver."""
    from loyaltyctl.services.coupons.listing import coupon_figures

    now = datetime.now(UTC)
    service, plain = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        found = db.run(lambda s: coupon_figures(session=s, now=now), write=False, rollback=True)
        service.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        row = raw.figures(now)
        plain.append(time.perf_counter() - t0)
    assert (found.issued, found.used, found.expired, found.cancelled) == tuple(int(v) for v in row)
    return {"figures": statistics.median(service), "raw_figures": statistics.median(plain)}


# --- the export ------------------------------------------------------------------------------


def export_baseline_child(url: str, keys_file: str, out: str) -> None:
    """The raw export: one cursor, each code decrypted, a CSV line per coupon."""
    from loyaltyctl import crypto
    from loyaltyctl.services.coupons.listing import EXPORT_COLUMNS

    keys = crypto.load(Path(keys_file))
    open_ = keys.opener()
    sql = (
        "SELECT c.claim_id, c.code_enc, c.kind, c.amount, c.percent, c.min_purchase, "
        "c.max_shipping, c.product, c.variants, c.collections, c.expires_at, m.external_id "
        "FROM coupon c JOIN member m ON m.id = c.member_id ORDER BY c.issued_at, c.claim_id"
    )
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        rows = conn.execute(sql)
    else:
        import psycopg

        conn = psycopg.connect(url)
        rows = conn.cursor(name="export")
        rows.itersize = 5000
        rows.execute(sql)
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)  # the same header `coupon export` writes
        for claim, sealed, *terms, variants, collections, expires, member in rows:
            writer.writerow(
                (
                    open_(sealed, f"coupon:{claim}"),
                    *terms,
                    ";".join(json.loads(variants)),
                    ";".join(json.loads(collections)),
                    expires,
                    member,
                )
            )
    conn.close()


def time_export(url: str, env: dict, workdir: Path, keys_file: Path) -> dict:
    """The CLI's export of every coupon and of one perk's, and the raw export."""
    found = {}
    for name, extra in (("export_all", ()), ("export_perk", ("--perk", "bench-ten"))):
        out = workdir / f"{name}.csv"
        cmd = bench_import.loyaltyctl_cmd(
            "--database-url", url, "coupon", "export", "--out", str(out), "--json", *extra
        )
        wall, peak, code, stdout, stderr = bench_import.run_child(cmd, env, workdir)
        if code != 0:
            raise SystemExit(f"coupon export failed ({code}): {stderr[-2000:]}")
        found[name] = (json.loads(stdout)["count"], wall, peak)
        out.unlink()
    out = workdir / "baseline.csv"
    cmd = [sys.executable, __file__, "--export-baseline-child", url, str(keys_file), str(out)]
    wall, peak, code, _stdout, stderr = bench_import.run_child(cmd, env, workdir)
    if code != 0:
        raise SystemExit(f"the raw export failed ({code}): {stderr[-2000:]}")
    found["export_raw"] = (sum(1 for _ in out.open()) - 1, wall, peak)
    out.unlink()
    return found


# --- the run -----------------------------------------------------------------------------------


class SqliteCoupons(bench_import.SqliteImportBackend):
    pass


class PostgresCoupons(bench_import.PostgresImportBackend):
    pass


def bench_backend(backend, args, workdir: Path, keys, keys_file: Path) -> dict:
    label = "coupons"
    url = backend.create(label)
    now = datetime.now(UTC)
    print(f"{backend.name}: filling {args.coupons:,} coupons ...", file=sys.stderr)
    sample = fill(backend, label, url, args, keys, now)
    env = child_env(workdir, keys_file)
    print(f"{backend.name}: timing check / use ...", file=sys.stderr)
    result = {"backend": backend.name, "coupons": args.coupons}
    result |= time_hot_path(backend, label, url, keys, sample, args)
    if not args.no_export:
        print(f"{backend.name}: timing the export ...", file=sys.stderr)
        result |= time_export(url, env, workdir, keys_file)
    if not args.keep:
        backend.drop(label)
    return result


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}"


def print_report(results: list[dict], args) -> None:
    print(
        f"\n{code_version()}; {args.coupons:,} coupons, {args.members:,} members, "
        f"{args.ops} operations x {args.rounds} rounds (median)\n"
    )
    print(
        "| backend | raw lookup µs | check in a tx µs | ratio | raw lookup in its own tx µs "
        "| check in its own tx µs | ratio to lookup | ratio to lookup in own tx | use µs "
        "| ratio to lookup | raw use µs | ratio to raw use |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        raw = r["raw"]
        print(
            f"| {r['backend']} | {us(raw)} | {us(r['check_tx'])} | {r['check_tx'] / raw:.1f} "
            f"| {us(r['raw_tx'])} | {us(r['check'])} | {r['check'] / raw:.1f} "
            f"| {r['check'] / r['raw_tx']:.1f} | {us(r['use'])} | {r['use'] / raw:.1f} "
            f"| {us(r['raw_use'])} | {r['use'] / r['raw_use']:.1f} |"
        )
    print(f"\ntarget: within {TARGET_RATIO:.0f}x of the raw lookup\n")
    print("| backend | coupon figures of stats overview ms | counted from the coupons ms |")
    print("|---|---:|---:|")
    for r in results:
        print(f"| {r['backend']} | {r['figures'] * 1e3:.1f} | {r['raw_figures'] * 1e3:.1f} |")
    if args.no_export:
        return
    print("\n| backend | export | coupons | s | coupons/s | peak MB |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        for name in ("export_perk", "export_all", "export_raw"):
            count, wall, peak = r[name]
            print(
                f"| {r['backend']} | {name.removeprefix('export_')} | {count:,} | {wall:.1f} "
                f"| {count / wall:,.0f} | {peak:.0f} |"
            )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--export-baseline-child":
        export_baseline_child(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coupons", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    from loyaltyctl import crypto

    bench_import._launcher = bench_import.Launcher()  # while this process is still small
    workdir = Path(tempfile.mkdtemp(prefix="bench_coupons_"))
    keys_file = workdir / "keys.toml"
    keys, _ = crypto.create(keys_file, exist_ok=False)
    backends: list[Backend] = []
    if args.backend in ("sqlite", "both"):
        backends.append(SqliteCoupons(workdir))
    if args.backend in ("postgresql", "both"):
        backends.append(PostgresCoupons(f"bench_coupons_{os.getpid()}"))
    results = []
    try:
        for backend in backends:
            results.append(bench_backend(backend, args, workdir, keys, keys_file))
        print_report(results, args)
    finally:
        if not args.keep:
            cleanup_backends(backends)
        bench_import._launcher.close()
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
