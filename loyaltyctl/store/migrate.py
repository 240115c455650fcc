"""Schema migrations through Alembic, with the scripts shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from loyaltyctl.store.db import Database, is_newer, newer_schema, schema_version

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations; returns (before, after) revisions. Seeds fixed rows."""
    from alembic import command

    with db.connect(create=True) as conn:
        if db.is_sqlite:
            conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            before = schema_version(conn)
            if before is not None and is_newer(before):
                raise newer_schema(before)
            command.upgrade(_config(conn), revision)
            after = schema_version(conn)
            if before != after and not db.is_sqlite:
                _grant_new_tables(conn)
    return before, after


def _grant_new_tables(conn) -> None:
    """Staff roles enforced (spec §8): the tables a migration added get the roles'
    privileges, in the upgrade's transaction (store/staff_privileges.py)."""
    from sqlmodel import Session

    from loyaltyctl.store import staff, staff_privileges
    from loyaltyctl.store.driver import has_table

    with Session(bind=conn) as session:
        if has_table(session, "staff") and staff.any_staff(session):
            staff_privileges.apply_privileges(session)


def current(db: Database) -> str | None:
    """The database's revision; None when it has no schema (or no SQLite file yet)."""
    path = db.sqlite_path
    if path is not None and not path.exists():
        return None
    with db.connect() as conn, conn.begin():
        return schema_version(conn)


def pending_differences(db: Database) -> list:
    """What autogenerate would change: empty when models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from loyaltyctl.store.tables import metadata

    with db.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, metadata)
