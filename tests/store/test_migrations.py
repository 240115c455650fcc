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
