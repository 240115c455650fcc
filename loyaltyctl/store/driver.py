"""The driver: the one place that knows each backend's placeholders, bulk paths and
timestamps.

Hot and bulk paths go through the DB-API connection under the session (sqlite3 or
psycopg 3) instead of SQLAlchemy's statement building, which costs ~1 ms a statement
against ~0.05 ms through the driver. Everything here runs inside the session's current
transaction.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from loyaltyctl.store.tables import SQLModel, UtcDateTime, sqlite_timestamp


def raw_connection(session: Session) -> Any:
    """The DB-API connection of the session's current transaction."""
    return session.connection().connection.driver_connection


def mark(session: Session) -> str:
    """The driver's parameter placeholder: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    return "?" if is_sqlite(session) else "%s"


def stamp(session: Session, value):
    """A timestamp as the driver should be given it (SQLite stores text)."""
    return sqlite_stamp(value) if value is not None and is_sqlite(session) else value


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


class IdBlock:
    """Hands out ids reserved in blocks, for rows written later by a bulk insert."""

    def __init__(self, session: Session, table: str, size: int = 1000) -> None:
        self.session, self.table, self.size = session, table, size
        self.free: list[int] = []

    def take(self) -> int:
        if not self.free:
            self.free = reserve_ids(self.session, self.table, self.size)[::-1]
        return self.free.pop()


def execute_many(session: Session, sql: str, params: list[tuple]) -> int:
    """One statement, many parameter rows, through the driver; returns the rows changed."""
    raw = raw_connection(session)
    if is_sqlite(session):
        return raw.executemany(sql, params).rowcount
    with raw.cursor() as cur:
        cur.executemany(sql, params)
        return cur.rowcount


def insert_row(session: Session, table: str, row: dict, *, returning_id: bool = False):
    """One INSERT through the driver (a hot path: a claim makes several, and the ORM's
    statement building costs ~1 ms each, the driver's ~0.05 ms); returns the new id
    when asked. ``row`` holds column names (an ``id`` of None is left to the database)."""
    columns = [c for c in row if not (c == "id" and row[c] is None)]
    values = [row[c] for c in columns]
    raw = raw_connection(session)
    if is_sqlite(session):
        values = [
            sqlite_stamp(v) if c in TIMESTAMP_COLUMNS and v is not None else v
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
    if not is_sqlite(session):
        session.execute(text("SET LOCAL enable_seqscan = off"))


def reserve_ids(session: Session, table: str, count: int) -> list[int]:
    """Ids for rows a bulk insert will write, so lots can point at their entries."""
    if count == 0:
        return []
    if is_sqlite(session):
        # the write lock is held since BEGIN IMMEDIATE: nobody else can take ids
        top = session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()
        reserved = session.info.setdefault(f"reserved:{table}", top)
        start = max(top, reserved)
        session.info[f"reserved:{table}"] = start + count
        return list(range(start + 1, start + count + 1))
    rows = session.execute(
        text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)"), {"n": count}
    )
    return [r[0] for r in rows]


def bulk_insert(session: Session, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    """The driver's fastest insert within the current transaction:
    sqlite3 executemany, or psycopg COPY."""
    if not rows:
        return
    raw = raw_connection(session)
    row_tuple = itemgetter(*columns)
    if is_sqlite(session):
        stamps = [i for i, c in enumerate(columns) if c in TIMESTAMP_COLUMNS]
        data = []
        for r in rows:
            values = list(row_tuple(r))
            for i in stamps:
                if values[i] is not None:
                    values[i] = sqlite_stamp(values[i])
            data.append(values)
        placeholders = ",".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({placeholders})", data)
        return
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(row_tuple(r))


# columns that hold timestamps, in any table (the raw SQLite inserts convert them)
TIMESTAMP_COLUMNS = frozenset(
    c.name
    for t in SQLModel.metadata.tables.values()
    for c in t.columns
    if isinstance(c.type, UtcDateTime)
)
sqlite_stamp = lru_cache(maxsize=8192)(sqlite_timestamp)
