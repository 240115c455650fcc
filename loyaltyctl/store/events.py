"""Ingested events in the database: what makes `events ingest` idempotent, and what an
order's refunds read (its paid event and the refunds before)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session

from loyaltyctl.store.driver import bulk_insert, is_sqlite
from loyaltyctl.store.tables import IngestedEvent

EVENT_COLUMNS = tuple(c.name for c in IngestedEvent.__table__.columns)
PAID, REFUNDED = "order.paid", "order.refunded"


def digests(session: Session, event_ids: list[str]) -> dict[str, str]:
    """event id -> the digest it was ingested with, for the ids already ingested.

    Through the driver with one array parameter on PostgreSQL (as the ledger's key
    look-up: a prepared IN list of thousands of placeholders is slow to plan)."""
    found: dict[str, str] = {}
    raw = session.connection().connection.driver_connection
    sqlite = is_sqlite(session)
    for start in range(0, len(event_ids), 900):
        chunk = event_ids[start : start + 900]
        if sqlite:
            rows = raw.execute(
                f"SELECT id, digest FROM ingested_event WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        else:
            rows = raw.execute("SELECT id, digest FROM ingested_event WHERE id = ANY(%s)", (chunk,))
        found.update(dict(rows))
    return found


def paid_orders(session: Session, order_ids: list[str]) -> dict[str, tuple]:
    """order id -> (event id, member id, at, details) of its paid event (through the
    driver: a chunk of events looks up thousands of orders)."""
    found: dict[str, tuple] = {}
    ids = sorted(set(order_ids))
    raw = session.connection().connection.driver_connection
    sqlite = is_sqlite(session)
    columns = "order_id, id, member_id, at, details"
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        if sqlite:
            rows = raw.execute(
                f"SELECT {columns} FROM ingested_event WHERE type = 'order.paid' "
                f"AND order_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        else:
            rows = raw.execute(
                f"SELECT {columns} FROM ingested_event WHERE type = 'order.paid' "
                "AND order_id = ANY(%s)",
                (chunk,),
            )
        for order_id, event_id, member_id, at, details in rows:
            found[order_id] = (event_id, member_id, at, json.loads(details))
    return found


def refunds(session: Session, order_ids: list[str]) -> dict[str, list[dict]]:
    """order id -> the details of its refunds so far, in the order they were ingested."""
    found: dict[str, list[dict]] = {}
    ids = sorted(set(order_ids))
    for start in range(0, len(ids), 900):
        rows = session.execute(
            select(IngestedEvent.order_id, IngestedEvent.details)
            .where(
                IngestedEvent.type == REFUNDED,
                IngestedEvent.order_id.in_(ids[start : start + 900]),
            )
            .order_by(IngestedEvent.ingested_at, IngestedEvent.id)
        )
        for order_id, details in rows:
            found.setdefault(order_id, []).append(json.loads(details))
    return found


def insert_records(session: Session, rows: list[dict]) -> None:
    """The chunk's `ingested_event` rows, through the driver's bulk path."""
    bulk_insert(session, "ingested_event", EVENT_COLUMNS, rows)
