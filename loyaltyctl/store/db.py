"""Engine, sessions and the one-transaction-per-command runner.

SQLite: WAL, a busy timeout, foreign keys, and the write lock taken at BEGIN
(``BEGIN IMMEDIATE``) for every write transaction. PostgreSQL: psycopg 3, READ
COMMITTED with conditional updates and row locks. On both, a transaction that
lost a race (serialization failure, deadlock, busy database, a unique key taken
by a concurrent writer) is retried from the start with jittered backoff, so users
never see those errors.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from loyaltyctl.domain.errors import (
    ConfigProblem,
    DatabaseBusy,
    DatabaseUnavailable,
    NotPermitted,
    SchemaMissing,
    SchemaNewer,
    SchemaOutdated,
)
from loyaltyctl.store.failures import FailureWords, first_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

T = TypeVar("T")


def __getattr__(name: str) -> Any:
    """``Session`` (SQLModel's), imported when first asked for: the services annotate
    with it, and the counter's read commands never import SQLAlchemy (see
    `Database.run`'s ``raw``)."""
    if name == "Session":
        from sqlmodel import Session

        return Session
    raise AttributeError(name)


class _NoSuchError(Exception):
    """What no exception is: SQLAlchemy's errors before SQLAlchemy is imported."""


def _sa_errors() -> tuple[type, type, type]:
    """SQLAlchemy's (OperationalError, DBAPIError, IntegrityError); none of them can have
    been raised while SQLAlchemy is not imported."""
    exc = sys.modules.get("sqlalchemy.exc")
    if exc is None:
        return _NoSuchError, _NoSuchError, _NoSuchError
    return exc.OperationalError, exc.DBAPIError, exc.IntegrityError


# The newest migration; a test checks it equals Alembic's head.
SCHEMA_HEAD = "0014"  # 0011 and 0012 were left unused by the branches that merged

SQLITE_BUSY_TIMEOUT_MS = 5_000
RETRY_BUDGET_SECONDS = 60.0
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
)


class ConcurrentChange(RuntimeError):
    """A conditional write found a row not as it was read: the transaction is retried."""


def normalize_url(url: str) -> str:
    """Accept the spec's ``postgresql://`` form and use psycopg 3 for it."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def prepare_threshold(url: str) -> tuple[str, int | None]:
    """(the URL without it, psycopg's ``prepare_threshold``) from ``?prepare_threshold=N``.

    Nothing is prepared server-side by default (None): a prepared statement lives in the
    server session, and behind a pooler in transaction mode (PgBouncer before 1.21) the
    next transaction may run on another session, which does not have it ("prepared
    statement _pg3_0 does not exist"). A direct connection may ask psycopg to prepare a
    statement after N executions in one process (``?prepare_threshold=5``, psycopg's own
    default); ``none`` is the default."""
    from urllib.parse import parse_qsl, urlencode

    base, mark, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    given = next((v for k, v in pairs if k == "prepare_threshold"), None)
    if given is None:
        return url, None
    others = [(k, v) for k, v in pairs if k != "prepare_threshold"]
    rest = base + (mark + urlencode(others) if others else "")
    text_value = given.strip().lower()
    if text_value in ("", "none"):
        return rest, None
    if not text_value.isdigit():
        raise ConfigProblem(
            f"prepare_threshold={given!r} in the database URL must be a whole number of "
            "executions, or none (never prepare: the setting for a transaction pooler)."
        )
    return rest, int(text_value)


def _is_driver_error(exc: BaseException) -> bool:
    """The drivers' own exceptions: statements sent through the raw connection (the hot
    and bulk paths) raise them unwrapped by SQLAlchemy. (psycopg is not imported for
    this: it costs SQLite users 0.15 s of start-up.)"""
    import sqlite3

    return isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg")


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a psycopg error, raised as it is or wrapped by SQLAlchemy."""
    return getattr(getattr(exc, "orig", None) or exc, "sqlstate", None)


def _is_integrity(exc: BaseException) -> bool:
    import sqlite3

    if isinstance(exc, _sa_errors()[2] | sqlite3.IntegrityError):
        return True
    return getattr(exc, "sqlstate", None) in ("23505", "23503")


def _is_retryable(exc: BaseException) -> bool:
    OperationalError, DBAPIError, _ = _sa_errors()  # noqa: N806 - the classes
    if isinstance(exc, ConcurrentChange):
        return True
    if _is_integrity(exc):
        return True  # a concurrent writer took the key first: the rerun sees it
    if getattr(exc, "sqlstate", None) in ("40001", "40P01", "55P03"):
        return True  # a raw psycopg error
    if not isinstance(exc, OperationalError | DBAPIError):
        message = str(exc).lower()  # a raw sqlite3 error
        return "database is locked" in message or "database is busy" in message
    if isinstance(exc, OperationalError | DBAPIError):
        orig = getattr(exc, "orig", None)
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate in ("40001", "40P01", "55P03"):
            return True
        message = str(orig or exc).lower()
        return "database is locked" in message or "database is busy" in message
    return False


def _is_unreachable(exc: BaseException) -> bool:
    if not isinstance(exc, _sa_errors()[0]):
        return False
    message = str(getattr(exc, "orig", exc)).lower()
    return any(
        phrase in message
        for phrase in (
            "connection refused",
            "could not connect",
            "unable to open database",
            "does not exist",
            "connection failed",
            "timeout expired",
            "could not translate host",
            "no such host",
        )
    )


class Database(FailureWords):
    """One database URL: its engine and a runner for whole-command transactions."""

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.given_url = url
        self.url = normalize_url(url)
        if not self.url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ConfigProblem(
                f"Unsupported database URL {url!r}; use sqlite:///path/to/file.db or "
                "postgresql://user@host/db."
            )
        self.check_schema = check_schema
        self._engine: Engine | None = None
        self._schema_checked = False
        # the driver's own connection of each thread, kept between its raw transactions
        # (a claimer making many claims connects once, as through the engine's pool)
        self._raw_idle: dict[int, Any] = {}

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def backend(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.url.split("///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path).expanduser()

    def _create_engine(self) -> Engine:
        from sqlalchemy import create_engine, event

        if self.is_sqlite:
            engine = create_engine(
                self.url,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None},
            )

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
                cur = dbapi_conn.cursor()
                for pragma in SQLITE_PRAGMAS:
                    cur.execute(pragma)
                cur.close()

            @event.listens_for(engine, "begin")
            def _begin(conn: Connection):
                mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
                conn.exec_driver_sql(f"BEGIN {mode}")

            return engine
        url, threshold = prepare_threshold(self.url)
        engine = create_engine(
            url,
            connect_args={
                "connect_timeout": 5,
                "application_name": "loyaltyctl",
                "prepare_threshold": threshold,
            },
            pool_pre_ping=False,
        )

        @event.listens_for(engine, "connect")
        def _adapters(dbapi_conn, _record):  # pragma: no cover - exercised by every PG test
            from loyaltyctl.store.driver import configure_postgres

            configure_postgres(dbapi_conn)

        return engine

    def dispose(self) -> None:
        while self._raw_idle:
            self._raw_idle.popitem()[1].close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def connect(self, *, create: bool = False) -> Connection:
        """A connection; a SQLite file is created only when ``create`` (migrations)."""
        path = self.sqlite_path
        if path is not None and not path.exists():
            if not create:
                raise SchemaMissing(f"There is no database at {path}.")
            _create_private_file(path)
        try:
            return self.engine.connect()
        except _sa_errors()[:2] as exc:
            raise self._not_opened(exc) from exc

    def url_login(self) -> str | None:
        """The user named by the URL (PostgreSQL), if any."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).username
        except Exception:  # noqa: BLE001 - an unparsable URL names nobody
            return None

    def safe_url(self) -> str:
        """The URL without a password, for messages."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.given_url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - an unparsable URL is shown as given
            return self.given_url

    @contextmanager
    def transaction(
        self, *, write: bool = True, rollback: bool = False, check_schema: bool | None = None
    ) -> Iterator[Session]:
        """One transaction; on SQLite a write transaction holds the write lock from BEGIN.

        ``rollback=True`` undoes everything at the end (dry runs see the real outcome).
        ``check_schema=False`` skips the revision check for this transaction (who runs a
        command is asked before `db upgrade` can bring the schema up to date).
        """
        check = self.check_schema if check_schema is None else check_schema
        with self.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            elif not write:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin() as tx:
                if check and not self._schema_checked:
                    self._verify_schema(conn)
                from sqlmodel import Session

                with Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
                if rollback:
                    tx.rollback()

    @contextmanager
    def raw_transaction(
        self, *, write: bool = True, rollback: bool = False, check_schema: bool | None = None
    ) -> Iterator[Any]:
        """`transaction` on the driver's own connection, without SQLAlchemy: the session is
        a `driver.RawSession`, which only the driver's functions (and the store functions
        built on them alone) take. For commands that must start fast."""
        from loyaltyctl.store.driver import RawSession

        check = self.check_schema if check_schema is None else check_schema
        thread = threading.get_ident()
        conn = self._raw_idle.pop(thread, None) or self._raw_connect()
        reusable = False
        try:
            _begin_raw(conn, sqlite=self.is_sqlite, write=write)
            session = RawSession(conn, sqlite=self.is_sqlite)
            if check and not self._schema_checked:
                self._verify_raw_schema(session)
            yield session
            if rollback:
                conn.rollback()
            else:
                conn.commit()
            reusable = True
        except BaseException:
            if not getattr(conn, "closed", False):
                conn.rollback()
                # a refusal or a lost race leaves it as good as new; a broken one goes
                reusable = not getattr(conn, "broken", False)
            raise
        finally:
            if reusable and thread not in self._raw_idle:
                self._raw_idle[thread] = conn
            else:
                conn.close()

    def truncate_log(self) -> None:
        """SQLite: copy the write-ahead log into the file and empty it, so pages a
        transaction rewrote (`member forget`) leave no older copy in the log (best
        effort: a reader still in an older snapshot keeps part of it). PostgreSQL: nothing
        the tool can do (its WAL and old row versions: the README's recipe)."""
        if not self.is_sqlite or self.sqlite_path is None:
            return
        conn = self._raw_connect()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()

    def _raw_connect(self) -> Any:
        if self.is_sqlite:
            import sqlite3

            path = self.sqlite_path
            if path is not None and not path.exists():
                raise SchemaMissing(f"There is no database at {path}.")
            try:
                conn = sqlite3.connect(
                    str(path) if path else ":memory:",
                    timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                )
                for pragma in SQLITE_PRAGMAS:
                    conn.execute(pragma)
            except sqlite3.Error as exc:
                raise self._not_opened(exc) from exc
            return conn
        import psycopg

        try:
            url, threshold = prepare_threshold(self.url)
            connection = psycopg.connect(
                "postgresql://" + url.split("://", 1)[1],
                connect_timeout=5,
                application_name="loyaltyctl",
            )
            connection.prepare_threshold = threshold  # None: nothing prepared (poolers)
            from loyaltyctl.store.driver import configure_postgres

            configure_postgres(connection)  # jsonb read as text, as on the engine's
            return connection
        except psycopg.OperationalError as exc:
            raise self._not_opened(exc) from exc

    def _verify_raw_schema(self, session: Any) -> None:
        from loyaltyctl.store.driver import fetch_one, has_table

        version = None
        if has_table(session, "alembic_version"):
            version = fetch_one(session, "SELECT version_num FROM alembic_version")[0]
        self._check_version(version)

    def run(
        self,
        work: Callable[[Session], T],
        *,
        write: bool = True,
        rollback: bool = False,
        check_schema: bool | None = None,
        raw: bool = False,
    ) -> T:
        """Run ``work`` in one transaction, retrying lost races from the start. With
        ``raw`` the transaction is on the driver's own connection (`raw_transaction`)."""
        deadline = time.monotonic() + RETRY_BUDGET_SECONDS
        attempt = 0
        transaction = self.raw_transaction if raw else self.transaction
        while True:
            attempt += 1
            try:
                with transaction(
                    write=write, rollback=rollback, check_schema=check_schema
                ) as session:
                    return work(session)
            except Exception as exc:
                if not isinstance(
                    exc, _sa_errors()[:2] + (ConcurrentChange,)
                ) and not _is_driver_error(exc):
                    raise
                if _sqlstate(exc) == "42501":  # PostgreSQL enforces the staff roles
                    raise NotPermitted(
                        f"The database refused the change: {first_line(exc)}.",
                        operator=self.url_login(),
                    ) from exc
                if _is_unreachable(exc) and not _is_retryable(exc):
                    raise DatabaseUnavailable(
                        f"Cannot use the database at {self.safe_url()}: {first_line(exc)}.",
                        backend=self.backend,
                    ) from exc
                storage = self.storage_problem(exc)
                if storage is not None:
                    raise storage from exc
                if not _is_retryable(exc):
                    raise
                if time.monotonic() > deadline or (_is_integrity(exc) and attempt >= 5):
                    if _is_integrity(exc):
                        raise
                    raise DatabaseBusy(
                        "The database stayed busy for a minute and the change was not made."
                    ) from exc
                # jittered exponential backoff: keeps SQLite writers from starving
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))

    def _verify_schema(self, conn: Connection) -> None:
        self._check_version(schema_version(conn))

    def _check_version(self, version: str | None) -> None:
        if version is None:
            raise SchemaMissing(f"The database at {self.safe_url()} has no loyaltyctl schema.")
        if is_newer(version):
            raise newer_schema(version)
        if version != SCHEMA_HEAD:
            raise SchemaOutdated(
                f"The database schema is at revision {version} but this loyaltyctl needs "
                f"{SCHEMA_HEAD}."
            )
        self._schema_checked = True


def _begin_raw(conn: Any, *, sqlite: bool, write: bool) -> None:
    """Start a transaction on the driver's own connection: SQLite's write lock at BEGIN
    for a write; PostgreSQL's READ COMMITTED for a write, a REPEATABLE READ snapshot for
    a read (the connection may have served either before)."""
    if sqlite:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
    elif write:
        conn.isolation_level = None  # the server's: READ COMMITTED
    else:
        from psycopg import IsolationLevel

        conn.isolation_level = IsolationLevel.REPEATABLE_READ


def is_newer(version: str) -> bool:
    """A revision this loyaltyctl does not know: written by a newer one (revisions are
    numbered 0001, 0002, ...; anything else is not ours either)."""
    return not version.isdigit() or int(version) > int(SCHEMA_HEAD)


def newer_schema(version: str) -> SchemaNewer:
    return SchemaNewer(
        f"This database was written by a newer loyaltyctl (schema revision {version}; this "
        f"one knows up to {SCHEMA_HEAD}).",
        revision=version,
        head=SCHEMA_HEAD,
    )


def _create_private_file(path: Path) -> None:
    """A new SQLite file readable by its owner only (0600, like the key file): it holds
    names, phones and emails. SQLite gives its WAL and shared-memory files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def schema_version(conn: Connection) -> str | None:
    """The Alembic revision of the database, or None when it has no schema."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
