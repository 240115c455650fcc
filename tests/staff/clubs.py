"""Clubs for the staff tests: a migrated database of each kind, the login that set it up
(its owner), and a way to run the CLI — or, on PostgreSQL, plain SQL — as any login.

SQLite has no logins: the operator is the OS login as getpass reports it, so a login is
played by LOGNAME/USER. PostgreSQL logins are real roles of the test cluster: every
name starts with this session's prefix (unique per pytest process, so parallel workers
and other people's runs never collide), and the session drops its databases and then
its roles at the end. The cluster-wide group roles (loyalty_owner, ...) are shared and
never dropped.

On PostgreSQL a club is a copy of a template database that the session's owner login
made and migrated (`CREATE DATABASE ... TEMPLATE`, so the owner owns the tables as it
would after `loyaltyctl init`); the owner may create roles (CREATEROLE), as the README
says a club's owner needs.
"""

from __future__ import annotations

import itertools
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import PG_ADMIN_URL, CliResult

PREFIX = f"lt{uuid.uuid4().hex[:6]}"
_numbers = itertools.count(1)


def _admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def pg_url_admin(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def pg_url(login: str, database: str) -> str:
    base = PG_ADMIN_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{login}@{base}/{database}"


@dataclass
class PgCluster:
    """The session's PostgreSQL side: its owner login, template and club databases."""

    owner: str
    template: str
    databases: list[str] = field(default_factory=list)

    def new_database(self) -> tuple[str, str]:
        """A club database and its owner: a login of its own (group roles are shared by
        the cluster, so one club's staff changes must not reach another's owner) that
        owns the database and its tables, as after `loyaltyctl init`."""
        import psycopg

        number = next(_numbers)
        name, owner = f"{PREFIX}_club{number}", f"{PREFIX}_{number}_owner"
        with _admin() as conn:
            conn.execute(f'CREATE ROLE "{owner}" LOGIN CREATEROLE')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" OWNER "{owner}"')
        self.databases.append(name)
        owned = (
            "SELECT 'TABLE', relname FROM pg_class WHERE relkind = 'r' "
            "AND pg_get_userbyid(relowner) = %(who)s "
            "UNION ALL SELECT 'VIEW', relname FROM pg_class WHERE relkind = 'v' "
            "AND pg_get_userbyid(relowner) = %(who)s "
            "UNION ALL SELECT 'FUNCTION', proname || '()' FROM pg_proc "
            "WHERE pg_get_userbyid(proowner) = %(who)s"
        )
        with psycopg.connect(pg_url_admin(name), autocommit=True) as conn:
            for kind, obj in conn.execute(owned, {"who": self.owner}).fetchall():
                conn.execute(f'ALTER {kind} {obj} OWNER TO "{owner}"')
        return name, owner

    def drop_database(self, name: str) -> None:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_cluster() -> PgCluster:
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    owner, template = f"{PREFIX}_owner", f"{PREFIX}_template"
    with _admin() as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN CREATEROLE')
        conn.execute(f'CREATE DATABASE "{template}" OWNER "{owner}"')
    db = Database(pg_url(owner, template), check_schema=False)
    migrate.upgrade(db)  # as the owner: it owns the tables, as after `loyaltyctl init`
    db.dispose()
    return PgCluster(owner, template)


def drop_cluster(cluster: PgCluster) -> None:
    """The session's databases, then every role with the session's prefix."""
    with _admin() as conn:
        for name in [*cluster.databases, cluster.template]:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        roles = [
            name
            for (name,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (PREFIX + "%",)
            )
        ]
        for name in roles:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


@dataclass
class Club:
    """One club's database and how to act on it as a login."""

    backend: str
    owner: str  # the login that set the database up (and runs the first `staff add`)
    database: str  # PostgreSQL: the database's name; SQLite: the file
    keys_file: Path
    runner_env: dict

    def login(self, name: str) -> str:
        """A login name of this test session (unique on the shared cluster)."""
        return f"{PREFIX}_{next(_numbers)}_{name}"

    def url(self, login: str | None = None) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.database}"
        return pg_url(login or self.owner, self.database)

    def admin_url(self) -> str:
        """Behind the tool's back: the file, or the cluster's superuser."""
        if self.backend == "sqlite":
            return self.url()
        return pg_url_admin(self.database)

    def cli(
        self, login: str | None, *args, input: str | None = None, env=None, url=None
    ) -> CliResult:
        """Run loyaltyctl as ``login`` (None: the owner), on ``url`` if given."""
        from typer.testing import CliRunner

        from loyaltyctl.cli.main import app

        who = login or self.owner
        environment = {**self.runner_env, "LOGNAME": who, "USER": who, **(env or {})}
        if self.backend == "postgresql":  # the OS login must not matter there
            environment.update(LOGNAME="someone-else", USER="someone-else")
        argv = ["--database-url", url or self.url(who), *[str(a) for a in args]]
        result = CliRunner().invoke(app, argv, input=input, env=environment, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def ok(self, login: str | None, *args) -> CliResult:
        result = self.cli(login, *args)
        assert result.exit_code == 0, result.stderr
        return result

    def json(self, login: str | None, *args):
        return json.loads(self.ok(login, *args, "--json").stdout)

    def sql(self, login: str, statement: str, params: tuple | None = None) -> list:
        """One statement over a plain psycopg connection as ``login`` (PostgreSQL)."""
        import psycopg

        with psycopg.connect(self.url(login), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def snapshot(self) -> dict:
        """Every row of every table, for "nothing changed" comparisons."""
        from sqlalchemy import text

        from loyaltyctl.store.db import Database
        from loyaltyctl.store.tables import metadata

        db = Database(self.admin_url(), check_schema=False)
        try:
            with db.transaction(write=False, rollback=True) as session:
                return {
                    name: sorted(map(repr, session.execute(text(f"SELECT * FROM {name}")).all()))
                    for name in sorted(metadata.tables)
                }
        finally:
            db.dispose()


def new_club(request, backend: str, tmp_path, monkeypatch):
    from loyaltyctl import crypto

    for name in ("LOYALTYCTL_OPERATOR", "LOYALTYCTL_DATABASE_URL", "LOYALTYCTL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "LOYALTYCTL_DEBUG", "LOYALTYCTL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    keys_file = tmp_path / "keys" / "keys.toml"
    crypto.create(keys_file, exist_ok=False)
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "LOYALTYCTL_KEYS_FILE": str(keys_file),
    }
    if backend == "sqlite":
        target = tmp_path / "club.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield Club("sqlite", f"{PREFIX}_{next(_numbers)}_ada", str(target), keys_file, env)
        return
    cluster: PgCluster = request.getfixturevalue("staff_cluster")
    name, owner = cluster.new_database()
    yield Club("postgresql", owner, name, keys_file, env)
    cluster.drop_database(name)


def staffed(club: Club, **roles: str) -> dict[str, str]:
    """The owner adds one login per ``name=role``; returns name -> login."""
    logins = {}
    for name, role in roles.items():
        logins[name] = club.login(name)
        club.ok(None, "staff", "add", logins[name], "--role", role)
    return logins


def program(club: Club) -> None:
    """The example program applied and a few members with points (by the owner, before
    any staff exist)."""
    root = Path(__file__).resolve().parents[2]
    club.ok(None, "apply", root / "config" / "program")
    for member, points in (("C-1", 3000), ("C-2", 3000), ("C-3", 0)):
        club.ok(None, "member", "add", member, "--name", f"Member {member}")
        if points:
            club.ok(None, "points", "credit", member, points, "--reason", "opening balance")
