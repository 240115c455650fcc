"""The event handlers' registry: one handler for each event type the parser reads."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.domain.earning import RULE_KINDS
from loyaltyctl.services.earning.handlers import HANDLERS
from loyaltyctl.services.earning.handlers.base import RuleHandler


def test_every_event_type_has_one_handler():
    assert sorted(HANDLERS) == sorted(events.TYPES)
    assert all(handler.event_type == event_type for event_type, handler in HANDLERS.items())
    assert len({type(handler) for handler in HANDLERS.values()}) == len(HANDLERS)


def test_the_handlers_that_earn_by_rules_name_a_kind_of_rule():
    kinds = {t: h.rule_kind for t, h in HANDLERS.items() if isinstance(h, RuleHandler)}
    assert kinds == {
        events.JOINED: "join",
        events.ORDER_PAID: "order",
        events.REVIEW: "review",
        events.SOCIAL: "social",
    }
    assert set(kinds.values()) <= set(RULE_KINDS)
    others = [h for h in HANDLERS.values() if not isinstance(h, RuleHandler)]
    assert all(h.rule_kind is None for h in others)
