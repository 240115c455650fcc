#!/usr/bin/env python
"""Benchmark `quote` and `stats discounts` over a program of discount grants, against the
raw driver in the same run, on SQLite and PostgreSQL.

Not a test: it prints figures. For each backend it

1. makes a fresh database with the real schema and fills it (not timed): ``--members``
   members (the raw driver), 20 discounts (loyaltyctl's own ``apply``: store-wide,
   category and package scopes, exclusive groups, schedules, priorities), an order
   earning rule, and ``--grants`` grants spread evenly over the members (10 each by
   default; a tenth of them revoked, a tenth ended), plus ``--uses`` uses on orders,
   through the drivers' bulk paths;
2. times, taking turns, ``--ops`` quotes of a 20-line cart for a random member:
   - **quote** as the CLI runs it: ``Database.run(quote_cart, write=False)`` — a
     transaction of its own, the member, their grants with their discounts, the rules of
     application, the points preview (the order rules and the member's counters);
   - **raw read**: the same member and grant rows (``member LEFT JOIN discount_grant
     LEFT JOIN discount WHERE external_id = ?``, the statement quote sends, fetched) on
     a raw sqlite3 / psycopg connection (autocommit): what any implementation must read;
   and prints p50 / p99 of both and the ratio of the p99s (target: quote's p99 under
   20 ms);
3. times ``stats discounts`` (the service in its own read transaction: the kept figures,
   the grants fallen due since, the uses per day) against the same three statements on
   the raw driver (target: within 1 s).

The machine is shared: the load average is printed with the figures; compare ratios.

Usage:
    python bench/bench_quote.py          # 100,000 members, 1,000,000 grants, both backends
    python bench/bench_quote.py --members 10000 --grants 100000 --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bench_import  # members, the raw connections
from _common import Backend, cleanup_backends, code_version, remove_workdir

CHUNK = 50_000
TARGET_P99_MS = 20.0
TARGET_STATS_S = 1.0
CATEGORIES = ("coffee", "tea", "cups", "books")


def program_toml() -> str:
    tables = []
    for i in range(20):
        scope = (
            '{ type = "store" }'
            if i % 3 == 0
            else f'{{ type = "category", category = "{CATEGORIES[i % 4]}" }}'
            if i % 3 == 1
            else f'{{ type = "package", package = "SKU-{i:02d}" }}'
        )
        schedule = (
            'schedule = { weekdays = ["fri", "sat"], time_from = "22:00", time_until = "02:00" }\n'
            if i % 7 == 6
            else ""
        )
        group = f'exclusive_group = "g{i % 4}"\n' if i % 2 else ""
        tables.append(
            f'[[discount]]\nslug = "d{i:02d}"\nname = "Discount {i}"\npercent = {5 + i % 10}\n'
            f"{schedule}scopes = [{scope}]\n"
            f'triggers = [{{ type = "admin" }}]\nstack_with = ["discount", "coupon"]\n'
            f"priority = {i % 5}\n{group}"
        )
    tables.append(
        '[[earning_rule]]\nslug = "order-points"\nkind = "order"\npoints_per_unit = 1\n'
        'wait_days = 14\nlimit = { count = 5, per = "day" }\n'
    )
    return "\n".join(tables)


def cart(rng: random.Random) -> str:
    items = [
        {
            "sku": f"SKU-{rng.randrange(40):02d}",
            "category": CATEGORIES[rng.randrange(4)],
            "price": f"{rng.randint(100, 9999) / 100:.2f}",
            "quantity": rng.randint(1, 3),
            "sale": rng.random() < 0.1,
        }
        for _ in range(20)
    ]
    return json.dumps({"items": items, "shipping": "4.90"})


def grant_rows(
    members: int,
    per_member: int,
    discount_ids: list[int],
    now: datetime,
    sqlite: bool,
    figures: dict,
    pairs: list,
):
    """discount_grant rows: ``per_member`` distinct discounts per member; a tenth ended
    (and recorded so by `maintain run`), a tenth revoked, a tenth ending later. The kept
    figures of the open ones go to ``figures`` (discount id -> [grants, members, uses,
    users]) and ``pairs`` (discount_member rows)."""
    rng = random.Random(7)
    stamp = (
        (lambda t: t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"))
        if sqlite
        else (lambda t: t)
    )
    since = stamp(now - timedelta(days=60))
    ended = stamp(now - timedelta(days=1))
    later = stamp(now + timedelta(days=300))
    chunk = []
    grant_id = 0
    for member in range(1, members + 1):
        for discount_id in rng.sample(discount_ids, per_member):
            grant_id += 1
            kind = grant_id % 10
            open_ = kind not in (1, 3)
            if open_:  # the kept figures, as the grants' writes keep them
                figures[discount_id][0] += 1
                figures[discount_id][1] += 1
                pairs.append((discount_id, member, 1, 0))
            chunk.append(
                (
                    grant_id,
                    discount_id,
                    member,
                    "admin",
                    "bench",
                    since,
                    ended if kind == 1 else later if kind == 2 else None,
                    ended if kind == 3 else None,
                    ended if kind == 1 else None,  # ended_at: maintain run has run
                    since,
                )
            )
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


GRANT_COLUMNS = (
    "id, discount_id, member_id, source, operator, since, until, revoked_at, ended_at, created_at"
)
MEMBER_FIGURE_COLUMNS = "discount_id, member_id, grants, uses"
SUMMARY_COLUMNS = "discount_id, grants, members, uses, users"
USE_COLUMNS = "id, discount_id, member_id, order_id, at, day"


def use_rows(uses: int, members: int, discount_ids: list[int], now: datetime, sqlite: bool):
    rng = random.Random(11)
    rows = []
    for i in range(1, uses + 1):
        at = now - timedelta(days=rng.randrange(90), minutes=rng.randrange(1440))
        rows.append(
            (
                i,
                rng.choice(discount_ids),
                rng.randint(1, members),
                f"O-{i}",
                at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at,
                at.date().isoformat(),
            )
        )
    return rows


def fill(backend, label: str, args, workdir: Path) -> tuple[str, list[int]]:
    from loyaltyctl.program.files import read_program_files
    from loyaltyctl.services.apply import apply_program
    from loyaltyctl.store.db import Database

    now = datetime.now(UTC)
    url = backend.create(label)
    backend.insert_members(label, args.members, now)
    toml = workdir / "program.toml"
    toml.write_text(program_toml(), encoding="utf-8")
    files = read_program_files([toml], env={}, tz=ZoneInfo("UTC"))
    db = Database(url)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="bench"))
    db.dispose()
    sqlite = backend.name == "sqlite"
    conn = backend.connect(label)
    ids = [row[0] for row in conn.execute("SELECT id FROM discount ORDER BY id").fetchall()]
    per_member = max(1, args.grants // args.members)
    figures = {discount_id: [0, 0, 0, 0] for discount_id in ids}
    pairs: list = []
    grants = grant_rows(args.members, per_member, ids, now, sqlite, figures, pairs)
    uses = use_rows(args.uses, args.members, ids, now, sqlite)

    def kept():
        """discount_member and discount_summary rows, once the grants and uses are made."""
        merged: dict[tuple[int, int], list[int]] = {}
        for discount_id, member, g, u in pairs:
            entry = merged.setdefault((discount_id, member), [0, 0])
            entry[0] += g
            entry[1] += u
        for _id, discount_id, member, *_rest in uses:
            entry = merged.setdefault((discount_id, member), [0, 0])
            if entry[1] == 0:
                figures[discount_id][3] += 1
            entry[1] += 1
            figures[discount_id][2] += 1
        members = [(d, m, g, u) for (d, m), (g, u) in merged.items()]
        summary = [(d, *f) for d, f in figures.items()]
        return members, summary

    if sqlite:
        conn.execute("BEGIN IMMEDIATE")
        for chunk in grants:
            conn.executemany(
                f"INSERT INTO discount_grant ({GRANT_COLUMNS}) VALUES ({','.join('?' * 10)})",
                chunk,
            )
        conn.executemany(
            f"INSERT INTO discount_use ({USE_COLUMNS}) VALUES ({','.join('?' * 6)})", uses
        )
        members, summary = kept()
        conn.executemany(
            f"INSERT INTO discount_member ({MEMBER_FIGURE_COLUMNS}) VALUES (?, ?, ?, ?)", members
        )
        conn.executemany(
            f"INSERT INTO discount_summary ({SUMMARY_COLUMNS}) VALUES (?, ?, ?, ?, ?)", summary
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    else:
        with conn.cursor() as cur:
            with cur.copy(f"COPY discount_grant ({GRANT_COLUMNS}) FROM STDIN") as copy:
                for chunk in grants:
                    for row in chunk:
                        copy.write_row(row)
            with cur.copy(f"COPY discount_use ({USE_COLUMNS}) FROM STDIN") as copy:
                for row in uses:
                    copy.write_row(row)
            members, summary = kept()
            with cur.copy(f"COPY discount_member ({MEMBER_FIGURE_COLUMNS}) FROM STDIN") as copy:
                for row in members:
                    copy.write_row(row)
            with cur.copy(f"COPY discount_summary ({SUMMARY_COLUMNS}) FROM STDIN") as copy:
                for row in summary:
                    copy.write_row(row)
            cur.execute(
                "SELECT setval('discount_grant_id_seq', (SELECT MAX(id) FROM discount_grant))"
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE discount_grant")
        conn.execute("VACUUM ANALYZE discount_use")
        conn.execute("VACUUM ANALYZE discount_member")
    conn.close()
    return url, ids


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_backend(backend, args, workdir: Path) -> dict:
    from loyaltyctl.domain.cart import parse_cart
    from loyaltyctl.services.discounts.figures import discount_stats
    from loyaltyctl.services.discounts.quoting import quote_cart
    from loyaltyctl.store.db import Database

    t0 = time.perf_counter()
    url, _ids = fill(backend, "quote", args, workdir)
    filled = time.perf_counter() - t0
    db = Database(url)
    raw = backend.connect("quote")
    if backend.name == "postgresql":
        from sqlalchemy import event

        raw.autocommit = True
        # parsed and planned each time on both sides, as a CLI process runs each statement
        # once (in a long loop a read transaction's ROLLBACK would cost the service a
        # DEALLOCATE ALL and a new PREPARE on every call)
        raw.prepare_threshold = None
        event.listen(db.engine, "connect", lambda conn, _: setattr(conn, "prepare_threshold", None))
    mark = "?" if backend.name == "sqlite" else "%s"
    # the member and their grants with their discounts: what any quote must read
    grants_sql = (
        "SELECT m.id, m.external_id, m.tier, d.slug, d.name, d.percent, d.enabled, "
        "d.schedule, d.scopes, d.triggers, d.stack_with, d.priority, d.exclusive_group, "
        "g.since, g.until, g.revoke_at, g.revoked_at FROM member m "
        "LEFT JOIN discount_grant g ON g.member_id = m.id "
        "LEFT JOIN discount d ON d.id = g.discount_id "
        f"WHERE m.external_id = {mark} ORDER BY g.id"
    )
    rng = random.Random(3)
    carts = [parse_cart(cart(rng)) for _ in range(50)]
    tz = ZoneInfo("UTC")
    quoted, rawed = [], []
    held = 0
    for n in range(args.ops + 20):  # the first 20 warm up
        member = bench_import.external_id(rng.randint(1, args.members))
        basket = carts[n % len(carts)]
        t = time.perf_counter()
        result = db.run(
            lambda s, m=member, b=basket: quote_cart(session=s, member=m, cart=b, tz=tz),
            write=False,
        )
        spent_quote = time.perf_counter() - t
        t = time.perf_counter()
        rows = raw.execute(grants_sql, (member,)).fetchall()
        spent_raw = time.perf_counter() - t
        if n >= 20:
            quoted.append(spent_quote * 1000)
            rawed.append(spent_raw * 1000)
            held += len(rows)
        assert result.quote.lines
    stats_runs, raw_stats = [], []
    for _ in range(args.stats_runs):
        t = time.perf_counter()
        db.run(lambda s: discount_stats(session=s, tz=tz), write=False)
        stats_runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        now = datetime.now(UTC)
        stamp = (
            now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            if backend.name == "sqlite"
            else now
        )
        raw.execute(
            "SELECT discount_id, grants, members, uses, users FROM discount_summary"
        ).fetchall()
        raw.execute(
            "SELECT g.discount_id, g.member_id, COUNT(*), MIN(h.grants) FROM discount_grant g "
            "JOIN discount_member h ON h.discount_id = g.discount_id "
            "AND h.member_id = g.member_id WHERE g.revoked_at IS NULL AND g.ended_at IS NULL "
            "AND g.id IN (SELECT id FROM discount_grant WHERE ended_at IS NULL "
            f"AND revoked_at IS NULL AND until <= {mark} UNION SELECT id FROM discount_grant "
            f"WHERE revoked_at IS NULL AND revoke_at <= {mark} "
            f"UNION SELECT id FROM discount_grant WHERE since > {mark}) "
            "GROUP BY g.discount_id, g.member_id",
            (stamp,) * 3,
        ).fetchall()
        raw.execute("SELECT day, COUNT(*) FROM discount_use GROUP BY day ORDER BY day").fetchall()
        raw_stats.append(time.perf_counter() - t)
    raw.close()
    db.dispose()
    backend.drop("quote")
    return {
        "backend": backend.name,
        "filled_s": filled,
        "grants_per_member": held / max(1, len(quoted)),
        "quote_p50": percentile(quoted, 0.5),
        "quote_p99": percentile(quoted, 0.99),
        "raw_p50": percentile(rawed, 0.5),
        "raw_p99": percentile(rawed, 0.99),
        "stats_s": statistics.median(stats_runs),
        "raw_stats_s": statistics.median(raw_stats),
    }


class SqliteQuote(bench_import.SqliteImportBackend):
    pass


class PostgresQuote(bench_import.PostgresImportBackend):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--grants", type=int, default=1_000_000)
    parser.add_argument("--uses", type=int, default=200_000)
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--stats-runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_quote_"))
    backends: list[Backend] = []
    if args.backend in ("sqlite", "both"):
        backends.append(SqliteQuote(workdir))
    if args.backend in ("postgresql", "both"):
        backends.append(PostgresQuote(f"bench_quote_{os.getpid()}"))
    print(
        f"{code_version()}; {args.members:,} members, {args.grants:,} grants, {args.uses:,} uses;"
        f" {args.ops} quotes of a 20-line cart; load average {os.getloadavg()[0]:.2f}"
    )
    try:
        for backend in backends:
            r = bench_backend(backend, args, workdir)
            ratio = r["quote_p99"] / r["raw_p99"] if r["raw_p99"] else float("inf")
            ok = "ok" if r["quote_p99"] < TARGET_P99_MS else "OVER TARGET"
            print(
                f"{r['backend']:>10}: filled in {r['filled_s']:.0f} s;"
                f" {r['grants_per_member']:.1f} grants per member quoted\n"
                f"            quote     p50 {r['quote_p50']:6.2f} ms  p99 {r['quote_p99']:6.2f} ms"
                f"  ({ok}: < {TARGET_P99_MS:.0f} ms)\n"
                f"            raw read  p50 {r['raw_p50']:6.2f} ms  p99 {r['raw_p99']:6.2f} ms"
                f"  ratio of p99s {ratio:.1f}x\n"
                f"            stats discounts {r['stats_s']:.2f} s"
                f" ({'ok' if r['stats_s'] < TARGET_STATS_S else 'OVER TARGET'}: < 1 s);"
                f" raw queries {r['raw_stats_s']:.2f} s\n"
                f"            load average now {os.getloadavg()[0]:.2f}"
            )
            sys.stdout.flush()
    finally:
        cleanup_backends(backends)
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
