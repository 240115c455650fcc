"""The real thing beside the test cluster (.ci/replica-and-pooler.sh starts both):

- a streaming standby (pg_basebackup, hot standby) at LOYALTYCTL_TEST_REPLICA_URL, default
  postgresql://postgres@127.0.0.1:5433/postgres: the statistics and `audit verify` read
  from it with `--read-url` give what the primary gives, and `stats` says when it lags;
- PgBouncer in transaction pooling mode at LOYALTYCTL_TEST_POOLER_URL, default
  postgresql://postgres@127.0.0.1:6432/postgres: claims, redemptions, ingest, maintenance
  and statistics through it (`.ci/run` also runs those test files with the pooler as
  LOYALTYCTL_TEST_PG_URL).

Unreachable: skipped with a message outside CI, a failure in CI (as for PostgreSQL).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.conftest import IN_CI

REPLICA_ADMIN_URL = os.environ.get(
    "LOYALTYCTL_TEST_REPLICA_URL", "postgresql://postgres@127.0.0.1:5433/postgres"
)
POOLER_ADMIN_URL = os.environ.get(
    "LOYALTYCTL_TEST_POOLER_URL", "postgresql://postgres@127.0.0.1:6432/postgres"
)

# only PostgreSQL here: the db_url fixture's SQLite half does not apply
pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

PERKS = """\
[[perk]]
slug = "coffee"
name = "Coffee"
price = 100
max_supply = 50

[perk.redemption]
type = "none"
instructions = "Ask at the bar."
"""

AT = "2026-11-01T10:00:00Z"

CAMPAIGN = """\
[[campaign]]
slug = "flyer"
name = "Flyer"
points = 40
perks = ["coffee"]

[[campaign.code]]
code = "FLYER-40"
inventory = 10
"""


def _connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3, prepare_threshold=None)


def _require(url: str, what: str) -> None:
    try:
        with _connect(url):
            return
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        message = f"{what} at {url} is unreachable ({type(exc).__name__}: {exc})".strip()
    if IN_CI:
        pytest.fail(message + " - CI runs .ci/replica-and-pooler.sh first.", pytrace=False)
    pytest.skip(message + "; start them with `sudo bash .ci/replica-and-pooler.sh`.")


def _same_database(admin_url: str, db_url: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + db_url.rsplit("/", 1)[1]


def _caught_up(primary_url: str, replica_url: str, timeout: float = 30.0) -> None:
    """Until the standby has replayed all the primary had written when asked."""
    with _connect(primary_url) as primary:
        (position,) = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _connect(replica_url) as replica:
                (done,) = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,)
                ).fetchone()
        except Exception:  # noqa: BLE001 - the database may not be replayed yet
            done = False
        if done:
            return
        assert time.monotonic() < deadline, "the standby did not catch up in 30 s"
        time.sleep(0.1)


@pytest.fixture
def replica(db_url) -> str:
    _require(REPLICA_ADMIN_URL, "The streaming standby")
    url = _same_database(REPLICA_ADMIN_URL, db_url)
    _caught_up(db_url, url)
    return url


@pytest.fixture
def pooler(db_url) -> str:
    _require(POOLER_ADMIN_URL, "PgBouncer")
    with _connect(POOLER_ADMIN_URL.rsplit("/", 1)[0] + "/pgbouncer") as admin:
        config = {row[0]: row[1] for row in admin.execute("SHOW CONFIG").fetchall()}
    assert config["pool_mode"] == "transaction", config["pool_mode"]
    return _same_database(POOLER_ADMIN_URL, db_url)


@pytest.fixture
def club(cli, keys, tmp_path):
    """Members with points, a perk claimed, a code redeemed, events ingested."""
    (tmp_path / "program").mkdir()
    (tmp_path / "program" / "perks.toml").write_text(PERKS)
    (tmp_path / "program" / "campaign.toml").write_text(CAMPAIGN)

    def build(url: str) -> None:
        def ok(*args: str) -> dict:
            result = cli(*args, "--json", url=url)
            assert result.exit_code == 0, result.stderr
            return result.json

        ok("apply", str(tmp_path / "program"))
        for n in range(1, 7):
            ok("member", "add", f"C-{n}", "--name", f"Member {n}")
            ok("points", "credit", f"C-{n}", str(100 * n), "--reason", "welcome")
        for n in range(2, 7):
            ok("perk", "claim", "coffee", "--member", f"C-{n}")
        ok("promo", "redeem", "FLYER-40", "--member", "C-1")
        events = tmp_path / "events.jsonl"
        joined = [
            {"id": f"e-{n}", "type": "member.joined", "at": AT, "member": f"J-{n}", "name": "J"}
            for n in range(1, 3)
        ]
        paid = {
            "id": "e-3",
            "type": "order.paid",
            "at": AT,
            "member": "C-1",
            "order_id": "1001",
            "currency": "USD",
            "items": [{"sku": "P1", "price": "10.00", "quantity": 2}],
        }
        events.write_text("\n".join(json.dumps(e) for e in (*joined, paid)) + "\n")
        ingested = ok("events", "ingest", str(events))
        assert ingested["events"] == 3
        ok("maintain", "run")

    return build


STATS = (
    ("stats", "overview"),
    ("stats", "claims", "--perk", "coffee"),
    ("stats", "members"),
    ("stats", "promo", "flyer"),
    ("stats", "discounts"),
)


def _figures(document: dict) -> dict:
    """A statistics document without where it was read."""
    return {k: v for k, v in document.items() if k != "read_from"}


def test_statistics_read_from_the_standby_match_the_primary(cli, club, db_url, replica):
    club(db_url)
    _caught_up(db_url, replica)
    for command in STATS:
        on_primary = cli(*command, "--json")
        on_replica = cli("--read-url", replica, *command, "--json")
        assert on_replica.exit_code == 0, on_replica.stderr
        assert _figures(on_replica.json) == _figures(on_primary.json), command
        assert "behind the primary" not in on_replica.stderr
        assert on_primary.json["read_from"]["database"] == "primary"
        assert on_primary.json["read_from"]["lag_seconds"] is None
        assert on_replica.json["read_from"]["database"] == "replica"
        assert on_replica.json["read_from"]["lag_seconds"] < 5
        assert ":5433/" in on_replica.json["read_from"]["url"]
    verified = cli("--read-url", replica, "audit", "verify", "--json")
    assert verified.exit_code == 0, verified.stderr
    assert verified.json["read_from"]["database"] == "replica"
    assert verified.json["read_from"]["lag_seconds"] < 5  # other databases of the cluster write
    assert (
        verified.json["ledger_entries"] == cli("audit", "verify", "--json").json["ledger_entries"]
    )
    # a writer given the read URL still writes the primary (the standby is read-only)
    credit = cli("--read-url", replica, "points", "credit", "C-1", "5", "--reason", "x", "--json")
    assert credit.exit_code == 0, credit.stderr


def test_stats_says_when_the_standby_lags(cli, club, db_url, replica):
    club(db_url)
    _caught_up(db_url, replica)
    before = cli("--read-url", replica, "stats", "overview", "--json").json
    with _connect(REPLICA_ADMIN_URL) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            assert cli("member", "add", "C-99", "--name", "Late").exit_code == 0
            time.sleep(6.5)  # more than the 5 s worth saying
            lagging = cli("--read-url", replica, "stats", "overview", "--json")
            verify = cli("--read-url", replica, "audit", "verify", "--json")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert lagging.exit_code == 0, lagging.stderr
    assert _figures(lagging.json) == _figures(before)  # C-99 is not on the standby yet
    assert lagging.json["read_from"]["lag_seconds"] > 5  # said in the document too
    assert "read replica is" in lagging.stderr and "behind the primary" in lagging.stderr
    assert verify.json["read_from"]["lag_seconds"] > 5
    _caught_up(db_url, replica)
    assert cli("--read-url", replica, "stats", "overview", "--json").json["members"] == 9


def test_the_program_runs_through_pgbouncer_in_transaction_mode(cli, club, db_url, pooler):
    """Claims, a redemption, ingest and maintenance through the pooler, each command a
    few transactions that may land on different server sessions; then everything adds
    up on the primary."""
    club(pooler)
    for n in range(2, 7):  # the same statements many times in one process: none prepared
        again = cli("perk", "claim", "coffee", "--member", f"C-{n}", "--json", url=pooler)
        assert again.exit_code == 0, again.stderr
    stats = cli("stats", "claims", "--perk", "coffee", "--json", url=pooler)
    assert stats.json["perks"][0]["claims"] == 11  # 5 + 5 + the prize
    direct = cli("stats", "claims", "--perk", "coffee", "--json").json
    assert _figures(stats.json) == _figures(direct)
    verified = cli("audit", "verify", "--json")
    assert verified.exit_code == 0, verified.stderr
