"""social.action: the social rules of the action's platform and kind."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.domain.earning import EarningRule, Tier, flat_points
from loyaltyctl.services.earning.handlers.base import Chunk, Outcome, RuleHandler, eligible_rules


class SocialActionHandler(RuleHandler):
    event_type = events.SOCIAL
    rule_kind = "social"

    def apply(self, chunk: Chunk, event: events.SocialAction) -> Outcome:
        m = chunk.member(event)
        notes: list[str] = []
        matching = [
            r
            for r in eligible_rules(chunk.rules.of_kind(self.rule_kind), m.tier, notes)
            if r.platform == event.platform and r.action == event.action
        ]
        if not matching:
            notes.append(f"no active rule rewards a {event.platform} {event.action}")
        reason = f"{event.platform} {event.action}"
        return self.earn(chunk, event, m, reason, rules=matching, notes=notes)

    def points(self, event: events.SocialAction, rule: EarningRule, tier: Tier | None) -> int:
        return flat_points(rule, tier)
