"""Per-invocation state: the global flags, settings and the database, made lazily."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from loyaltyctl.config import Settings
    from loyaltyctl.store.db import Database

T = TypeVar("T")


@dataclass
class AppContext:
    database_url: str | None = None
    config: str | None = None
    operator_flag: str | None = None
    read_url: str | None = None
    command: str | None = None  # "stats claims": set by the guard before the body runs
    _db: Any = field(default=None, repr=False)
    _replica: Any = field(default=None, repr=False)
    _keys: Any = field(default=None, repr=False)
    _identity: Any = field(default=None, repr=False)
    warned_operator: bool = False

    @cached_property
    def settings(self) -> Settings:
        from loyaltyctl.config import load_settings

        return load_settings(
            database_url=self.database_url,
            config=self.config,
            operator=self.operator_flag,
            read_url=self.read_url,
        )

    @property
    def operator(self) -> str:
        """Who is recorded: once staff exist the login (spec §8), else the setting."""
        identity = self._identity
        if identity is not None and identity.enforced:
            return identity.operator
        return self.settings.operator

    def identity(self):
        """Who runs this command and with which role (read once, before the command:
        cli/_permissions.py). A database without a schema has no staff."""
        if self._identity is None:
            from loyaltyctl.config import os_login
            from loyaltyctl.domain.errors import SchemaMissing
            from loyaltyctl.domain.roles import Identity
            from loyaltyctl.services.identity import identify

            try:  # on the driver's own connection: every command starts with this
                self._identity = self.database().run(
                    lambda s: identify(session=s, os_login=os_login()),
                    write=False,
                    rollback=True,
                    check_schema=False,
                    raw=True,
                )
            except SchemaMissing:
                self._identity = Identity(self.settings.operator, None, enforced=False)
        return self._identity

    def keys(self):
        """The key file's ring (loaded once); KeysMissing / KeysInvalid exit 4."""
        if self._keys is None:
            from loyaltyctl import crypto

            self._keys = crypto.load(self.settings.keys_file)
        return self._keys

    def database(self, *, check_schema: bool = True) -> Database:
        from loyaltyctl.store.db import Database

        if self._db is None or self._db.check_schema != check_schema:
            self.close()
            self._db = Database(self.settings.database_url, check_schema=check_schema)
        return self._db

    def after_erasure(self) -> None:
        """After a committed erasure: no older copy of what it rewrote left in SQLite's
        write-ahead log (`Database.truncate_log`)."""
        self.database().truncate_log()

    def write(self, work: Callable[[Any], T], *, dry_run: bool = False, raw: bool = False) -> T:
        """Run a service in one write transaction (rolled back for a dry run); ``raw`` on
        the driver's own connection, for services written on the driver alone (`perk
        claim`, `points import`: they start without SQLAlchemy)."""
        return self.database().run(work, write=True, rollback=dry_run, raw=raw)

    def read(self, work: Callable[[Any], T], *, raw: bool = False) -> T:
        """Run a service in one read-only snapshot: on the read URL for the commands of
        cli/_routing.py when one is configured, else on the primary; ``raw`` on the
        driver's own connection, for services written on the driver alone (they start
        without SQLAlchemy)."""
        return self.reader().run(work, write=False, rollback=True, raw=raw)

    @property
    def reads_replica(self) -> bool:
        """Whether this command's reads go to the read URL."""
        from loyaltyctl.cli._routing import reads_replica

        return bool(self.settings.read_url) and reads_replica(self.command)

    def reader(self) -> Database:
        """The database this command reads."""
        if not self.reads_replica:
            return self.database()
        from loyaltyctl.store.db import Database

        if self._replica is None:
            self._replica = Database(self.settings.read_url)
        return self._replica

    def replica_lag(self) -> float | None:
        """Seconds the read URL is behind the primary (0 when it has replayed all the
        primary had written when asked); None when this command reads the primary, or
        the read URL is no standby."""
        if not self.reads_replica:
            return None
        from loyaltyctl.services.replication import lag_behind, primary_position

        position = self.database().run(
            lambda s: primary_position(session=s), write=False, rollback=True
        )
        return self.reader().run(
            lambda s: lag_behind(session=s, position=position), write=False, rollback=True
        )

    def read_source(self):
        """Which database this command reads, its URL (no password) and, for a
        standby, how far behind the primary it is (a views.common.ReadFrom)."""
        from loyaltyctl.cli.views.common import ReadFrom

        return ReadFrom(
            "replica" if self.reads_replica else "primary",
            self.reader().safe_url(),
            self.replica_lag(),
        )

    def close(self) -> None:
        for db in (self._db, self._replica):
            if db is not None:
                db.dispose()
        self._db = self._replica = None


_current = AppContext()


def activate(state: AppContext) -> AppContext:
    """Make this invocation's state current (the root callback does, for every command)."""
    global _current
    _current = state
    return state


def current() -> AppContext:
    return _current
