"""member.joined: the join rules, earned once ever (the chunk added the member when new)."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.domain.earning import LIFETIME, EarningRule, Tier, flat_points
from loyaltyctl.services.earning.handlers.base import Chunk, Outcome, RuleHandler
from loyaltyctl.services.members import MemberChange, MemberFields


class MemberJoinedHandler(RuleHandler):
    event_type = events.JOINED
    rule_kind = "join"

    def apply(self, chunk: Chunk, event: events.MemberJoined) -> Outcome:
        points, details, member_id = self.earn(chunk, event, chunk.member(event), "joined")
        details["created"] = chunk.created_at_line.get(event.member) == event.line
        return points, details, member_id

    def new_member(self, event: events.MemberJoined) -> MemberChange:
        fields = MemberFields(
            name=event.name, email=event.email, phone=event.phone, birthday=event.birthday
        )
        return MemberChange(event.member, fields)

    def scopes(self, rule: EarningRule, event: events.MemberJoined) -> tuple[str, ...]:
        return (LIFETIME,)

    def held(
        self, chunk: Chunk, event: events.MemberJoined, member_id: int, rule: EarningRule
    ) -> str | None:
        if chunk.earner.counters.get(rule, member_id, LIFETIME)[0] >= 1:
            return f"{rule.slug}: earned once already"
        return None

    def points(self, event: events.MemberJoined, rule: EarningRule, tier: Tier | None) -> int:
        return flat_points(rule, None)  # the same in every tier

    def counted(
        self, chunk: Chunk, event: events.MemberJoined, member_id: int, rule: EarningRule, points
    ) -> None:
        chunk.earner.counters.count(rule, member_id, LIFETIME, most_uses=1)
