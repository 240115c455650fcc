#!/usr/bin/env python
"""Benchmark the statistics reports (`stats overview | claims | members | promo`) on a
generated program, against hand-written SQL for the same figures, on SQLite and PostgreSQL.

Not a test: it prints figures. For each backend it

1. makes a fresh database with the real schema (Alembic ``upgrade``) and fills it with
   the drivers' fastest bulk paths (sqlite3 ``executemany``, psycopg ``COPY``), streamed
   in chunks: a year of ledger entries in time order (credits, claims, write-offs,
   expiries, promo credits, claim refunds), the claims and promo redemptions those
   entries belong to, expiring and pending lots, the members with balances equal to the
   sums of their entries; then fills the summaries with SQL, as migration 0004 does
   (``ledger_summary``, ``perk.members/points_spent/last_claim_at``, ``claim_day``), and
   the counters (``perk.claimed``, ``perk_member``, campaign and code counters);
2. times each report through its service function in one read transaction, as the CLI
   runs it (``Database(url).run(..., write=False, rollback=True)``), next to the fastest
   hand-written SQL for the same figures over the raw tables (no summaries) and, for
   reference, the same figures from the summaries; median of ``--runs`` after a warm-up,
   the three taking turns;
3. checks that every report's figures equal the hand-written SQL's (and that the
   overview's outstanding equals SUM(balance) + SUM(pending)) and prints a table.
   Target: each report in about a second, within 1.5x of the hand-written SQL.

Usage:
    python bench/bench_stats.py                    # 100,000 members, 10M entries, 1M claims, both
    python bench/bench_stats.py --members 2000 --entries 100000 --claims 10000   # quick check
    python bench/bench_stats.py --backend sqlite --workdir /tmp/st --keep   # keep the data...
    python bench/bench_stats.py --backend sqlite --workdir /tmp/st --reuse  # ...time it again
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from bisect import bisect
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

from _common import (
    GENESIS,
    Backend,
    PostgresBackend,
    SqliteBackend,
    cleanup_backends,
    code_version,
    remove_workdir,
)

CHUNK = 50_000  # ledger positions per chunk of rows sent to the driver
DAY = 86_400.0
SPAN_DAYS = 365
OPERATOR = "bench"
TZ = ZoneInfo("UTC")  # the program time zone of the bench (claim_day as migration 0004: UTC)
TIERS = (None, None, None, None, "bronze", "bronze", "silver", "silver", "gold", "platinum")
REASONS = ("Purchase", "Purchase bonus", "Tournament win", "Birthday gift", "Referral")
CATEGORIES = ("general", "discount", "merchandise", "experience", "digital", "access")

# shares of the ledger positions that are not claims (claims have exactly --claims
# positions, refunds of cancelled claims one more each); the brief's 60/5/5/5
KIND_WEIGHTS = (("credit", 60), ("write_off", 5), ("expire", 5), ("promo", 5))
CANCELLED_SHARE = 0.03
EXPIRING_CREDIT_SHARE = 0.10  # credits that make an expiring lot (a year ahead)
PENDING_CREDIT_SHARE = 0.10  # credits of the last 30 days that are pending (a lot maturing)

TARGET_SECONDS = 1.0
TARGET_RATIO = 1.5

MEMBER_COLUMNS = (
    "id,external_id,name,phone,phone_rev,email,birthday,plan,tier,tier_manual,"
    "created_at,updated_at,balance,pending,ledger_seq,ledger_head"
)
ENTRY_COLUMNS = (
    "id,member_id,seq,at,kind,amount,pending_amount,balance_after,reason,operator,"
    "expires_at,pending_until,claim_id,prev_hash,hash"
)
LOT_COLUMNS = "id,member_id,entry_id,amount,remaining,expires_at,matures_at,matured"
CLAIM_COLUMNS = (
    "id,perk_id,member_id,at,points,status,operator,entry_id,certificate_id,certificate,"
    "cancelled_at,cancelled_by,cancel_reason,refund_entry_id,day"
)
REDEMPTION_COLUMNS = "id,campaign_id,code_id,member_id,at,day,points,entry_id,prizes,operator"
PERK_COLUMNS = (
    "id,slug,name,price,category,description,active,claimed,audience,redemption_type,"
    "single_use,iframe,created_at,updated_at,members,points_spent"
)
CAMPAIGN_COLUMNS = (
    "id,slug,name,points,perks,audience,status,redemptions,points_granted,created_at,updated_at"
)
CODE_COLUMNS = "id,campaign_id,batch_id,code_hash,code_enc,uses_allowed,uses,created_at"


def log(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


# --- the generated program ------------------------------------------------------------


class Stamps:
    """Epoch seconds -> the stored text of a timestamp ('YYYY-MM-DD HH:MM:SS.ffffff', plus
    '+00' for PostgreSQL's COPY), cheaply: the minute's prefix is cached."""

    def __init__(self, pg: bool) -> None:
        self.suffix = "+00" if pg else ""
        self.minute = -1
        self.prefix = ""

    def __call__(self, ts: float) -> str:
        sec = int(ts)
        minute = sec // 60
        if minute != self.minute:
            self.minute = minute
            self.prefix = time.strftime("%Y-%m-%d %H:%M:", time.gmtime(minute * 60))
        return f"{self.prefix}{sec % 60:02d}.{int((ts - sec) * 1e6):06d}{self.suffix}"


class Program:
    """The sizes, the clock and the small tables; ``chunks()`` streams the big ones."""

    def __init__(self, args, now: datetime) -> None:
        self.members = args.members
        self.entries = args.entries
        self.claims = args.claims
        self.perks = args.perks
        self.campaigns = args.campaigns
        self.seed = args.seed
        self.now = now
        self.end = now.timestamp()
        self.start = self.end - SPAN_DAYS * DAY
        if self.claims * (1 + CANCELLED_SHARE) > self.entries * 0.9:
            raise SystemExit("--claims must stay well below --entries (each claim is an entry)")
        # perk k: price 50..1000, popularity ~ 1/(k+1)^0.8
        self.prices = [50 * (1 + (k * 7) % 20) for k in range(self.perks)]
        self.perk_cum = list(accumulate(1 / (k + 1) ** 0.8 for k in range(self.perks)))
        self.campaign_points = [25 * (k + 1) for k in range(self.campaigns)]
        self.stats: dict = {}

    def slug(self, k: int) -> str:
        return f"perk-{k + 1:03d}"

    def campaign_slug(self, k: int) -> str:
        return f"campaign-{k + 1:02d}"

    # small tables, inserted before the chunks
    def perk_rows(self, stamp) -> list[tuple]:
        ts = stamp(self.start - 30 * DAY)
        return [
            (
                k + 1,
                self.slug(k),
                f"Perk {k + 1}",
                self.prices[k],
                CATEGORIES[k % len(CATEGORIES)],
                f"Description of perk {k + 1}.",
                k % 10 != 9,  # every tenth perk inactive
                0,
                "{}",
                "code",
                False,
                False,
                ts,
                ts,
                0,
                0,
            )
            for k in range(self.perks)
        ]

    def campaign_rows(self, stamp) -> list[tuple]:
        ts = stamp(self.start - 30 * DAY)
        return [
            (
                k + 1,
                self.campaign_slug(k),
                f"Campaign {k + 1}",
                self.campaign_points[k],
                "[]",
                "{}",
                "paused" if k == self.campaigns - 1 and k > 0 else "active",
                0,
                0,
                ts,
                ts,
            )
            for k in range(self.campaigns)
        ]

    def code_rows(self, stamp) -> list[tuple]:
        ts = stamp(self.start - 30 * DAY)
        # one shared code per campaign; inventories are set from the uses at the end
        return [
            (k + 1, k + 1, None, f"{k + 1:064x}", f"enc-{k + 1}", None, 0, ts)
            for k in range(self.campaigns)
        ]

    def chunks(self, pg: bool):
        """Yields ({table: rows}, members_done) per CHUNK ledger positions, then the member
        rows. Entries are in time order over a year ending at ``now``; every member's
        balance stays >= 0 and equals the sum of its entries."""
        rng = random.Random(self.seed)
        rnd = rng.random
        stamp = Stamps(pg)
        n_members, n_entries = self.members, self.entries
        bal = [0] * (n_members + 1)
        locked = [0] * (n_members + 1)  # points in expiring lots (never spent here)
        pend = [0] * (n_members + 1)
        seq = [0] * (n_members + 1)
        last_id = [0] * (n_members + 1)
        first_at = [0.0] * (n_members + 1)
        last_at = [0.0] * (n_members + 1)
        step = (self.end - self.start) / n_entries
        pending_from = self.end - 30 * DAY
        year = 365 * DAY
        kinds = [k for k, _ in KIND_WEIGHTS]
        cum = list(accumulate(w for _, w in KIND_WEIGHTS))
        cum = [c / cum[-1] for c in cum]
        perk_cum, perk_total = self.perk_cum, self.perk_cum[-1]
        prices = self.prices
        slugs = [self.slug(k) for k in range(self.perks)]
        camp_points = self.campaign_points
        n_camps = self.campaigns
        signature = "0" * 86
        counts = dict.fromkeys([*kinds, "claim", "claim_refund"], 0)
        counts["pending_credit"] = 0
        entries: list[tuple] = []
        lots: list[tuple] = []
        claims: list[tuple] = []
        redemptions: list[tuple] = []
        need = self.claims
        lot_id = claim_no = redemption_no = 0
        claim_failures = 0
        i = 0  # ledger positions used (= entry ids - 1)

        def pick_member() -> int:
            # skewed: low ids are more active, so "most active" means something
            return int(n_members * rnd() ** 1.6) + 1

        def entry(m, ts, at, kind, amount, pending_amount, reason, expires, until, claim_id):
            nonlocal i
            i += 1
            seq[m] += 1
            bal[m] += amount
            pend[m] += pending_amount
            if not first_at[m]:
                first_at[m] = ts
            last_at[m] = ts
            entries.append(
                (
                    i,
                    m,
                    seq[m],
                    at,
                    kind,
                    amount,
                    pending_amount,
                    bal[m],
                    reason,
                    OPERATOR,
                    expires,
                    until,
                    claim_id,
                    f"{last_id[m]:064x}",  # the previous entry's dummy hash (GENESIS first)
                    f"{i:064x}",
                )
            )
            last_id[m] = i
            counts[kind] += 1
            return i

        while i < n_entries:
            ts = self.start + (i + rnd()) * step
            at = stamp(ts)
            # claims: selection sampling, so exactly --claims of them (unless members lack
            # points early on; those positions become credits and the need carries on)
            if need and rnd() * (n_entries - i) < need:
                k = bisect(perk_cum, rnd() * perk_total)
                price = prices[k]
                m = 0
                for _ in range(8):
                    cand = pick_member()
                    if bal[cand] - locked[cand] >= price:
                        m = cand
                        break
                if m:
                    need -= 1
                    claim_no += 1
                    cid = f"{claim_no:032x}"
                    entry_id = entry(m, ts, at, "claim", -price, 0, None, None, None, cid)
                    cert = (
                        f'{{"certificate_id":"CT-{cid}","claim_id":"{cid}","issued_at":"{at}",'
                        f'"key_id":"s-bench","member":"C-{m:06d}","perk":"{slugs[k]}",'
                        f'"perk_name":"Perk {k + 1}","points_spent":{price},'
                        f'"signature":"{signature}"}}'
                    )
                    status, cancelled_at, by, why, refund_id = "active", None, None, None, None
                    if rnd() < CANCELLED_SHARE and i < n_entries:
                        ts2 = self.start + (i + rnd()) * step
                        cancelled_at = stamp(ts2)
                        refund_id = entry(
                            m,
                            ts2,
                            cancelled_at,
                            "claim_refund",
                            price,
                            0,
                            "claim cancelled",
                            None,
                            None,
                            cid,
                        )
                        status, by, why = "cancelled", OPERATOR, "member asked"
                    claims.append(
                        (
                            cid,
                            k + 1,
                            m,
                            at,
                            price,
                            status,
                            OPERATOR,
                            entry_id,
                            f"CT-{cid}",
                            cert,
                            cancelled_at,
                            by,
                            why,
                            refund_id,
                            at[:10],  # the day it counts on: UTC, the bench's time zone
                        )
                    )
                    if len(entries) >= CHUNK:
                        yield {
                            "ledger_entry": entries,
                            "point_lot": lots,
                            "claim": claims,
                            "promo_redemption": redemptions,
                        }
                        entries, lots, claims, redemptions = [], [], [], []
                    continue
                claim_failures += 1
            m = pick_member()
            kind = kinds[bisect(cum, rnd())]
            free = bal[m] - locked[m]
            if kind == "write_off" and free > 0:
                amount = -(int(rnd() * min(free, 500)) + 1)
                entry(m, ts, at, kind, amount, 0, "Correction", None, None, None)
            elif kind == "expire" and free > 0:
                amount = -(int(rnd() * min(free, 300)) + 1)
                entry(m, ts, at, kind, amount, 0, "expired", None, None, None)
            elif kind == "promo":
                c = int(rnd() * n_camps)
                points = camp_points[c]
                entry_id = entry(
                    m, ts, at, "promo", points, 0, f"Promo code ({c + 1})", None, None, None
                )
                redemption_no += 1
                redemptions.append(
                    (
                        f"{redemption_no:032x}",
                        c + 1,
                        c + 1,
                        m,
                        at,
                        at[:10],
                        points,
                        entry_id,
                        "[]",
                        OPERATOR,
                    )
                )
            else:  # a credit (also what a debit becomes when the member has no free points)
                amount = int(rnd() * 1000) + 1
                reason = REASONS[int(rnd() * 5)]
                if ts >= pending_from and rnd() < PENDING_CREDIT_SHARE:
                    until_ts = ts + 30 * DAY
                    until = stamp(until_ts)
                    entry_id = entry(m, ts, at, "credit", 0, amount, reason, None, until, None)
                    lot_id += 1
                    lots.append((lot_id, m, entry_id, amount, amount, None, until, False))
                    counts["pending_credit"] += 1
                elif rnd() < EXPIRING_CREDIT_SHARE:
                    expires = stamp(ts + year)
                    entry_id = entry(m, ts, at, "credit", amount, 0, reason, expires, None, None)
                    lot_id += 1
                    lots.append((lot_id, m, entry_id, amount, amount, expires, None, True))
                    locked[m] += amount
                else:
                    entry(m, ts, at, "credit", amount, 0, reason, None, None, None)
            if len(entries) >= CHUNK:
                yield {
                    "ledger_entry": entries,
                    "point_lot": lots,
                    "claim": claims,
                    "promo_redemption": redemptions,
                }
                entries, lots, claims, redemptions = [], [], [], []
        yield {
            "ledger_entry": entries,
            "point_lot": lots,
            "claim": claims,
            "promo_redemption": redemptions,
        }

        # the members, with the figures their entries add up to
        rows = []
        for m in range(1, n_members + 1):
            created = stamp((first_at[m] or self.start) - DAY)
            updated = stamp(last_at[m]) if last_at[m] else created
            phone = f"+1555{m:07d}"
            rows.append(
                (
                    m,
                    f"C-{m:06d}",
                    f"Member {m}",
                    phone,
                    phone[::-1].lstrip("+")[:40],
                    f"member{m}@example.com",
                    None,
                    None,
                    TIERS[m % len(TIERS)],
                    False,
                    created,
                    updated,
                    bal[m],
                    pend[m],
                    seq[m],
                    f"{last_id[m]:064x}" if seq[m] else GENESIS,
                )
            )
            if len(rows) >= CHUNK:
                yield {"member": rows}
                rows = []
        yield {"member": rows}
        self.stats = {
            "entries": i,
            "claims": claim_no,
            "claims_missing": need,
            "claim_attempts_without_points": claim_failures,
            "lots": lot_id,
            "redemptions": redemption_no,
            "kinds": counts,
            "balances": sum(bal),
            "pending": sum(pend),
        }


# the SQL that fills the summaries and counters from the rows (as migration 0004 does for
# the summaries; the counters as the claim, cancel and redeem transactions keep them)
def fill_statements() -> list[tuple[str, str]]:
    return [
        (
            "ledger_summary",
            "INSERT INTO ledger_summary (shard, kind, points, entries) "
            "SELECT member_id % 16, kind, SUM(amount + pending_amount), COUNT(*) "
            "FROM ledger_entry GROUP BY member_id % 16, kind",
        ),
        (
            "perk_member",
            "INSERT INTO perk_member (perk_id, member_id, claims) "
            "SELECT perk_id, member_id, SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) "
            "FROM claim GROUP BY perk_id, member_id",
        ),
        (
            "perk.claimed",
            "UPDATE perk SET claimed = (SELECT COUNT(*) FROM claim c "
            "WHERE c.perk_id = perk.id AND c.status = 'active')",
        ),
        (
            "perk summaries",
            "UPDATE perk SET "
            "members = (SELECT COUNT(*) FROM perk_member m WHERE m.perk_id = perk.id "
            "AND m.claims > 0), "
            "points_spent = (SELECT COALESCE(SUM(c.points), 0) FROM claim c "
            "WHERE c.perk_id = perk.id AND c.status = 'active'), "
            "last_claim_at = (SELECT MAX(c.at) FROM claim c "
            "WHERE c.perk_id = perk.id AND c.status = 'active')",
        ),
        (
            # every 7th perk sold out, every 3rd with supply left, the rest unlimited
            "perk.max_supply",
            "UPDATE perk SET max_supply = CASE WHEN id % 7 = 0 THEN claimed "
            "WHEN id % 3 = 0 THEN claimed + 1000 END",
        ),
        (
            "claim_day",
            # by the day each claim keeps (claim.day, written with the claim as the claim
            # transaction does; migration 0004 sets it to the UTC day of older claims)
            "INSERT INTO claim_day (perk_id, day, claims) SELECT perk_id, day, COUNT(*) "
            "FROM claim WHERE status = 'active' GROUP BY perk_id, day",
        ),
        (
            "campaign counters",
            "UPDATE campaign SET "
            "redemptions = (SELECT COUNT(*) FROM promo_redemption r "
            "WHERE r.campaign_id = campaign.id), "
            "points_granted = (SELECT COALESCE(SUM(r.points), 0) FROM promo_redemption r "
            "WHERE r.campaign_id = campaign.id)",
        ),
        (
            # odd campaigns' shared codes have an inventory, even ones are unlimited
            "promo_code.uses",
            "UPDATE promo_code SET uses = (SELECT COUNT(*) FROM promo_redemption r "
            "WHERE r.code_id = promo_code.id)",
        ),
        (
            "promo_code.uses_allowed",
            "UPDATE promo_code SET uses_allowed = CASE WHEN id % 2 = 1 THEN uses + 5000 END",
        ),
    ]


# --- databases ------------------------------------------------------------------------


class SqliteStatsBackend(SqliteBackend):
    def connect(self, label: str) -> sqlite3.Connection:
        # the pragmas loyaltyctl sets on every connection (store/db.py)
        conn = sqlite3.connect(self.path(label), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def __init__(self, workdir: Path, cache_mb: int) -> None:
        super().__init__(workdir)
        self.cache_mb = cache_mb

    def load(self, label: str, program: Program) -> dict:
        """Everything in one transaction through executemany. For the load only: no
        journal, no sync, a big page cache (``--sqlite-cache-mb``: the randomly ordered
        (member_id, seq) index stays in it), foreign keys not checked (the rows are made
        consistent); the file goes back to WAL afterwards."""
        conn = sqlite3.connect(self.path(label), isolation_level=None)
        timings: dict[str, float] = {}
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"PRAGMA cache_size=-{self.cache_mb * 1024}")
            conn.execute("PRAGMA foreign_keys=OFF")
            stamp = Stamps(pg=False)
            t0 = time.perf_counter()
            conn.execute("BEGIN")
            for table, cols, rows in (
                ("perk", PERK_COLUMNS, program.perk_rows(stamp)),
                ("campaign", CAMPAIGN_COLUMNS, program.campaign_rows(stamp)),
                ("promo_code", CODE_COLUMNS, program.code_rows(stamp)),
            ):
                self._insert(conn, table, cols, rows)
            gen = program.chunks(pg=False)
            _stream(
                gen, lambda table, rows: self._insert(conn, table, COLUMNS[table], rows), program
            )
            timings["load"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for name, sql in fill_statements():
                t1 = time.perf_counter()
                conn.execute(sql)
                log(f"filled {name} in {time.perf_counter() - t1:.1f} s")
            conn.execute("COMMIT")
            timings["fill"] = time.perf_counter() - t0
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        return timings

    @staticmethod
    def _insert(conn, table: str, cols: str, rows: list[tuple]) -> None:
        if rows:
            marks = ",".join("?" * (cols.count(",") + 1))
            conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)

    def analyze(self, label: str) -> float:
        t0 = time.perf_counter()
        conn = self.connect(label)
        try:
            conn.execute("ANALYZE")
        finally:
            conn.close()
        return time.perf_counter() - t0

    def size_mb(self, label: str) -> float:
        return (
            sum(
                Path(f"{self.path(label)}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{self.path(label)}{s}").exists()
            )
            / 2**20
        )

    def exists(self, label: str) -> bool:
        return self.path(label).exists()

    # the hand-written SQL's connection: a read transaction, as the CLI's
    def reader(self, label: str):
        return SqliteReader(self.connect(label))


class PostgresStatsBackend(PostgresBackend):
    def connect(self, label: str):
        import psycopg

        return psycopg.connect(self.url(label))

    def load(self, label: str, program: Program) -> dict:
        """Everything in one transaction through COPY (one per table and chunk). For the
        load only: foreign-key triggers off (session_replication_role = replica: the rows
        are made consistent) and no wait for the WAL flush at commit."""
        timings: dict[str, float] = {}
        with self.connect(label) as conn, conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '512MB'")
            cur.execute("SET work_mem = '256MB'")
            stamp = Stamps(pg=True)
            t0 = time.perf_counter()

            def copy(table: str, cols: str, rows: list[tuple]) -> None:
                if rows:
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                        for row in rows:
                            cp.write_row(row)

            for table, cols, rows in (
                ("perk", PERK_COLUMNS, program.perk_rows(stamp)),
                ("campaign", CAMPAIGN_COLUMNS, program.campaign_rows(stamp)),
                ("promo_code", CODE_COLUMNS, program.code_rows(stamp)),
            ):
                copy(table, cols, rows)
            _stream(program.chunks(pg=True), lambda t, rows: copy(t, COLUMNS[t], rows), program)
            timings["load"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for name, sql in fill_statements():
                t1 = time.perf_counter()
                cur.execute(sql)
                log(f"filled {name} in {time.perf_counter() - t1:.1f} s")
            s = program.stats
            for table, top in (
                ("member", program.members),
                ("ledger_entry", s["entries"]),
                ("point_lot", s["lots"]),
                ("perk", program.perks),
                ("campaign", program.campaigns),
                ("promo_code", program.campaigns),
            ):
                if top:
                    cur.execute(f"SELECT setval('{table}_id_seq', %s)", (top,))
            conn.commit()
            timings["fill"] = time.perf_counter() - t0
        return timings

    def analyze(self, label: str) -> float:
        """VACUUM ANALYZE, as autovacuum would before long: statistics for the planner and
        the visibility map for index-only scans (and no hint bits left to set by the
        first reader)."""
        t0 = time.perf_counter()
        with self.connect(label) as conn:
            conn.autocommit = True
            conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")
        return time.perf_counter() - t0

    def size_mb(self, label: str) -> float:
        with self._admin() as conn:
            (size,) = conn.execute("SELECT pg_database_size(%s)", (self.dbname(label),)).fetchone()
        return size / 2**20

    def exists(self, label: str) -> bool:
        with self._admin() as conn:
            return bool(
                conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname(label),)
                ).fetchone()
            )

    def reader(self, label: str):
        return PostgresReader(self.connect(label))


COLUMNS = {
    "ledger_entry": ENTRY_COLUMNS,
    "point_lot": LOT_COLUMNS,
    "claim": CLAIM_COLUMNS,
    "promo_redemption": REDEMPTION_COLUMNS,
    "member": MEMBER_COLUMNS,
}


def _stream(gen, write, program: Program) -> None:
    """Send each chunk's rows to the driver, logging progress about every 10%."""
    t0 = time.perf_counter()
    done = 0
    next_log = max(program.entries // 10, CHUNK)
    for tables in gen:
        for table, rows in tables.items():
            write(table, rows)
        done += len(tables.get("ledger_entry", ()))
        if done >= next_log:
            next_log += max(program.entries // 10, CHUNK)
            spent = time.perf_counter() - t0
            log(f"  ... {done:,} entries in {spent:,.0f} s ({done / spent:,.0f}/s)")


# --- the hand-written SQL's connections ---------------------------------------------------


class SqliteReader:
    """A read transaction on the raw driver (BEGIN DEFERRED, as the CLI's reads)."""

    sqlite = True

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def begin(self) -> None:
        self.conn.execute("BEGIN DEFERRED")

    def end(self) -> None:
        self.conn.execute("ROLLBACK")

    def rows(self, sql: str, params=()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def stamp(self, moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def close(self) -> None:
        self.conn.close()


class PostgresReader:
    """A REPEATABLE READ transaction on psycopg (as the CLI's reads)."""

    sqlite = False

    def __init__(self, conn) -> None:
        import psycopg

        self.conn = conn
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ

    def begin(self) -> None:
        pass  # psycopg opens the transaction at the first statement

    def end(self) -> None:
        self.conn.rollback()

    def rows(self, sql: str, params=()) -> list[tuple]:
        return self.conn.execute(sql.replace("?", "%s"), params).fetchall()

    def stamp(self, moment: datetime) -> datetime:
        return moment

    def close(self) -> None:
        self.conn.close()


# --- the figures, normalised so that service and SQL can be compared -----------------------


def iso(value) -> str | None:
    """A timestamp from either driver or the service as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.utcoffset() is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


# buckets of the spec (§5), written out independently of services/stats.py
SPENT = ("claim", "claim_refund")
WRITTEN_OFF = ("write_off",)
REVERSED = ("reverse",)
EXPIRED = ("expire",)
NEUTRAL = ("mature",)


def points_figures(by_kind: dict[str, int], pending: int) -> dict:
    known = set(SPENT + WRITTEN_OFF + REVERSED + EXPIRED + NEUTRAL)
    issued = sum(v for k, v in by_kind.items() if k not in known)

    def minus(kinds) -> int:
        return -sum(by_kind.get(k, 0) for k in kinds)

    spent, written_off = minus(SPENT), minus(WRITTEN_OFF)
    reversed_, expired = minus(REVERSED), minus(EXPIRED)
    return {
        "issued": issued,
        "spent": spent,
        "written_off": written_off,
        "reversed": reversed_,
        "expired": expired,
        "pending": pending,
        "outstanding": issued - spent - written_off - reversed_ - expired,
    }


def overview_of_service(o) -> dict:
    p = o.points
    return {
        "members": o.members,
        "active_members": o.active_members,
        "issued": p.issued,
        "spent": p.spent,
        "written_off": p.written_off,
        "reversed": p.reversed,
        "expired": p.expired,
        "pending": p.pending,
        "outstanding": p.outstanding,
        "expiring_soon": p.expiring_soon,
        "perks_active": o.perks["active"],
        "perks_sold_out": o.perks["sold_out"],
        "top_perks": [(t.slug, t.claims, t.points_spent) for t in o.top_perks],
        "campaigns_active": o.campaigns["active"],
        "redemptions": o.campaigns["redemptions"],
    }


def perk_figures_overview(perks: list[tuple], top: int) -> dict:
    """perks: (slug, active, max_supply, claims, points) -> active, sold out, top perks."""
    ordered = sorted(perks, key=lambda p: (-p[3], p[0]))
    return {
        "perks_active": sum(1 for p in perks if p[1]),
        "perks_sold_out": sum(1 for p in perks if p[2] is not None and p[3] >= p[2]),
        "top_perks": [(p[0], p[3], p[4]) for p in ordered[:top]],
    }


def overview_raw(db, now: datetime) -> dict:
    """Over the raw tables: one scan of the ledger by kind, the active members from the
    entries of the last 30 days, claims counted by perk, redemptions counted."""
    by_kind, pending = {}, 0
    for kind, points, pend in db.rows(
        "SELECT kind, SUM(amount + pending_amount), SUM(pending_amount) "
        "FROM ledger_entry GROUP BY kind"
    ):
        by_kind[kind] = int(points)
        pending += int(pend)
    (members,) = db.rows("SELECT COUNT(*) FROM member")[0]
    (active,) = db.rows(
        "SELECT COUNT(DISTINCT member_id) FROM ledger_entry WHERE at >= ?",
        (db.stamp(now - timedelta(days=30)),),
    )[0]
    (expiring,) = db.rows(
        "SELECT COALESCE(SUM(remaining), 0) FROM point_lot "
        "WHERE expires_at > ? AND expires_at <= ? AND remaining > 0",
        (db.stamp(now), db.stamp(now + timedelta(days=30))),
    )[0]
    perks = db.rows(
        "SELECT p.slug, p.active, p.max_supply, COALESCE(c.n, 0), COALESCE(c.points, 0) "
        "FROM perk p LEFT JOIN (SELECT perk_id, COUNT(*) AS n, SUM(points) AS points "
        "FROM claim WHERE status = 'active' GROUP BY perk_id) c ON c.perk_id = p.id"
    )
    (campaigns_active,) = db.rows("SELECT COUNT(*) FROM campaign WHERE status = 'active'")[0]
    (redemptions,) = db.rows("SELECT COUNT(*) FROM promo_redemption")[0]
    return {
        "members": members,
        "active_members": active,
        **points_figures(by_kind, pending),
        "expiring_soon": int(expiring),
        **perk_figures_overview(perks, 5),
        "campaigns_active": campaigns_active,
        "redemptions": redemptions,
    }


def overview_summaries(db, now: datetime) -> dict:
    """The same figures from the summaries and the member rows."""
    by_kind = {
        k: int(v) for k, v in db.rows("SELECT kind, SUM(points) FROM ledger_summary GROUP BY kind")
    }
    members, active, _balances, pending = db.rows(
        "SELECT COUNT(*), SUM(CASE WHEN updated_at >= ? THEN 1 ELSE 0 END), "
        "COALESCE(SUM(balance), 0), COALESCE(SUM(pending), 0) FROM member",
        (db.stamp(now - timedelta(days=30)),),
    )[0]
    (expiring,) = db.rows(
        "SELECT COALESCE(SUM(remaining), 0) FROM point_lot "
        "WHERE expires_at > ? AND expires_at <= ? AND remaining > 0",
        (db.stamp(now), db.stamp(now + timedelta(days=30))),
    )[0]
    perks = db.rows("SELECT slug, active, max_supply, claimed, points_spent FROM perk")
    campaigns_active, redemptions = db.rows(
        "SELECT SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), "
        "COALESCE(SUM(redemptions), 0) FROM campaign"
    )[0]
    return {
        "members": members,
        "active_members": int(active),
        **points_figures(by_kind, int(pending)),
        "expiring_soon": int(expiring),
        **perk_figures_overview(perks, 5),
        "campaigns_active": int(campaigns_active),
        "redemptions": int(redemptions),
    }


def claims_of_service(c) -> dict:
    return {
        "perks": {
            p.slug: (
                p.claims,
                p.unique_members,
                p.points_spent,
                p.supply_left,
                iso(p.last_claim_at),
            )
            for p in c.perks
        },
        "series": [(p.period, p.claims) for p in c.series if p.claims],
    }


def _day_expr(db, by: str) -> str:
    if db.sqlite:
        return "substr(at, 1, 7)" if by == "month" else "substr(at, 1, 10)"
    fmt = "YYYY-MM" if by == "month" else "YYYY-MM-DD"
    return f"to_char(at AT TIME ZONE 'UTC', '{fmt}')"


def _claim_filter(db, perk_id, since, until) -> tuple[str, list]:
    where, params = ["status = 'active'"], []
    if perk_id is not None:
        where.append("perk_id = ?")
        params.append(perk_id)
    if since is not None:
        where.append("at >= ?")
        params.append(db.stamp(since))
    if until is not None:
        where.append("at <= ?")
        params.append(db.stamp(until))
    return " AND ".join(where), params


def perk_window(
    db, *, perk: str | None, since, until, counters: bool = False
) -> tuple[dict, int | None]:
    """Over the claim rows: per perk (claims, distinct members, points, supply left, last
    claim) of the active claims in the window, by one GROUP BY perk; and the perk's id.
    Supply left is all-time: from another GROUP BY over all claims, or with ``counters``
    from perk.claimed."""
    perks = db.rows(
        "SELECT id, slug, max_supply, claimed FROM perk" + (" WHERE slug = ?" if perk else ""),
        (perk,) if perk else (),
    )
    perk_id = perks[0][0] if perk else None
    cond, params = _claim_filter(db, perk_id, since, until)
    window = {
        r[0]: r[1:]
        for r in db.rows(
            "SELECT perk_id, COUNT(*), COUNT(DISTINCT member_id), SUM(points), MAX(at) "
            f"FROM claim WHERE {cond} GROUP BY perk_id",
            params,
        )
    }
    if counters:
        total = {p[0]: p[3] for p in perks}
    elif since is None and until is None:
        total = {pid: w[0] for pid, w in window.items()}
    else:
        cond_all, params_all = _claim_filter(db, perk_id, None, None)
        total = dict(
            db.rows(
                f"SELECT perk_id, COUNT(*) FROM claim WHERE {cond_all} GROUP BY perk_id", params_all
            )
        )
    figures = {}
    for pid, slug, max_supply, _claimed in perks:
        n, members, points, last = window.get(pid, (0, 0, 0, None))
        left = None if max_supply is None else max(max_supply - total.get(pid, 0), 0)
        figures[slug] = (n, members, int(points or 0), left, iso(last))
    return figures, perk_id


def claims_raw(db, *, perk: str | None, since, until, by: str) -> dict:
    """Over the claim rows: one GROUP BY perk (claims, distinct members, points, last) and
    one GROUP BY period, each over the active claims in the window."""
    if by == "week":
        raise SystemExit("week periods are not compared here")
    figures, perk_id = perk_window(db, perk=perk, since=since, until=until)
    cond, params = _claim_filter(db, perk_id, since, until)
    series = db.rows(
        f"SELECT {_day_expr(db, by)}, COUNT(*) FROM claim WHERE {cond} GROUP BY 1 ORDER BY 1",
        params,
    )
    return {"perks": figures, "series": [(p, int(n)) for p, n in series]}


def claims_summaries(db, *, perk: str | None, since, until, by: str) -> dict:
    """From the perk counters and claim_day; a window still needs the claim rows for
    unique members (no summary can say), only the series comes from claim_day."""
    if since is not None or until is not None:
        figures = perk_window(db, perk=perk, since=since, until=until, counters=True)[0]
    else:
        figures = {
            slug: (
                claimed,
                members,
                points,
                None if ms is None else max(ms - claimed, 0),
                iso(last),
            )
            for slug, claimed, members, points, ms, last in db.rows(
                "SELECT slug, claimed, members, points_spent, max_supply, last_claim_at FROM perk"
                + (" WHERE slug = ?" if perk else ""),
                (perk,) if perk else (),
            )
        }
    where, params = [], []
    if perk:
        where.append("perk_id = (SELECT id FROM perk WHERE slug = ?)")
        params.append(perk)
    if since is not None:
        where.append("day >= ?")
        params.append(since.astimezone(TZ).date().isoformat())
    if until is not None:
        where.append("day <= ?")
        params.append(until.astimezone(TZ).date().isoformat())
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    period = "substr(day, 1, 7)" if by == "month" else "day"
    series = db.rows(
        f"SELECT {period}, SUM(claims) FROM claim_day{cond} GROUP BY 1 ORDER BY 1", params
    )
    return {"perks": figures, "series": [(p, int(n)) for p, n in series if n]}


def members_of_service(m) -> dict:
    return {
        "biggest": [(r.member, r.name, r.value) for r in m.biggest_balances],
        "active": [(r.member, r.name, r.value) for r in m.most_active],
        "tiers": sorted((t["tier"] or "", t["members"]) for t in m.tiers),
    }


def members_raw(db, top: int) -> dict:
    """Biggest balances from the member rows (an index on balance); most active counted
    from the ledger (one pass over the (member_id, seq) index); tiers grouped."""
    biggest = db.rows(
        "SELECT external_id, name, balance FROM member ORDER BY balance DESC, external_id LIMIT ?",
        (top,),
    )
    active = db.rows(
        "SELECT m.external_id, m.name, c.n FROM (SELECT member_id, COUNT(*) AS n "
        "FROM ledger_entry GROUP BY member_id) c JOIN member m ON m.id = c.member_id "
        "ORDER BY c.n DESC, m.external_id LIMIT ?",
        (top,),
    )
    tiers = db.rows("SELECT tier, COUNT(*) FROM member GROUP BY tier")
    return {
        "biggest": [tuple(r) for r in biggest],
        "active": [tuple(r) for r in active],
        "tiers": sorted((t or "", n) for t, n in tiers),
    }


def members_summaries(db, top: int) -> dict:
    """Most active from member.ledger_seq (the chain's length kept in the row)."""
    biggest = db.rows(
        "SELECT external_id, name, balance FROM member ORDER BY balance DESC, external_id LIMIT ?",
        (top,),
    )
    active = db.rows(
        "SELECT external_id, name, ledger_seq FROM member ORDER BY ledger_seq DESC, external_id "
        "LIMIT ?",
        (top,),
    )
    tiers = db.rows("SELECT tier, COUNT(*) FROM member GROUP BY tier")
    return {
        "biggest": [tuple(r) for r in biggest],
        "active": [tuple(r) for r in active],
        "tiers": sorted((t or "", n) for t, n in tiers),
    }


def promo_of_service(found) -> dict:
    return {
        s.campaign: (
            s.codes_issued,
            s.redemptions,
            s.redemption_rate,
            s.points_granted,
            [(p.period, p.redemptions) for p in s.series if p.redemptions],
        )
        for s in found
    }


def _promo(db, campaign: str | None, counted: bool) -> dict:
    camps = db.rows(
        "SELECT id, slug, redemptions, points_granted FROM campaign"
        + (" WHERE slug = ?" if campaign else ""),
        (campaign,) if campaign else (),
    )
    ids = [c[0] for c in camps]
    marks = ",".join("?" * len(ids))
    codes = {
        cid: (n, unlimited, allowed)
        for cid, n, unlimited, allowed in db.rows(
            "SELECT campaign_id, COUNT(*), SUM(CASE WHEN uses_allowed IS NULL THEN 1 ELSE 0 END),"
            f" COALESCE(SUM(uses_allowed), 0) FROM promo_code WHERE campaign_id IN ({marks}) "
            "GROUP BY campaign_id",
            ids,
        )
    }
    generated = dict(
        db.rows(
            "SELECT campaign_id, SUM(generated) FROM promo_batch "
            f"WHERE campaign_id IN ({marks}) GROUP BY campaign_id",
            ids,
        )
    )
    if counted:
        totals = {
            cid: (n, int(p))
            for cid, n, p in db.rows(
                "SELECT campaign_id, COUNT(*), SUM(points) FROM promo_redemption "
                f"WHERE campaign_id IN ({marks}) GROUP BY campaign_id",
                ids,
            )
        }
    else:
        totals = {c[0]: (c[2], c[3]) for c in camps}
    series: dict[int, list] = {cid: [] for cid in ids}
    for cid, day, n in db.rows(
        "SELECT campaign_id, day, COUNT(*) FROM promo_redemption "
        f"WHERE campaign_id IN ({marks}) GROUP BY campaign_id, day ORDER BY campaign_id, day",
        ids,
    ):
        series[cid].append((day, n))
    result = {}
    for cid, slug, _r, _p in camps:
        n_codes, unlimited, allowed = codes.get(cid, (0, 0, 0))
        redemptions, points = totals.get(cid, (0, 0))
        capacity = None if unlimited else int(allowed) + int(generated.get(cid) or 0)
        rate = round(redemptions / capacity, 4) if capacity else None
        issued = n_codes + int(generated.get(cid) or 0)  # shared codes here: no batches
        result[slug] = (issued, redemptions, rate, points, series[cid])
    return result


def promo_raw(db, campaign: str | None) -> dict:
    """Redemptions counted and summed per campaign and grouped by day, codes counted."""
    return _promo(db, campaign, counted=True)


def promo_summaries(db, campaign: str | None) -> dict:
    """Campaign counters; the series is still a GROUP BY over the redemptions."""
    return _promo(db, campaign, counted=False)


# --- timing -------------------------------------------------------------------------------


def reports(now: datetime, top_perk: str, campaign: str) -> list[dict]:
    """name, service call, hand SQL (raw tables, summaries), normaliser of the service's."""
    from loyaltyctl.domain.values import parse_moment
    from loyaltyctl.services import stats

    # as the CLI's --since D / --until D give them: dates in the program time zone
    def day(days_ago: int, end: bool = False) -> datetime:
        text = (now - timedelta(days=days_ago)).astimezone(TZ).date().isoformat()
        return parse_moment(text, TZ, end_of_day=end)

    month_ago = day(30)
    window = (day(120), day(31, end=True))
    found = []

    def claims(label, **kw):
        kw.setdefault("perk", None)
        kw.setdefault("since", None)
        kw.setdefault("until", None)
        kw.setdefault("by", "day")
        found.append(
            {
                "name": label,
                "service": lambda s: stats.claim_stats(session=s, tz=TZ, **kw),
                "raw": lambda db: claims_raw(db, **kw),
                "summaries": lambda db: claims_summaries(db, **kw),
                "normal": claims_of_service,
                "needs": "claim_stats",
            }
        )

    found.append(
        {
            "name": "overview",
            "service": lambda s: stats.overview(session=s, now=now),
            "raw": lambda db: overview_raw(db, now),
            "summaries": lambda db: overview_summaries(db, now),
            "normal": overview_of_service,
            "needs": "overview",
        }
    )
    claims("claims")
    claims("claims --by month", by="month")
    claims(f"claims --perk {top_perk}", perk=top_perk)
    claims("claims --since (30 days ago)", since=month_ago)
    claims("claims --since D --until D (90 days)", since=window[0], until=window[1])
    found.append(
        {
            "name": "members --top 10",
            "service": lambda s: stats.member_stats(session=s, top=10),
            "raw": lambda db: members_raw(db, 10),
            "summaries": lambda db: members_summaries(db, 10),
            "normal": members_of_service,
            "needs": "member_stats",
        }
    )
    found.append(
        {
            "name": "promo",
            "service": lambda s: stats.promo_stats(session=s),
            "raw": lambda db: promo_raw(db, None),
            "summaries": lambda db: promo_summaries(db, None),
            "normal": promo_of_service,
            "needs": "promo_stats",
        }
    )
    found.append(
        {
            "name": f"promo {campaign}",
            "service": lambda s: stats.promo_stats(session=s, campaign=campaign),
            "raw": lambda db: promo_raw(db, campaign),
            "summaries": lambda db: promo_summaries(db, campaign),
            "normal": promo_of_service,
            "needs": "promo_stats",
        }
    )
    return [r for r in found if hasattr(stats, r["needs"])]


def differences(a, b, path: str = "") -> list[str]:
    """Where two normalised figures differ (a: the service's, b: the SQL's)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}{key}: service {a.get(key)!r}, SQL {b.get(key)!r}")
            else:
                out.extend(differences(a[key], b[key], f"{path}{key}."))
        return out
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        a, b = [tuple(x) if isinstance(x, list) else x for x in a], list(b)
        b = [tuple(x) if isinstance(x, list) else x for x in b]
        if a != b:
            return [f"{path.rstrip('.')}: service {_short(a)}, SQL {_short(b)}"]
        return []
    if a != b:
        return [f"{path.rstrip('.')}: service {a!r}, SQL {b!r}"]
    return []


def _short(x) -> str:
    text = repr(x)
    return text if len(text) < 200 else text[:200] + "..."


def time_reports(backend, label: str, url: str, now: datetime, args, meta: dict) -> list[dict]:
    from loyaltyctl.store.db import Database

    db = Database(url)
    reader = backend.reader(label)
    found = reports(now, meta["top_perk"], meta["campaign"])
    results = []
    try:

        def service(report):
            t0 = time.perf_counter()
            value = db.run(report["service"], write=False, rollback=True)
            return time.perf_counter() - t0, value

        def hand(report, which):
            t0 = time.perf_counter()
            reader.begin()
            try:
                value = report[which](reader)
            finally:
                reader.end()
            return time.perf_counter() - t0, value

        for report in found:
            _, value = service(report)  # warm-up (and the figures compared)
            _, raw = hand(report, "raw")
            _, summ = hand(report, "summaries")
            report["diff_raw"] = differences(report["normal"](value), raw)
            report["diff_summaries"] = differences(report["normal"](value), summ)
            report["value"] = value
            report["times"] = {"service": [], "raw": [], "summaries": []}
            log(f"{label}: warmed up {report['name']}")
        for n in range(args.runs):
            for report in found:  # taking turns, so a busy moment hits all alike
                report["times"]["service"].append(service(report)[0])
                report["times"]["raw"].append(hand(report, "raw")[0])
                report["times"]["summaries"].append(hand(report, "summaries")[0])
            log(f"{label}: run {n + 1} of {args.runs} done")
        for report in found:
            med = {k: statistics.median(v) for k, v in report["times"].items()}
            results.append(
                {
                    "name": report["name"],
                    "service": med["service"],
                    "raw": med["raw"],
                    "summaries": med["summaries"],
                    "times": report["times"],
                    "diff_raw": report["diff_raw"],
                    "diff_summaries": report["diff_summaries"],
                    "value": report["value"],
                }
            )
        # the identity the issue asks for, on the generated data
        reader.begin()
        balances, pending = reader.rows(
            "SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(pending), 0) FROM member"
        )[0]
        reader.end()
        overview = next((r["value"] for r in results if r["name"] == "overview"), None)
        meta["identity"] = (
            None
            if overview is None
            else {
                "outstanding": overview.points.outstanding,
                "balances_plus_pending": int(balances) + int(pending),
            }
        )
    finally:
        reader.close()
        db.dispose()
    return results


def explain(backend, label: str, now: datetime, meta: dict) -> list[tuple[str, str]]:
    """Plans of the statements the slow reports send (for the report's notes)."""
    from loyaltyctl.services import stats  # noqa: F401 - the statements come from the store

    reader = backend.reader(label)
    out = []
    month_ago = reader.stamp(now - timedelta(days=30))
    statements = [
        (
            "claims in a window (store.stats.perk_window_figures)",
            "SELECT perk_id, COUNT(*), COUNT(DISTINCT member_id), SUM(points), MAX(at) "
            "FROM claim WHERE status = 'active' AND at >= ? GROUP BY perk_id",
            (month_ago,),
        ),
        (
            "promo series (store.promo.redemption_series)",
            "SELECT day, COUNT(*) FROM promo_redemption WHERE campaign_id = ? "
            "GROUP BY day ORDER BY day",
            (1,),
        ),
    ]
    try:
        for title, sql, params in statements:
            reader.begin()
            prefix = "EXPLAIN QUERY PLAN " if reader.sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
            rows = reader.rows(prefix + sql, params)
            reader.end()
            text = "\n".join(f"    {r[-1]}" if reader.sqlite else f"    {r[0]}" for r in rows)
            out.append((title, text))
    finally:
        reader.close()
    return out


# --- the benchmark ---------------------------------------------------------------------------


def bench_backend(backend, args, workdir: Path) -> dict:
    label = "stats"
    meta_path = workdir / f"{backend.name}-program.json"
    if args.reuse:
        if not backend.exists(label) or not meta_path.exists():
            raise SystemExit(
                f"--reuse: no kept {backend.name} program in {workdir} "
                f"(or database {backend.url(label)})"
            )
        meta = json.loads(meta_path.read_text())
        url = backend.url(label)
        log(f"[{backend.name}] reusing {url} (generated {meta['now']})")
    else:
        now = datetime.now(UTC).replace(microsecond=0)
        program = Program(args, now)
        log(f"[{backend.name}] creating the database with the real schema")
        url = backend.create(label)
        log(
            f"[{backend.name}] generating {args.members:,} members, {args.entries:,} entries, "
            f"{args.claims:,} claims"
        )
        timings = backend.load(label, program)
        log(
            f"[{backend.name}] loaded in {timings['load']:.0f} s, summaries in "
            f"{timings['fill']:.0f} s"
        )
        analyze = (
            backend.analyze(label)
            if (args.analyze or not isinstance(backend, SqliteBackend))
            else None
        )
        if analyze is not None:
            log(f"[{backend.name}] analyzed in {analyze:.0f} s")
        top_perk = program.slug(0)
        meta = {
            "now": now.isoformat(),
            "members": args.members,
            "entries_asked": args.entries,
            "claims_asked": args.claims,
            "perks": args.perks,
            "campaigns": args.campaigns,
            "seed": args.seed,
            "generated": program.stats,
            "load_s": timings["load"],
            "fill_s": timings["fill"],
            "analyze_s": analyze,
            "top_perk": top_perk,
            "campaign": program.campaign_slug(0),
        }
        meta_path.write_text(json.dumps(meta, indent=1))
    meta["size_mb"] = backend.size_mb(label)
    now = datetime.fromisoformat(meta["now"])
    code_before = code_version()
    results = time_reports(backend, label, url, now, args, meta)
    code_after = code_version()
    meta["code"] = (
        code_before
        if code_before == code_after
        else (f"{code_before}, then {code_after} (changed while timing)")
    )
    meta["plans"] = explain(backend, label, now, meta) if args.explain else []
    if not args.keep and not args.reuse:
        backend.drop(label)
    return {"backend": backend.name, "meta": meta, "results": results}


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_report(done: list[dict], args) -> None:
    print()
    print(f"{args.code_version}; measured from {args.started} to {time.strftime('%H:%M:%S')}")
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} cpus; median of {args.runs} runs after a warm-up"
    )
    for d in done:
        m, g = d["meta"], d["meta"]["generated"]
        print()
        kinds = ", ".join(f"{k} {v:,}" for k, v in g["kinds"].items())
        print(
            f"{d['backend']}: {m['members']:,} members, {g['entries']:,} ledger entries "
            f"({kinds}), {g['claims']:,} claims, {g['lots']:,} lots, {g['redemptions']:,} "
            f"redemptions, {m['perks']} perks, {m['campaigns']} campaigns; "
            f"{m['size_mb']:,.0f} MB"
        )
        if g["claims_missing"]:
            print(f"  NOTE {g['claims_missing']:,} claims short of --claims {m['claims_asked']:,}")
        if "load_s" in m:
            analyze = "" if m["analyze_s"] is None else f", analyze {m['analyze_s']:.0f} s"
            print(
                f"  generated in {m['load_s']:.0f} s, summaries filled in {m['fill_s']:.0f} s"
                f"{analyze}"
            )
        if m.get("code") != args.code_version:
            print(f"  NOTE timed on {m.get('code')}")
        header = (
            f"  {'report':<36} {'service s':>9} {'raw SQL s':>9} {'summ SQL s':>10} "
            f"{'svc/raw':>7} {'svc/summ':>8}  target (<= {TARGET_SECONDS:g} s, "
            f"<= {TARGET_RATIO:g}x raw)"
        )
        print(header)
        print("  " + "-" * (len(header) - 2))
        for r in d["results"]:
            ratio = r["service"] / r["raw"]
            print(
                f"  {r['name']:<36} {r['service']:>9.3f} {r['raw']:>9.3f} "
                f"{r['summaries']:>10.3f} {ratio:>7.2f} {r['service'] / r['summaries']:>8.2f}  "
                f"{mark(r['service'] <= TARGET_SECONDS)}, ratio {mark(ratio <= TARGET_RATIO)}"
            )
        same = [r for r in d["results"] if not r["diff_raw"] and not r["diff_summaries"]]
        print(f"  figures equal to the hand-written SQL's: {len(same)} of {len(d['results'])}")
        for r in d["results"]:
            for which in ("diff_raw", "diff_summaries"):
                for line in r[which][:8]:
                    print(f"    DIFFERENT in {r['name']} ({which[5:]}): {line}")
        ident = m.get("identity")
        if ident is not None:
            same = ident["outstanding"] == ident["balances_plus_pending"]
            print(
                f"  outstanding {ident['outstanding']:,} "
                f"{'=' if same else '!='} SUM(balance) + SUM(pending) "
                f"{ident['balances_plus_pending']:,}: {'ok' if same else 'MISMATCH'}"
            )
        if args.verbose:
            for r in d["results"]:
                times = "; ".join(
                    f"{k} " + " ".join(f"{t:.3f}" for t in v) for k, v in r["times"].items()
                )
                print(f"    {r['name']}: {times}")
        for title, plan in m.get("plans", []):
            print(f"  plan of {title}:")
            print(plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument("--members", type=int, default=100_000, help="(100,000)")
    parser.add_argument("--entries", type=int, default=10_000_000, help="ledger entries (10M)")
    parser.add_argument("--claims", type=int, default=1_000_000, help="(1,000,000)")
    parser.add_argument("--perks", type=int, default=50, help="(50)")
    parser.add_argument("--campaigns", type=int, default=5, help="(5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per report (3)")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="also ANALYZE the SQLite database (loyaltyctl never does; PostgreSQL is always "
        "VACUUM ANALYZEd, as autovacuum would)",
    )
    parser.add_argument(
        "--sqlite-cache-mb",
        type=int,
        default=256,
        help="page cache of the SQLite load connection, MB (256; it is this process's memory)",
    )
    parser.add_argument("--explain", action="store_true", help="print plans of slow statements")
    parser.add_argument("--verbose", action="store_true", help="print every run's seconds")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="for the SQLite file and the program's facts"
    )
    parser.add_argument(
        "--pg-prefix",
        default=None,
        help="PostgreSQL database name prefix (default bench_stats_<pid>; the database is "
        "<prefix>_stats)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and workdir")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the program kept by an earlier --keep run (same --workdir, --pg-prefix)",
    )
    args = parser.parse_args()
    if args.reuse and (args.workdir is None or (args.backend != "sqlite" and not args.pg_prefix)):
        parser.error("--reuse needs --workdir (and --pg-prefix for PostgreSQL)")

    args.code_version = code_version()
    args.started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(args.code_version, file=sys.stderr)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        workdir = args.workdir
    else:
        workdir = Path(tempfile.mkdtemp(prefix="bench_stats_"))
    backends: list[Backend] = []
    done: list[dict] = []
    try:
        if args.backend in ("sqlite", "both"):
            backends.append(SqliteStatsBackend(workdir, args.sqlite_cache_mb))
        if args.backend in ("postgresql", "both"):
            backends.append(PostgresStatsBackend(args.pg_prefix or f"bench_stats_{os.getpid()}"))
        for backend in backends:
            done.append(bench_backend(backend, args, workdir))
        print_report(done, args)
    finally:
        if not (args.keep or args.reuse):
            cleanup_backends(backends)
            if args.workdir is None:
                remove_workdir(workdir, False)
        elif args.workdir is None:
            print(f"kept {workdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
