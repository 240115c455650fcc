"""Event handlers, registered by event type: what `events ingest` does with each event.

To add an event type: parse it in `domain.events` (its `Event` class and reader), write
its handler in a new module here and add an instance to `HANDLERS`. A handler of events
that earn points by rules of a kind is a `RuleHandler` (its `rule_kind` and `points`,
and the loop's optional `held`, `cap`, `counted` and `scopes`); any other is a
`Handler` with its own `apply`. See `base` for both.
"""

from __future__ import annotations

from loyaltyctl.services.earning.handlers.base import Handler
from loyaltyctl.services.earning.handlers.birthday_changed import BirthdayChangedHandler
from loyaltyctl.services.earning.handlers.joined import MemberJoinedHandler
from loyaltyctl.services.earning.handlers.order_chargeback import OrderChargebackHandler
from loyaltyctl.services.earning.handlers.order_paid import OrderPaidHandler
from loyaltyctl.services.earning.handlers.order_refunded import OrderRefundedHandler
from loyaltyctl.services.earning.handlers.review_submitted import ReviewSubmittedHandler
from loyaltyctl.services.earning.handlers.social_action import SocialActionHandler
from loyaltyctl.services.earning.handlers.subscriptions import (
    SubscriptionCancelledHandler,
    SubscriptionRenewedHandler,
    SubscriptionResumedHandler,
    SubscriptionStartedHandler,
)

HANDLERS: dict[str, Handler] = {
    handler.event_type: handler
    for handler in (
        MemberJoinedHandler(),
        OrderPaidHandler(),
        OrderRefundedHandler(),
        OrderChargebackHandler(),
        ReviewSubmittedHandler(),
        SocialActionHandler(),
        BirthdayChangedHandler(),
        SubscriptionStartedHandler(),
        SubscriptionRenewedHandler(),
        SubscriptionCancelledHandler(),
        SubscriptionResumedHandler(),
    )
}
