"""The driver: the one place that knows each backend's placeholders, list parameters,
row locks, bulk paths and timestamps.

Hot and bulk paths go through the DB-API connection under the session (sqlite3 or
psycopg 3) instead of SQLAlchemy's statement building, which costs ~1 ms a statement
against ~0.05 ms through the driver. Everything here runs inside the session's current
transaction.

Statements given to this module are written once for both backends: ``{p}`` marks a
parameter (``?`` for sqlite3, ``%s`` for psycopg) and, in `select_in`, ``{in_list}``
marks where a column is tested against a list of values. Statements built with
SQLAlchemy need none of this (``with_for_update()`` renders nothing on SQLite, which
holds the write lock since ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # kept light: the counter's read commands never import SQLAlchemy
    from sqlmodel import Session

# values per statement of `select_in` (SQLite's limit of parameters is 999 on old builds;
# PostgreSQL gets one array parameter: fewer round trips)
IN_LIST_CHUNK = 900
IN_ARRAY_CHUNK = 10_000


class RawSession:
    """A transaction on the driver's own connection, with no SQLAlchemy at all: what the
    counter's read commands run in (`Database.run(..., raw=True)`), so that they start
    without importing it. Every function of this module takes one where it takes a
    session; store modules that build statements with SQLAlchemy do not."""

    def __init__(self, connection: Any, *, sqlite: bool) -> None:
        self.raw_connection, self.sqlite = connection, sqlite
        self.info: dict = {}


def _is_sqlite(session: Session) -> bool:
    if type(session) is RawSession:
        return session.sqlite
    return session.get_bind().dialect.name == "sqlite"


def backend(session: Session) -> str:
    """``sqlite`` or ``postgresql``: for what exists on one only (PostgreSQL's roles)."""
    return "sqlite" if _is_sqlite(session) else "postgresql"


def has_table(session: Session, name: str) -> bool:
    """Whether the table exists (one catalog look-up; an older schema may lack it)."""
    if _is_sqlite(session):
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return _raw(session).execute(sql, (name,)).fetchone() is not None
    return _raw(session).execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None


def login_of(session: Session, *, table: str) -> tuple[str | None, str | None, bool, bool]:
    """(current_user, session_user, superuser, whether ``table`` exists) in one round trip.
    SQLite has no logins: (None, None, False, exists)."""
    if _is_sqlite(session):
        return None, None, False, has_table(session, table)
    row = _raw(session).execute(
        "SELECT current_user, session_user, "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
        "to_regclass(%s) IS NOT NULL",
        (table,),
    )
    current, login, superuser, exists = row.fetchone()
    return current, login, bool(superuser), bool(exists)


def _raw(session: Session) -> Any:
    """The DB-API connection of the session's current transaction."""
    if type(session) is RawSession:
        return session.raw_connection
    return session.connection().connection.driver_connection


@lru_cache(maxsize=512)
def _render(sql: str, sqlite: bool) -> str:
    return sql.format(p="?" if sqlite else "%s")


@lru_cache(maxsize=4096)
def _render_in(sql: str, sqlite: bool, count: int, lock: bool) -> str:
    # numbered (SQLite) or named (psycopg) parameters: every `{in_list}` of the statement
    # (the arms of a UNION, say) names the same values, bound once
    if sqlite:  # SQLite holds the write lock since BEGIN IMMEDIATE: nothing to lock
        return sql.format(in_list=f"IN ({','.join(f'?{n}' for n in range(1, count + 1))})")
    # one array parameter: a list of thousands of placeholders is slow to plan; sent in
    # binary (%b), which psycopg dumps ~3x faster than text (no quoting of each value)
    return sql.format(in_list="= ANY(%(values)b)") + (" FOR UPDATE" if lock else "")


# --- statements -------------------------------------------------------------------------


def run(session: Session, sql: str, params: Sequence = ()) -> int:
    """One statement written with ``{p}`` placeholders; returns the rows it changed."""
    sqlite = _is_sqlite(session)
    return _raw(session).execute(_render(sql, sqlite), params).rowcount


def query(session: Session, sql: str, params: Sequence = ()) -> list[tuple]:
    """The rows of one statement written with ``{p}`` placeholders: a SELECT, or a write
    with ``RETURNING``."""
    sqlite = _is_sqlite(session)
    return _raw(session).execute(_render(sql, sqlite), params).fetchall()


def fetch_one(
    session: Session, sql: str, params: Sequence = (), *, lock: bool = False
) -> tuple | None:
    """The first row of one statement written with ``{p}`` placeholders (a statement run
    once per process: SQLAlchemy would compile it first, ~1-3 ms). ``lock`` adds ``FOR
    UPDATE`` on PostgreSQL (SQLite holds the write lock since BEGIN IMMEDIATE)."""
    sqlite = _is_sqlite(session)
    statement = _render(sql, sqlite) if sqlite or not lock else _render(sql + " FOR UPDATE", False)
    return _raw(session).execute(statement, params).fetchone()


def json_mark(session: Session) -> str:
    """The placeholder of a JSON document (``JsonDocument``: jsonb on PostgreSQL, text on
    SQLite) given as text."""
    return "{p}" if _is_sqlite(session) else "CAST({p} AS jsonb)"


def erase_on_free(session: Session) -> None:
    """Have the database overwrite what this transaction deletes or rewrites, not only
    mark it free (`member forget`). SQLite: ``secure_delete`` (freed cells and pages are
    zeroed; the connection keeps it). PostgreSQL keeps old row versions until VACUUM
    whatever is asked: the README's recipe says so."""
    if _is_sqlite(session):
        _raw(session).execute("PRAGMA secure_delete = ON")


def configure_postgres(dbapi_connection) -> None:
    """A new PostgreSQL connection reads ``jsonb`` as its text, as SQLite gives a JSON
    column (psycopg would make dicts of it)."""
    from psycopg.types.string import TextLoader

    dbapi_connection.adapters.register_loader("jsonb", TextLoader)


def lock_names(session: Session, names: Sequence[str]) -> None:
    """Hold a lock on each of these names (e.g. order ids) until the transaction ends,
    taken in sorted order. PostgreSQL: transaction-scoped advisory locks on a hash of
    each name (two names sharing a hash only wait for each other). SQLite: the write
    lock is held since BEGIN IMMEDIATE, nothing more to take."""
    if _is_sqlite(session) or not names:
        return
    keys = sorted({_lock_key(name) for name in names})
    with _raw(session).cursor() as cur:
        cur.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k",
            {"keys": keys},
        )


def _lock_key(name: str) -> int:
    import hashlib

    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def run_many(session: Session, sql: str, rows: list[Sequence]) -> int:
    """One statement written with ``{p}`` placeholders, executed for each parameter row
    (executemany); returns the rows changed in all."""
    raw = _raw(session)
    if _is_sqlite(session):
        return raw.executemany(_render(sql, True), rows).rowcount
    with raw.cursor() as cur:
        cur.executemany(_render(sql, False), rows)
        return cur.rowcount


class _Names:
    """What ``{v.NAME}`` renders to in a statement of `update_many`."""

    def __init__(self, render: Callable[[str], str]) -> None:
        self._render = render

    def __getattr__(self, name: str) -> str:
        return self._render(name)


# rows from which `update_many` sends PostgreSQL one UPDATE joined to arrays of the values
# (one plan, one round trip) instead of one pipelined UPDATE per row
UPDATE_FROM_ARRAYS_ROWS = 20
UPDATE_ARRAY_CHUNK = 10_000


@lru_cache(maxsize=64)
def _render_update(sql: str, columns: tuple[tuple[str, str], ...], sqlite: bool, arrays: bool):
    names = [name for name, _type in columns]
    if sqlite:  # numbered parameters: a value may appear more than once
        number = {name: f"?{i}" for i, name in enumerate(names, 1)}
        return sql.format(v=_Names(number.__getitem__), values="")
    if not arrays:
        number = {name: f"%({name})s" for name in names}
        return sql.format(v=_Names(number.__getitem__), values="")
    unnest = ", ".join(f"%b::{type_}[]" for _name, type_ in columns)  # binary: as select_in
    values = f"FROM unnest({unnest}) AS v({', '.join(names)})"
    return sql.format(v=_Names(lambda name: f"v.{name}"), values=values)


def update_many(
    session: Session, sql: str, columns: tuple[tuple[str, str], ...], rows: list[Sequence]
) -> int:
    """One UPDATE for each row of values; returns the rows changed in all.

    ``sql`` names a row's values ``{v.NAME}`` (``columns``: each value's name, as none
    of the table's columns is named, and its PostgreSQL type, in the rows' order) and
    has ``{values}`` between its SET and its WHERE. SQLite: executemany, in process.
    PostgreSQL: for a few rows a pipelined executemany; for more, one ``UPDATE ... FROM
    unnest(arrays)`` per `UPDATE_ARRAY_CHUNK` rows (each row must update a different
    table row: a table row joined twice is updated once)."""
    if not rows:
        return 0
    raw = _raw(session)
    if _is_sqlite(session):
        return raw.executemany(_render_update(sql, columns, True, False), rows).rowcount
    if len(rows) < UPDATE_FROM_ARRAYS_ROWS:
        names = [name for name, _type in columns]
        with raw.cursor() as cur:
            cur.executemany(
                _render_update(sql, columns, False, False),
                [dict(zip(names, row, strict=True)) for row in rows],
            )
            return cur.rowcount
    statement = _render_update(sql, columns, False, True)
    changed = 0
    for start in range(0, len(rows), UPDATE_ARRAY_CHUNK):
        chunk = rows[start : start + UPDATE_ARRAY_CHUNK]
        arrays = [list(values) for values in zip(*chunk, strict=True)]  # one array a value
        changed += raw.execute(statement, arrays).rowcount
    return changed


def select_in(
    session: Session, sql: str, values: Sequence, *, lock: bool = False
) -> Iterator[tuple]:
    """The rows of a SELECT whose ``{in_list}`` tests a column against ``values`` (its
    only parameters: ``WHERE id {in_list}``, as often as the statement needs), sent in
    chunks: SQLite gets ``IN (?1, ...)`` of `IN_LIST_CHUNK` values, PostgreSQL ``=
    ANY(%(values)b)`` with one array parameter of `IN_ARRAY_CHUNK`. ``lock`` adds ``FOR
    UPDATE`` on PostgreSQL (sort ``values`` and order the rows, so concurrent lockers take
    the rows in one order). Each chunk is sent when the rows of the one before are read."""
    if not values:
        return iter(())
    raw = _raw(session)
    sqlite = _is_sqlite(session)

    size = IN_LIST_CHUNK if sqlite else IN_ARRAY_CHUNK

    def cursors() -> Iterator[Iterable[tuple]]:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            statement = _render_in(sql, sqlite, len(chunk), lock)
            if sqlite:
                yield raw.execute(statement, chunk)
            else:  # psycopg sends a list as an array
                yield raw.execute(statement, {"values": list(chunk)})

    # chained in C: no Python step per row
    return chain.from_iterable(cursors())


# --- timestamps -------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _sqlite_stamp(value: datetime | None) -> str | None:
    """How SQLite stores a timestamp: UTC text without an offset, as SQLAlchemy writes it."""
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is UTC:  # most: the text without the offset
        return value.isoformat(" ", "microseconds")[:-6]
    # isoformat: the text strftime("%Y-%m-%d %H:%M:%S.%f") gives, five times faster
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@lru_cache(maxsize=65536)
def _sqlite_moment(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


def stamp(session: Session, value: datetime | None):
    """A timestamp as the driver should be given it (SQLite stores text)."""
    return _sqlite_stamp(value) if value is not None and _is_sqlite(session) else value


def stamper(session: Session) -> Callable[[datetime | None], Any]:
    """`stamp` for many values: what turns each into what the driver should be given."""
    return _sqlite_stamp if _is_sqlite(session) else _same


def _same(value):
    return value


def stamp_reader(session: Session) -> Callable[[str], datetime] | None:
    """What turns a timestamp read through the driver into an aware UTC datetime, or None
    when the driver gives those already (psycopg; sqlite3 gives the stored text)."""
    return _sqlite_moment if _is_sqlite(session) else None


# --- writes -----------------------------------------------------------------------------


class IdBlock:
    """Hands out ids reserved in blocks, for rows written later by a bulk insert."""

    def __init__(self, session: Session, table: str, size: int = 1000) -> None:
        self.session, self.table, self.size = session, table, size
        self.free: list[int] = []

    def take(self) -> int:
        if not self.free:
            self.free = reserve_ids(self.session, self.table, self.size)[::-1]
        return self.free.pop()


def insert_row(session: Session, table: str, row: dict, *, returning_id: bool = False):
    """One INSERT through the driver (a hot path: a claim makes several, and the ORM's
    statement building costs ~1 ms each, the driver's ~0.05 ms); returns the new id
    when asked. ``row`` holds column names (an ``id`` of None is left to the database)."""
    columns = [c for c in row if not (c == "id" and row[c] is None)]
    values = [row[c] for c in columns]
    raw = _raw(session)
    if _is_sqlite(session):
        values = [
            _sqlite_stamp(v) if c in TIMESTAMP_COLUMNS and v is not None else v
            for c, v in zip(columns, values, strict=True)
        ]
        cursor = raw.execute(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            values,
        )
        return cursor.lastrowid if returning_id else None
    marks = ",".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})"
    if not returning_id:
        raw.execute(sql, values)
        return None
    return raw.execute(sql + " RETURNING id", values).fetchone()[0]


def prepare_bulk(session: Session) -> None:
    """Before a bulk write on PostgreSQL: keep look-ups on their indexes.

    The planner's statistics do not know about the rows this transaction inserts, so
    after a few chunks it would scan the growing ledger for every key look-up
    (measured: ~1 s per look-up at a few hundred thousand rows). Only for this
    transaction.
    """
    if not _is_sqlite(session):
        _raw(session).execute("SET LOCAL enable_seqscan = off")


def reserve_ids(session: Session, table: str, count: int) -> list[int]:
    """Ids for rows a bulk insert will write, so lots can point at their entries."""
    if count == 0:
        return []
    if _is_sqlite(session):
        # the write lock is held since BEGIN IMMEDIATE: nobody else can take ids
        top = _raw(session).execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        reserved = session.info.setdefault(f"reserved:{table}", top)
        start = max(top, reserved)
        session.info[f"reserved:{table}"] = start + count
        return list(range(start + 1, start + count + 1))
    rows = _raw(session).execute(
        f"SELECT nextval('{table}_id_seq') FROM generate_series(1, %s)", (count,)
    )
    return [r[0] for r in rows]


# fewer rows than this go to PostgreSQL as one pipelined executemany: COPY costs two more
# round trips (start and finish), more than it saves on a handful of rows
COPY_FROM_ROWS = 20


def bulk_insert(session: Session, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    """The driver's fastest insert within the current transaction: sqlite3 executemany,
    or psycopg COPY (executemany for a few rows; through a staged table when row security
    applies: staff roles)."""
    if not rows:
        return
    raw = _raw(session)
    row_tuple = itemgetter(*columns)
    if _is_sqlite(session):
        stamps = [i for i, c in enumerate(columns) if c in TIMESTAMP_COLUMNS]
        data = []
        for r in rows:
            values = list(row_tuple(r))
            for i in stamps:
                if values[i] is not None:
                    values[i] = _sqlite_stamp(values[i])
            data.append(values)
        placeholders = ",".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({placeholders})", data)
        return
    if len(rows) < COPY_FROM_ROWS:  # row security allows INSERT: only COPY is refused
        marks = ",".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})"
        values = [row_tuple(r) if len(columns) > 1 else (row_tuple(r),) for r in rows]
        if len(values) == 1:  # one round trip (executemany's pipeline takes three)
            raw.execute(sql, values[0])
            return
        with raw.cursor() as cur:
            cur.executemany(sql, values)
        return
    if _row_security(session, table):
        _copy_through_insert(session, table, columns, map(row_tuple, rows))
        return
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(row_tuple(r))


def _row_security(session: Session, table: str) -> bool:
    """Whether row-level security applies to this connection's user on ``table`` (staff
    roles enforced, spec §8): PostgreSQL refuses ``COPY FROM`` into such a table. Asked
    once per table and transaction."""
    known = session.info.setdefault("row_security", {})
    if table not in known:
        raw = _raw(session)
        known[table] = raw.execute("SELECT row_security_active(%s)", (table,)).fetchone()[0]
    return known[table]


def _copy_through_insert(session: Session, table: str, columns: tuple[str, ...], rows) -> None:
    """``COPY`` into a temporary table, then one ``INSERT ... SELECT``: the rows go through
    the table's row-security policies, which ``COPY`` into it cannot."""
    staged, names = f"{table}_staged", ", ".join(columns)
    with _raw(session).cursor() as cur:
        if session.info.get(staged):
            cur.execute(f"TRUNCATE {staged}")
        else:  # the columns' own types, none of the table's constraints
            cur.execute(
                f"CREATE TEMP TABLE {staged} ON COMMIT DROP AS "
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            session.info[staged] = True
        with cur.copy(f"COPY {staged} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged}")


def bulk_insert_new(
    session: Session,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple],
    *,
    same: dict[str, Any],
) -> set:
    """Insert ``rows`` (values of ``columns``; every row also gets the ``same`` column
    values), skipping each row whose first column, a UNIQUE one, is taken already, by
    whoever took it (``ON CONFLICT DO NOTHING``); returns the first-column values
    skipped (almost always none). The table's ``id`` is an integer the database
    assigns.

    SQLite: ``executemany`` of the upsert under the write lock, then the rows above the
    largest id before are this call's. PostgreSQL: ``COPY`` into a temporary table,
    then one ``INSERT ... SELECT ... RETURNING``.
    """
    if not rows:
        return set()
    key, raw = columns[0], _raw(session)
    names = ", ".join(columns + tuple(same))
    if _is_sqlite(session):
        after = tuple(
            _sqlite_stamp(v) if c in TIMESTAMP_COLUMNS and v is not None else v
            for c, v in same.items()
        )
        top = raw.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        marks = ", ".join("?" * (len(columns) + len(same)))
        cursor = raw.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING",
            (row + after for row in rows),
        )
        if cursor.rowcount == len(rows):
            return set()
        inserted = {k for (k,) in raw.execute(f"SELECT {key} FROM {table} WHERE id > ?", (top,))}
        return {row[0] for row in rows} - inserted
    incoming = f"{table}_incoming"
    with raw.cursor() as cur:
        if session.info.get(incoming):
            cur.execute(f"TRUNCATE {incoming}")
        else:  # the columns' own types, none of the table's constraints
            cur.execute(
                f"CREATE TEMP TABLE {incoming} ON COMMIT DROP AS "
                f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
            )
            session.info[incoming] = True
        _copy_rows(cur, incoming, columns, rows)
        cur.execute(
            f"INSERT INTO {table} ({names}) "
            f"SELECT {', '.join(columns)}, {_typed_marks(table, tuple(same))} FROM {incoming} "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}",
            tuple(same.values()),
        )
        inserted = cur.fetchall()
        if len(inserted) == len(rows):
            return set()
        return {row[0] for row in rows} - {k for (k,) in inserted}


def _copy_rows(cur, table: str, columns: tuple[str, ...], rows: Sequence[tuple]) -> None:
    """COPY in text format, written as one block when the values are text without a
    character COPY would have to escape (hex, base64, ids: checked), else row by row."""
    try:
        block = "".join(["\t".join(row) + "\n" for row in rows])
    except TypeError:  # not all text
        block = None
    plain = (
        block is not None
        and "\\" not in block
        and "\r" not in block
        and block.count("\t") == len(rows) * (len(columns) - 1)
        and block.count("\n") == len(rows)
    )
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        if plain:
            copy.write(block)
        else:
            for row in rows:
                copy.write_row(row)


@lru_cache(maxsize=64)
def _typed_marks(table: str, names: tuple[str, ...]) -> str:
    """``CAST(%s AS type)`` for these columns: a parameter in a SELECT list has no type
    PostgreSQL could infer (a None would be text)."""
    from sqlalchemy.dialects import postgresql

    from loyaltyctl.store.tables import SQLModel

    dialect = postgresql.dialect()
    columns = SQLModel.metadata.tables[table].columns
    return ", ".join(f"CAST(%s AS {columns[name].type.compile(dialect=dialect)})" for name in names)


# The names of the columns that hold timestamps (`tables.UtcDateTime`), in any table:
# the raw SQLite inserts convert them. Spelled out, not read from the tables, so that a
# claim, the counter's commands and the bulk paths never load the table definitions;
# tests/store/test_written_columns.py checks the list against the tables.
TIMESTAMP_COLUMNS = frozenset(
    (
        "added_at",
        "at",
        "cancelled_at",
        "completed_at",
        "created_at",
        "delivered_at",
        "ended_at",
        "expires_at",
        "forgotten_at",
        "held_at",
        "ingested_at",
        "issued_at",
        "last_claim_at",
        "matures_at",
        "next_attempt_at",
        "pending_until",
        "removed_at",
        "renews_at",
        "revoke_at",
        "revoked_at",
        "since",
        "started_at",
        "tier_review_at",
        "until",
        "updated_at",
        "used_at",
        "valid_from",
        "valid_until",
    )
)
