"""review.submitted: the review rules, with their bonuses, once per product of an order
(or once per order), up to a rule's points per order."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.domain.earning import EarningRule, Tier, review_points
from loyaltyctl.domain.limits import order_scope, product_scope
from loyaltyctl.services.earning.counters import NO_LIMIT
from loyaltyctl.services.earning.handlers.base import Chunk, Outcome, RuleHandler


class ReviewSubmittedHandler(RuleHandler):
    event_type = events.REVIEW
    rule_kind = "review"

    def apply(self, chunk: Chunk, event: events.ReviewSubmitted) -> Outcome:
        reason = f"review of {event.product} (order {event.order_id})"
        return self.earn(chunk, event, chunk.member(event), reason, event.order_id)

    def scopes(self, rule: EarningRule, event: events.ReviewSubmitted) -> tuple[str, ...]:
        return order_scope(event.order_id), product_scope(event.order_id, event.product)

    def held(
        self, chunk: Chunk, event: events.ReviewSubmitted, member_id: int, rule: EarningRule
    ) -> str | None:
        counters = chunk.earner.counters
        if rule.once_per == "order":
            if counters.get(rule, member_id, order_scope(event.order_id))[0] >= 1:
                return f"{rule.slug}: a review of order {event.order_id} earned already"
        elif rule.once_per == "review":
            scope = product_scope(event.order_id, event.product)
            if counters.get(rule, member_id, scope)[0] >= 1:
                return f"{rule.slug}: {event.product} of this order earned already"
        return None

    def points(self, event: events.ReviewSubmitted, rule: EarningRule, tier: Tier | None) -> int:
        return review_points(
            rule, tier, social_login=event.social_login, photos=event.photos, video=event.video
        )

    def cap(
        self,
        chunk: Chunk,
        event: events.ReviewSubmitted,
        member_id: int,
        rule: EarningRule,
        points: int,
        notes: list[str],
    ) -> int:
        most = rule.max_per_order
        if most is None:
            return points
        room = most - chunk.earner.counters.get(rule, member_id, order_scope(event.order_id))[1]
        if points <= room:
            return points
        notes.append(f"{rule.slug}: at most {most} per order")
        return max(room, 0)

    def counted(
        self,
        chunk: Chunk,
        event: events.ReviewSubmitted,
        member_id: int,
        rule: EarningRule,
        points: int,
    ) -> None:
        counters = chunk.earner.counters
        counters.count(
            rule,
            member_id,
            order_scope(event.order_id),
            points=points,
            most_uses=1 if rule.once_per == "order" else NO_LIMIT,
            most_points=rule.max_per_order or NO_LIMIT,
        )
        if rule.once_per == "review":
            counters.count(
                rule, member_id, product_scope(event.order_id, event.product), most_uses=1
            )
