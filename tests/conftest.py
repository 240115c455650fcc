"""Every service and CLI test runs against SQLite and a fresh PostgreSQL database.

PostgreSQL: 127.0.0.1:5432, user postgres (override with LOYALTYCTL_TEST_PG_URL, an
admin URL). When it cannot be reached, the PostgreSQL half is skipped with a
message, except in CI (CI=true), where the run fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get(
    "LOYALTYCTL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TABLES = (
    "discount_summary",
    "discount_member",
    "discount_use",
    "discount_grant",
    "discount_subscription",
    "discount",
    "earning_counter",
    "held_refund",
    "ingested_event",
    "earning_rule",
    "tier",
    "ledger_summary",
    "claim_day",
    "perk_bucket",
    "idempotency_key",
    "promo_redemption",
    "campaign_member",
    "promo_code",
    "promo_batch",
    "campaign",
    "webhook_delivery",
    "coupon",
    "coupon_summary",
    "claim_lot",
    "claim",
    "perk_member",
    "perk",
    "point_lot",
    "ledger_entry",
    "member_label",
    "audit_event",
    "audit_chain",
    "member",
    "staff",
    "program_setting",
)


def _pg_error() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture(autouse=True)
def _real_clock():
    """Every test starts and ends on the real clock: a command run in process with
    LOYALTYCTL_CLOCK moves the process's clock (domain.values.set_clock) until the next
    command, and a service test that follows in the same worker would otherwise read it."""
    from loyaltyctl.domain.values import set_clock

    set_clock(None)
    yield
    set_clock(None)


@pytest.fixture(scope="session")
def pg_server_url():
    """A fresh database for this test session (one per xdist worker), migrated."""
    error = _pg_error()
    if error:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({error})"
        if IN_CI:
            pytest.fail(message + " - CI must run the PostgreSQL tests.", pytrace=False)
        pytest.skip(message + "; PostgreSQL tests skipped (set LOYALTYCTL_TEST_PG_URL).")
    import psycopg

    name = f"loyaltyctl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    db = Database(url, check_schema=False)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}", check_schema=False)
    migrate.upgrade(db)
    db.dispose()
    return path


def _reset_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        conn.execute("UPDATE job_lock SET holder = NULL, expires_at = NULL")
        # a test that fails while the revision is changed must not break the next ones
        from loyaltyctl.store.db import SCHEMA_HEAD

        conn.execute("UPDATE alembic_version SET version_num = %s", (SCHEMA_HEAD,))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        target = tmp_path / "loyalty.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_server_url")
    _reset_pg(url)
    return url


@pytest.fixture
def db(db_url):
    from loyaltyctl.store.db import Database

    database = Database(db_url)
    yield database
    database.dispose()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    """Run loyaltyctl in-process against the test database: cli("points", "credit", ...)."""
    from typer.testing import CliRunner

    from loyaltyctl.cli.main import app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("LOYALTYCTL_OPERATOR", "tester")
    monkeypatch.delenv("LOYALTYCTL_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOYALTYCTL_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, url: str | None = db_url, input: str | None = None) -> CliResult:
        argv = (["--database-url", url] if url else []) + [str(a) for a in args]
        result = runner.invoke(app, argv, input=input, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    invoke.url = db_url
    return invoke


@pytest.fixture
def run(db):
    """Run a service function in one write transaction: run(fn, **kwargs)."""

    def call(fn, **kwargs):
        return db.run(lambda session: fn(session=session, **kwargs))

    return call


@pytest.fixture
def member(run):
    """A factory for members: member("C-1", phone=..., tags=[...])."""
    from loyaltyctl.services.members import MemberFields, add_member

    def make(external_id: str = "C-1", name: str = "Test Member", *, groups=(), tags=(), **fields):
        return run(
            add_member,
            external_id=external_id,
            fields=MemberFields(name=name, **fields),
            groups=list(groups),
            tags=list(tags),
            operator="tester",
        )

    return make


@pytest.fixture
def tamper(db_url):
    """Run raw SQL behind the tool's back, as an intruder would: append-only triggers
    dropped first. tamper("UPDATE ledger_entry SET amount = 1 WHERE id = 2")."""
    from sqlalchemy import text

    from loyaltyctl.store.db import Database

    def execute(*statements: str) -> None:
        db = Database(db_url, check_schema=False)
        with db.transaction() as session:
            if db.is_sqlite:
                for name in (
                    "ledger_entry_no_update",
                    "ledger_entry_no_delete",
                    "audit_event_no_update",
                    "audit_event_no_delete",
                ):
                    session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            else:
                for table in ("ledger_entry", "audit_event"):
                    session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for statement in statements:
                session.execute(text(statement))
            if not db.is_sqlite:
                for table in ("ledger_entry", "audit_event"):
                    session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        db.dispose()

    return execute


@pytest.fixture
def keys(tmp_path, monkeypatch):
    """A key file for this test (LOYALTYCTL_KEYS_FILE points at it); returns the KeyRing."""
    from loyaltyctl import crypto

    path = tmp_path / "keys" / "keys.toml"
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(path))
    ring, _ = crypto.create(path, exist_ok=False)
    return ring
