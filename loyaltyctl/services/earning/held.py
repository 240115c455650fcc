"""Held refunds: a refund (or chargeback) whose order is not known yet is kept in
`held_refund`, not lost, and applied by the chunk that brings its order.

A chunk reads the held refunds of the orders its order.paid events name (under the
orders' locks, `store.events.lock_orders`); after its events, it applies those whose
order is now paid, and the refunds of its own that came before their order in the
file; what is left is held.
"""

from __future__ import annotations

from collections.abc import Callable

from loyaltyctl.domain import events as domain
from loyaltyctl.store import events as store


def release_held(chunk, apply, *, parse: Callable, encode: Callable[[dict], str]) -> None:
    """Apply what the chunk can of its held refunds and hold the rest (``chunk`` is the
    ingest's `_Chunk`: its ``held_rows``, ``holding``, ``paid`` and ``_apply_one``)."""
    released = []
    for order_id, rows in chunk.held_rows.items():
        if order_id not in chunk.paid:
            continue
        for event_id, line, text in rows:
            if chunk._apply_one(apply, parse(text, line), counted=False):
                chunk.tally.held_applied += 1
                released.append(event_id)
    store.release_refunds(chunk.session, released)
    holds = []
    for event in chunk.holding:
        del chunk.applied[event.id]
        if event.order_id in chunk.paid:  # its order came later in the chunk
            chunk._apply_one(apply, event)
            continue
        chunk.tally.held += 1
        chunk.applied[event.id] = event.digest
        holds.append(
            {
                "id": event.id,
                "type": event.type,
                "order_id": event.order_id,
                "at": event.at,
                "digest": event.digest,
                "event": encode(domain.refund_document(event)),
                "line": event.line,
                "held_at": chunk.now,
                "operator": chunk.operator,
            }
        )
    store.hold_refunds(chunk.session, holds)
