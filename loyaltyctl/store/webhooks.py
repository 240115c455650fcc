"""The webhook queue: read what is due and record results (no HTTP here). Queueing and
cancelling a claim's deliveries is `store.webhook_queue` (the driver alone: a claim
queues without SQLAlchemy).

A delivery is one signed POST of one event (`claim.created`, `claim.cancelled`) of one
claim. Its body is fixed when it is queued, so every attempt sends the same bytes
under the same `event_id`. Results are recorded with a conditional UPDATE on the
attempt count read before sending, so one attempt is recorded at most once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from loyaltyctl.domain.values import iso_utc
from loyaltyctl.store.tables import Perk, WebhookDelivery
from loyaltyctl.store.webhook_queue import CANCELLED, DELIVERED, FAILED, QUEUED, queue_delivery

ERROR_MAX_CHARS = 500  # the column's size


@dataclass(frozen=True)
class DueDelivery:
    """A queued delivery whose time has come, with what is needed to sign it."""

    id: int
    event_id: str
    event: str
    claim_id: str
    url: str
    payload: str
    attempts: int
    perk_slug: str
    webhook_secret_enc: str | None


def follow_with_cancel(session: Session, *, delivery_id: int, now: datetime) -> bool:
    """After a `claim.created` cancelled while it was being sent: queue `claim.cancelled`
    (once) with the same content. Returns whether one was queued."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != CANCELLED or row.event != "claim.created":
        return False
    already = session.execute(
        select(WebhookDelivery.id).where(
            WebhookDelivery.claim_id == row.claim_id,
            WebhookDelivery.event == "claim.cancelled",
        )
    ).first()
    if already is not None:
        return False
    payload = {k: v for k, v in json.loads(row.payload).items() if k not in ("event", "event_id")}
    payload["at"] = iso_utc(now)
    queue_delivery(
        session,
        claim_id=row.claim_id,
        perk_id=row.perk_id,
        event="claim.cancelled",
        url=row.url,
        payload=payload,
        now=now,
    )
    return True


def _due_condition(now: datetime):
    """Queued and due, and no earlier delivery of the same claim waiting for a retry:
    a claim's events reach the receiver in the order they happened. (An earlier one
    due now comes first in `due`; the sender skips the later ones if it fails.)"""
    earlier = aliased(WebhookDelivery)
    return and_(
        WebhookDelivery.status == QUEUED,
        WebhookDelivery.next_attempt_at <= now,
        ~exists().where(
            earlier.claim_id == WebhookDelivery.claim_id,
            earlier.status == QUEUED,
            earlier.next_attempt_at > now,
            earlier.id < WebhookDelivery.id,
        ),
    )


def due(session: Session, *, now: datetime, limit: int) -> list[DueDelivery]:
    """Deliveries to attempt now, oldest first, with their perk's slug and secret."""
    rows = session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.event_id,
            WebhookDelivery.event,
            WebhookDelivery.claim_id,
            WebhookDelivery.url,
            WebhookDelivery.payload,
            WebhookDelivery.attempts,
            Perk.slug.label("perk_slug"),
            Perk.webhook_secret_enc,
        )
        .join(Perk, Perk.id == WebhookDelivery.perk_id)
        .where(_due_condition(now))
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    return [DueDelivery(**row._mapping) for row in rows]


def count_due(session: Session, *, now: datetime) -> int:
    return session.execute(
        select(func.count()).select_from(WebhookDelivery).where(_due_condition(now))
    ).scalar_one()


def one_line(text: str) -> str:
    """An error message as the column keeps it: one line, at most ERROR_MAX_CHARS."""
    line = " ".join(text.split())
    return line if len(line) <= ERROR_MAX_CHARS else line[: ERROR_MAX_CHARS - 1] + "…"


def record_result(
    session: Session,
    *,
    delivery_id: int,
    seen_attempts: int,
    now: datetime,
    error: str | None,
    retry_at: datetime | None,
) -> bool:
    """Record one attempt: delivered (``error`` None), retry at ``retry_at``, or failed
    for good (``error`` and no ``retry_at``). Returns False when the row is no longer
    as it was read (cancelled meanwhile, or already recorded): nothing is changed."""
    values: dict = {"attempts": WebhookDelivery.attempts + 1}
    if error is None:
        values.update(status=DELIVERED, delivered_at=now)
    else:
        values["last_error"] = one_line(error)
        if retry_at is None:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = retry_at
    return (
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == QUEUED,
                WebhookDelivery.attempts == seen_attempts,
            )
            .values(**values)
        ).rowcount
        == 1
    )
