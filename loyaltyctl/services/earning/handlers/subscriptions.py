"""subscription.started | renewed | cancelled | resumed: discounts granted while a
subscription is paid (services/discounts/lifecycle.py). They earn no points. Only
started names the member; the others are the subscription's member's (locked with the
chunk's others, `reads_subscription`)."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.services.discounts import lifecycle
from loyaltyctl.services.earning.handlers.base import Chunk, Handler, Outcome


def triggers(chunk: Chunk) -> lifecycle.Triggers:
    """The discounts' triggers, read once per chunk."""
    found = chunk.cache.get("discount_triggers")
    if found is None:
        found = chunk.cache["discount_triggers"] = lifecycle.load_triggers(chunk.session)
    return found


class SubscriptionStartedHandler(Handler):
    event_type = events.SUBSCRIPTION_STARTED

    def apply(self, chunk: Chunk, event: events.SubscriptionEvent) -> Outcome:
        m = chunk.member(event)
        details = lifecycle.subscription_started(
            chunk.session,
            triggers(chunk),
            member_id=m.state.id,
            subscription_id=event.subscription_id,
            package=event.package,
            renews_at=event.renews_at,
            at=event.at,
            event_id=event.id,
            operator=chunk.operator,
            now=chunk.now,
        )
        return 0, details, m.state.id


class SubscriptionRenewedHandler(Handler):
    event_type = events.SUBSCRIPTION_RENEWED
    reads_subscription = True

    def apply(self, chunk: Chunk, event: events.SubscriptionEvent) -> Outcome:
        row = lifecycle.subscription_owner(chunk.session, event.subscription_id)
        details = lifecycle.subscription_renewed(
            chunk.session,
            subscription_id=event.subscription_id,
            renews_at=event.renews_at,
            now=chunk.now,
        )
        return 0, details, row.member_id


class SubscriptionCancelledHandler(Handler):
    event_type = events.SUBSCRIPTION_CANCELLED
    reads_subscription = True

    def apply(self, chunk: Chunk, event: events.SubscriptionEvent) -> Outcome:
        row = lifecycle.subscription_owner(chunk.session, event.subscription_id)
        details = lifecycle.subscription_cancelled(
            chunk.session, subscription_id=event.subscription_id, at=event.at, now=chunk.now
        )
        return 0, details, row.member_id


class SubscriptionResumedHandler(Handler):
    event_type = events.SUBSCRIPTION_RESUMED
    reads_subscription = True

    def apply(self, chunk: Chunk, event: events.SubscriptionEvent) -> Outcome:
        row = lifecycle.subscription_owner(chunk.session, event.subscription_id)
        details = lifecycle.subscription_resumed(
            chunk.session,
            triggers(chunk),
            subscription_id=event.subscription_id,
            renews_at=event.renews_at,
            at=event.at,
            event_id=event.id,
            operator=chunk.operator,
            now=chunk.now,
        )
        return 0, details, row.member_id
