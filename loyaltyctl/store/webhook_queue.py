"""Queueing a claim's webhook deliveries and cancelling those never attempted, through
the driver alone (a claim runs on a `driver.RawSession`); what is due and the results
of attempts are `store.webhooks`.

A delivery is one signed POST of one event (`claim.created`, `claim.cancelled`) of one
claim. Its body is fixed when it is queued, so every attempt sends the same bytes
under the same `event_id`.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from loyaltyctl.domain.claiming import canonical_json
from loyaltyctl.store.driver import insert_row, run

if TYPE_CHECKING:
    from sqlmodel import Session

QUEUED = "queued"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"

EVENT_ID_PREFIX = "evt_"
PAYLOAD_MAX_CHARS = 4000  # the column's size


def new_event_id() -> str:
    return EVENT_ID_PREFIX + secrets.token_hex(12)


def queue_delivery(
    session: Session,
    *,
    claim_id: str,
    perk_id: int,
    event: str,
    url: str,
    payload: dict,
    now: datetime,
) -> str:
    """Queue one event for `maintain run` to POST; returns its event id.

    `payload` is sent as it is given, in clear, to the receiver and kept in the
    database in clear: it must never hold a secret (no redemption value, no code,
    no webhook secret) — ids, slugs, points and timestamps only. The stored body
    is canonical JSON (sorted keys, no whitespace) with `event_id` and `event`
    added, so the body a receiver verifies is the same on every attempt.
    """
    event_id = new_event_id()
    body = canonical_json({**payload, "event_id": event_id, "event": event}).decode()
    if len(body) > PAYLOAD_MAX_CHARS:
        # the callers build small payloads; a bigger one is a programming error
        raise ValueError(f"webhook payload of {len(body)} characters exceeds {PAYLOAD_MAX_CHARS}")
    insert_row(
        session,
        "webhook_delivery",
        {
            "event_id": event_id,
            "claim_id": claim_id,
            "perk_id": perk_id,
            "event": event,
            "url": url,
            "payload": body,
            "status": QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return event_id


def cancel_queued(session: Session, *, claim_id: str) -> int:
    """Mark a claim's deliveries never attempted cancelled; returns how many.

    One already attempted may have reached the receiver (a timeout is not a "no"), so
    it stays queued and the caller queues a `claim.cancelled` after it.
    """
    return run(
        session,
        "UPDATE webhook_delivery SET status = {p} "
        "WHERE claim_id = {p} AND status = {p} AND attempts = 0",
        (CANCELLED, claim_id, QUEUED),
    )
