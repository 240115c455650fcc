import pytest
from sqlalchemy import text

from loyaltyctl.domain.errors import SchemaMissing, SchemaOutdated
from loyaltyctl.store import migrate
from loyaltyctl.store.db import SCHEMA_HEAD, Database


def test_models_and_migrations_agree(db_url):
    db = Database(db_url, check_schema=False)
    assert migrate.pending_differences(db) == []
    db.dispose()


def test_the_schema_head_constant_is_alembics_head():
    assert migrate.head_revision() == SCHEMA_HEAD


def test_upgrade_is_idempotent(db_url):
    db = Database(db_url, check_schema=False)
    assert migrate.upgrade(db) == (SCHEMA_HEAD, SCHEMA_HEAD)
    db.dispose()


def test_an_outdated_schema_is_refused_with_the_command_to_run(db_url):
    admin = Database(db_url, check_schema=False)
    with admin.transaction() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        with pytest.raises(SchemaOutdated) as info, Database(db_url).transaction():
            pass
        assert "revision 0000" in info.value.message
    finally:  # the PostgreSQL database is shared by the worker's later tests
        with admin.transaction() as s:
            s.execute(text(f"UPDATE alembic_version SET version_num = '{SCHEMA_HEAD}'"))
        admin.dispose()


def test_an_empty_database_is_refused(tmp_path):
    with pytest.raises(SchemaMissing), Database(f"sqlite:///{tmp_path / 'new.db'}").transaction():
        pass


def test_migrations_build_the_schema_from_nothing_and_back(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}", check_schema=False)
    assert migrate.upgrade(db) == (None, SCHEMA_HEAD)
    assert migrate.pending_differences(db) == []
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """A database with no schema yet, of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    import uuid

    import psycopg

    from tests.conftest import PG_ADMIN_URL

    request.getfixturevalue("pg_server_url")  # skips when PostgreSQL is unreachable
    name = f"loyaltyctl_test_old_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _keyed_credits_at_0002(session) -> None:
    """A member and two keyed credits, written as the tool of revision 0002 wrote them:
    the member's audit event, the ledger chain and the member row's figures."""
    import json
    from datetime import UTC, datetime

    from loyaltyctl.domain.chain import GENESIS, ledger_hash, record_hash
    from loyaltyctl.store.audit import event_content
    from loyaltyctl.store.driver import stamp

    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    details = json.dumps({"name": "Ada", "groups": [], "tags": []}, sort_keys=True)
    content = event_content(
        subject="member:C-1", seq=1, at=at, operator="old", action="member.add", reason=None,
        details=details,
    )  # fmt: skip
    digest = record_hash(GENESIS, content)
    session.execute(
        text(
            "INSERT INTO audit_event (subject, seq, at, operator, action, reason, details, "
            "prev_hash, hash) VALUES ('member:C-1', 1, :at, 'old', 'member.add', NULL, :d, "
            ":prev, :h)"
        ),
        {"at": stamp(session, at), "d": details, "prev": GENESIS, "h": digest},
    )
    session.execute(
        text("INSERT INTO audit_chain (subject, seq, head) VALUES ('member:C-1', 1, :h)"),
        {"h": digest},
    )
    session.execute(
        text(
            "INSERT INTO member (id, external_id, name, tier_manual, created_at, updated_at, "
            "balance, pending, ledger_seq, ledger_head) VALUES (1, 'C-1', 'Ada', false, :at, "
            ":at, 0, 0, 0, :genesis)"
        ),
        {"at": stamp(session, at), "genesis": GENESIS},
    )
    head, balance = GENESIS, 0
    for seq, (key, amount) in enumerate((("k-1", 100), ("k-2", 50)), start=1):
        balance += amount
        row = {
            "member_id": 1, "seq": seq, "at": at, "kind": "credit", "amount": amount,
            "pending_amount": 0, "balance_after": balance, "reason": "old credit",
            "operator": "old", "idem_key": key,
        }  # fmt: skip
        digest = ledger_hash(head, row)
        session.execute(
            text(
                "INSERT INTO ledger_entry (member_id, seq, at, kind, amount, pending_amount, "
                "balance_after, reason, operator, idem_key, request_hash, prev_hash, hash) "
                "VALUES (1, :seq, :at, 'credit', :amount, 0, :balance, 'old credit', 'old', "
                ":key, :rh, :prev, :h)"
            ),
            {
                "seq": seq,
                "at": stamp(session, at),
                "amount": amount,
                "balance": balance,
                "key": key,
                "rh": "0" * 64,
                "prev": head,
                "h": digest,
            },  # fmt: skip
        )
        head = digest
    session.execute(
        text("UPDATE member SET balance = :b, ledger_seq = 2, ledger_head = :h WHERE id = 1"),
        {"b": balance, "h": head},
    )


def test_keys_written_before_0003_are_in_the_key_table_after_upgrading(empty_url):
    """0003 created the key table without filling it; 0014 enters the keys of earlier
    changes, so `audit verify` (keys against the changes holding them) passes."""
    from loyaltyctl.services.audit import verify
    from loyaltyctl.store.idempotency import HOLDERS
    from loyaltyctl.store.promises import idempotency_mismatches

    db = Database(empty_url, check_schema=False)
    try:
        assert migrate.upgrade(db, "0002") == (None, "0002")
        with db.transaction() as session:
            _keyed_credits_at_0002(session)
        migrate.upgrade(db, "0013")
        with db.transaction(write=False, rollback=True) as session:  # verify's check of keys
            problems = list(idempotency_mismatches(session, HOLDERS))
        assert any("'k-1': its entry holds it, the key table does not" in p for p in problems)
        migrate.upgrade(db)
        with db.transaction(write=False, rollback=True) as session:
            result = verify(session=session)
            keys = session.execute(text("SELECT key, kind, ref FROM idempotency_key")).all()
        assert result.ok, result.problems
        assert sorted(keys) == [("k-1", "entry", "1"), ("k-2", "entry", "2")]
    finally:
        db.dispose()
