"""Ingested events in the database: what makes `events ingest` idempotent, and what an
order's refunds read (its paid event and the refunds before)."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlmodel import Session

from loyaltyctl.store.driver import bulk_insert, lock_names, run, select_in, stamp_reader
from loyaltyctl.store.tables import HeldRefund, IngestedEvent

EVENT_COLUMNS = tuple(c.name for c in IngestedEvent.__table__.columns)
PAID, REFUNDED = "order.paid", "order.refunded"
CHARGEBACK = "order.chargeback"  # takes back what is left, as a full refund


def digests(session: Session, event_ids: list[str]) -> dict[str, str]:
    """event id -> the digest it was ingested with, for the ids already ingested.

    Through the driver (`select_in`): a chunk of events looks up thousands of ids."""
    sql = "SELECT id, digest FROM ingested_event WHERE id {in_list}"
    found = dict(select_in(session, sql, event_ids))
    found.update(
        select_in(session, "SELECT id, digest FROM held_refund WHERE id {in_list}", event_ids)
    )
    return found


def lock_orders(session: Session, order_ids: list[str]) -> None:
    """The orders' locks, until the transaction ends: an order and a refund of it held
    meanwhile never miss each other when two ingests bring them at once."""
    lock_names(session, [f"order:{order_id}" for order_id in order_ids])


HELD_COLUMNS = tuple(c.name for c in HeldRefund.__table__.columns)


def held_refunds(session: Session, order_ids: list[str]) -> dict[str, list[tuple]]:
    """order id -> its held refunds (id, line, event JSON), in the order they were held."""
    found: dict[str, list[tuple]] = {}
    sql = (
        "SELECT order_id, id, line, event FROM held_refund WHERE order_id {in_list}"
        " ORDER BY held_at, line, id"
    )
    for order_id, event_id, line, event in select_in(session, sql, sorted(set(order_ids))):
        found.setdefault(order_id, []).append((event_id, line, event))
    return found


def hold_refunds(session: Session, rows: list[dict]) -> None:
    bulk_insert(session, "held_refund", HELD_COLUMNS, rows)


def release_refunds(session: Session, event_ids: list[str]) -> None:
    for event_id in event_ids:
        run(session, "DELETE FROM held_refund WHERE id = {p}", (event_id,))


def held_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(HeldRefund)).scalar_one()


def paid_orders(session: Session, order_ids: list[str]) -> dict[str, tuple]:
    """order id -> (event id, member id, at, details) of its paid event (through the
    driver: a chunk of events looks up thousands of orders)."""
    found: dict[str, tuple] = {}
    sql = (
        "SELECT order_id, id, member_id, at, details FROM ingested_event "
        f"WHERE type = '{PAID}' AND order_id {{in_list}}"
    )
    moment = stamp_reader(session)
    for order_id, event_id, member_id, at, details in select_in(
        session, sql, sorted(set(order_ids))
    ):
        if moment is not None:
            at = moment(at)
        found[order_id] = (event_id, member_id, at, json.loads(details))
    return found


def refunds(session: Session, order_ids: list[str]) -> dict[str, list[dict]]:
    """order id -> the details of its refunds (and chargebacks) so far, in the order they
    were ingested."""
    found: dict[str, list[dict]] = {}
    ids = sorted(set(order_ids))
    for start in range(0, len(ids), 900):
        rows = session.execute(
            select(IngestedEvent.order_id, IngestedEvent.details)
            .where(
                IngestedEvent.type.in_((REFUNDED, CHARGEBACK)),
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
