"""A small program and a database with something of every kind in it, built through the
CLI: the defects', crash points' and tamper tests' starting point."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.cli.helpers import add_member, credit, sql_engine, write
from tests.conftest import TABLES

PROGRAM = """\
[[perk]]
slug = "mug"
name = "Club mug"
price = 100
max_supply = 10
max_per_member = 3

[perk.redemption]
type = "none"

[[campaign]]
slug = "spring"
name = "Spring codes"
points = 25
per_member = 5

[[earning_rule]]
slug = "welcome"
kind = "join"
name = "Welcome bonus"
points = 40
"""

EVENTS = (
    '{"id": "e-1", "type": "member.joined", "at": "2026-01-02T10:00:00Z", '
    '"member": "C-9", "name": "Hedy Lamarr"}\n'
)


def program_file(tmp: Path) -> Path:
    return write(tmp / "program" / "club.toml", PROGRAM)


def build(cli, tmp: Path) -> dict:
    """Members, a credit with an expiry and a key, the program applied, a claim, a batch
    of codes and an ingested event; returns what was made."""
    add_member(cli, "C-1", "Ada Lovelace")
    add_member(cli, "C-2", "Alan Turing", "--tier", "gold")
    keyed = credit(cli, "C-1", 500, "Tournament", "--key", "k-500", "--expires-in", "90d")
    assert keyed.exit_code == 0, keyed.stderr
    assert cli("apply", str(program_file(tmp))).exit_code == 0
    claim = cli("perk", "claim", "mug", "--member", "C-1", "--json")
    assert claim.exit_code == 0, claim.stderr
    codes = cli("promo", "generate", "spring", "--count", "5", "--json")
    assert codes.exit_code == 0, codes.stderr
    events = write(tmp / "events.jsonl", EVENTS)
    ingested = cli("events", "ingest", str(events))
    assert ingested.exit_code == 0, ingested.stderr
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.stderr + verified.stdout
    return {
        "entry_id": keyed.json["entry_id"],
        "claim_id": claim.json["claim_id"],
        "batch_id": codes.json["batch_id"],
    }


SUMS = (
    "SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(pending), 0) FROM member",
    "SELECT COALESCE(SUM(claimed), 0) FROM perk",
    "SELECT COALESCE(SUM(generated), 0) FROM promo_batch",
    "SELECT COALESCE(SUM(redemptions), 0), COALESCE(SUM(points_granted), 0) FROM campaign",
    "SELECT COALESCE(SUM(uses), 0) FROM promo_code",
    "SELECT COUNT(*) FROM coupon WHERE status = 'used'",
    "SELECT COUNT(*) FROM webhook_delivery WHERE status = 'delivered'",
    "SELECT COALESCE(SUM(remaining), 0) FROM point_lot",
)


def state(url: str) -> dict:
    """Every table's row count and the figures the commands move."""
    engine = sql_engine(url)
    try:
        with engine.connect() as conn:
            found = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES}
            for sql in SUMS:
                found[sql] = tuple(conn.execute(text(sql)).one())
            return found
    finally:
        engine.dispose()
