"""`events ingest --format shopify` against `events ingest` of the same orders in our
own format, in the same run, on SQLite and PostgreSQL.

For each backend: two fresh databases with the same members and earning rule; N Shopify
orders/paid payloads (as delivered: ~60 fields, 3 line items, a customer object) and
the same N orders as our own JSON lines; each file ingested by the CLI as a child
process (`python -m loyaltyctl --database-url URL events ingest ...`), wall time
measured. The figure is the ratio of the two: what mapping a platform's payload and
finding its member by customer id cost on top of our own format's ingest. The load
average is printed, since other work on the machine moves both figures.

    python bench/bench_stores.py                 # 20,000 orders, both backends
    python bench/bench_stores.py --orders 5000 --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PostgresBackend, SqliteBackend, child_env, cleanup_backends, remove_workdir

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = '[[earning_rule]]\nslug = "order-points"\nkind = "order"\npoints_per_unit = 1\n'


def shopify_order(n: int, members: int) -> dict:
    template = json.loads(
        (ROOT / "fixtures" / "stores" / "shopify.jsonl").read_text().splitlines()[1]
    )
    customer = n % members
    template.update(id=10_000_000 + n, name=f"#{n}", order_number=n)
    template["customer"] = dict(template["customer"], id=customer, email=f"c{customer}@example.com")
    template["processed_at"] = f"2026-11-{1 + n % 28:02d}T10:{n % 60:02d}:00Z"
    template["line_items"] = [
        dict(template["line_items"][i % 2], id=n * 10 + i, sku=f"SKU-{(n + i) % 50}",
             price=f"{5 + (n * 7 + i) % 90}.{(n + i) % 100:02d}", quantity=1 + (n + i) % 3)
        for i in range(3)
    ]  # fmt: skip
    return template


def own_order(payload: dict) -> dict:
    return {
        "id": f"own:{payload['id']}",
        "type": "order.paid",
        "at": payload["processed_at"],
        "member": str(payload["customer"]["id"]),
        "order_id": str(payload["id"]),
        "currency": "USD",
        "items": [
            {"sku": li["sku"], "price": li["price"], "quantity": li["quantity"]}
            for li in payload["line_items"]
        ],
        "discount": payload["total_discounts"],
        "shipping": "5.00",
        "tax": payload["total_tax"],
    }


def prepare(backend, label: str, members: int, workdir: Path) -> str:
    from loyaltyctl.program.files import read_program_files
    from loyaltyctl.services.apply import apply_program
    from loyaltyctl.store.db import Database
    from loyaltyctl.store.driver import run_many

    url = backend.create(label)
    program = workdir / "program.toml"
    program.write_text(PROGRAM, encoding="utf-8")
    from datetime import UTC, datetime

    files = read_program_files([program], env={}, tz=UTC)
    db = Database(url)
    now = datetime.now(UTC)
    try:
        db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="b"))
        rows = [(str(i), f"Member {i}", f"c{i}@example.com", now, now) for i in range(members)]
        db.run(
            lambda s: run_many(
                s,
                "INSERT INTO member (external_id, name, email, created_at, updated_at, balance,"
                " pending, ledger_seq, ledger_head, tier_manual, earned)"
                " VALUES ({p}, {p}, {p}, {p}, {p}, 0, 0, 0, '" + "0" * 64 + "', false, 0)",
                rows,
            )
        )
    finally:
        db.dispose()
    return url


def ingest(url: str, path: Path, env: dict, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "loyaltyctl", "--database-url", url, "events", "ingest",
         str(path), *extra, "--json"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    result = json.loads(done.stdout)
    if done.returncode != 0 or result["applied"] == 0:
        raise SystemExit(f"ingest failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    env = child_env(workdir)
    payloads = [shopify_order(n, args.members) for n in range(args.orders)]
    shopify = workdir / "shopify.jsonl"
    shopify.write_text("".join(json.dumps(p) + "\n" for p in payloads), encoding="utf-8")
    ours = workdir / "own.jsonl"
    ours.write_text("".join(json.dumps(own_order(p)) + "\n" for p in payloads), encoding="utf-8")
    backends = []
    if args.backend in ("sqlite", "both"):
        backends.append(SqliteBackend(workdir))
    if args.backend in ("postgresql", "both"):
        backends.append(PostgresBackend(f"bench_stores_{os.getpid()}"))
    try:
        print(
            f"{args.orders:,} orders, {args.members:,} members; Shopify file"
            f" {shopify.stat().st_size / 1e6:.1f} MB, own format"
            f" {ours.stat().st_size / 1e6:.1f} MB;"
            f" load average {os.getloadavg()[0]:.2f}"
        )
        for backend in backends:
            own_url = prepare(backend, "own", args.members, workdir)
            shop_url = prepare(backend, "shopify", args.members, workdir)
            own_time, own = ingest(own_url, ours, env)
            shop_time, shop = ingest(shop_url, shopify, env, "--format", "shopify")
            assert own["points_awarded"] == shop["points_awarded"], (own, shop)
            print(
                f"{backend.name:10} own format {args.orders / own_time:9,.0f} orders/s"
                f" ({own_time:.1f} s) | --format shopify {args.orders / shop_time:9,.0f} orders/s"
                f" ({shop_time:.1f} s) | ratio {shop_time / own_time:.2f}x;"
                f" same points: {shop['points_awarded']:,}; load {os.getloadavg()[0]:.2f}"
            )
    finally:
        cleanup_backends(backends)
        remove_workdir(workdir, args.keep)


if __name__ == "__main__":
    main()
