"""staff and roles: the staff table, program settings (the administrator cap), and on
PostgreSQL the cluster's group roles loyalty_owner / loyalty_manager /
loyalty_administrator when absent

Nothing is enforced by this migration: the first `staff add` does that (grants, row
security, CONNECT). The group roles are cluster-wide and shared by every club database
of the cluster, so they are made only when missing (a concurrent migration of another
database may make them first) and never dropped; a login that may not create roles
skips them (`staff add` makes them later, or says who must).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GROUP_ROLES = ("loyalty_owner", "loyalty_manager", "loyalty_administrator")

CREATE_GROUP_ROLES = """
DO $$
DECLARE
    name text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user
                   AND (rolcreaterole OR rolsuper)) THEN
        RETURN;
    END IF;
    FOREACH name IN ARRAY ARRAY[{names}] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration made it meanwhile
            END;
        END IF;
    END LOOP;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("login", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_login", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'manager', 'administrator')", name=op.f("ck_staff_role_known")
        ),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_staff")),
    )
    setting = op.create_table(
        "program_setting",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_program_setting")),
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite keeps UTC text without an offset
    op.bulk_insert(
        setting,
        [
            {
                "name": "administrator_cap",
                "value": "1000",
                "updated_at": now,
                "updated_by": "loyaltyctl",
            }
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_GROUP_ROLES.format(names=", ".join(f"'{r}'" for r in GROUP_ROLES)))


# what the first `staff add` made (store/staff_privileges.py), undone before the tables
# it reads go: row policies, the counters' guard, the CONNECT function
UNDO_ENFORCEMENT = """
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT schemaname, tablename, policyname FROM pg_policies
                WHERE schemaname = current_schema() AND policyname LIKE 'loyalty\\_%' LOOP
        EXECUTE format('DROP POLICY %I ON %I.%I', item.policyname, item.schemaname,
                       item.tablename);
        EXECUTE format('ALTER TABLE %I.%I DISABLE ROW LEVEL SECURITY', item.schemaname,
                       item.tablename);
    END LOOP;
    FOR item IN SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                WHERE t.tgname = 'loyaltyctl_counter_guard'
                  AND c.relnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('DROP TRIGGER loyaltyctl_counter_guard ON %I', item.relname);
    END LOOP;
    DROP FUNCTION IF EXISTS loyaltyctl_counter_guard();
    DROP FUNCTION IF EXISTS loyaltyctl_staff_connect(name, boolean);
END $$
"""


def downgrade() -> None:
    # the group roles stay: other databases of the cluster may use them; CONNECT, the
    # grants and the tables' owner stay as they are (the database's owner decides)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UNDO_ENFORCEMENT)
    op.drop_table("program_setting")
    op.drop_table("staff")
