"""What store events do to discount grants (spec §7 "Discounts"), called by the event
handlers (services/earning/handlers) inside the chunk's transaction, under the member's
lock:

- `order.paid`: a grant per discount whose purchase trigger names one of the order's
  skus (tied to the order), and a use of each discount the event names;
- the refund that completes an order, and `order.chargeback`: the order's grants revoked;
- `subscription.started | renewed | cancelled | resumed`: grants tied to the subscription,
  a revoke scheduled at the renewal date (the grace period), cleared or granted again.

A grant from an event is UNIQUE by (event, discount): the same event cannot grant twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loyaltyctl.domain.discount_grants import trigger_days
from loyaltyctl.domain.discounts import DiscountSpec, Trigger
from loyaltyctl.domain.events import EventProblem
from loyaltyctl.services.discounts.definitions import spec_of
from loyaltyctl.store import discounts as store
from loyaltyctl.store.db import Session


@dataclass(frozen=True)
class Triggers:
    """The enabled discounts by the package of their purchase and subscription triggers
    (read once per chunk of events)."""

    ids: dict[str, int]  # slug -> discount id
    purchase: dict[str, list[tuple[DiscountSpec, Trigger]]]
    subscription: dict[str, list[tuple[DiscountSpec, Trigger]]]


def load_triggers(session: Session) -> Triggers:
    ids: dict[str, int] = {}
    found: dict[str, dict[str, list]] = {"purchase": {}, "subscription": {}}
    for row in store.discounts(session):
        spec = spec_of(row)
        ids[spec.slug] = row.id
        for trigger in spec.triggers:
            if trigger.type in found and trigger.package:
                found[trigger.type].setdefault(trigger.package, []).append((spec, trigger))
    return Triggers(ids, found["purchase"], found["subscription"])


def _until(trigger: Trigger, at: datetime) -> datetime | None:
    days = trigger_days(trigger.duration)
    return at + timedelta(days=days) if days else None


def _grant(
    session: Session,
    triggers: Triggers,
    matches: list[tuple[DiscountSpec, Trigger]],
    *,
    member_id: int,
    at: datetime,
    event_id: str,
    operator: str,
    now: datetime,
    order_id: str | None = None,
    subscription_id: str | None = None,
) -> list[str]:
    """One grant per discount of ``matches`` (several triggers of one discount grant once:
    the first, in the discount's order)."""
    granted: list[str] = []
    for spec, trigger in matches:
        if spec.slug in granted:
            continue
        granted.append(spec.slug)
        store.insert_grant(
            session,
            {
                "discount_id": triggers.ids[spec.slug],
                "member_id": member_id,
                "source": "order" if order_id is not None else "subscription",
                "order_id": order_id,
                "subscription_id": subscription_id,
                "event_id": event_id,
                "duration": trigger.duration,
                "operator": operator,
                "since": at,
                "until": _until(trigger, at),
                "created_at": now,
            },
        )
    return granted


def order_paid(
    session: Session,
    triggers: Triggers,
    *,
    member_id: int,
    order_id: str,
    skus: list[str],
    used: tuple[str, ...],
    at: datetime,
    event_id: str,
    operator: str,
    now: datetime,
    tz: ZoneInfo,
) -> dict:
    """Grants of the purchase triggers the order's skus name, and the uses it reports.
    Returns what to record with the event."""
    unknown = [slug for slug in used if slug not in triggers.ids]
    if unknown:
        raise EventProblem(
            f"discounts: no enabled discount has the slug {unknown[0]!r}",
            discount=unknown[0],
        )
    matches = [match for sku in sorted(set(skus)) for match in triggers.purchase.get(sku, [])]
    details: dict = {}
    if matches:
        details["discounts_granted"] = _grant(
            session,
            triggers,
            matches,
            member_id=member_id,
            at=at,
            event_id=event_id,
            operator=operator,
            now=now,
            order_id=order_id,
        )
    for slug in dict.fromkeys(used):
        store.record_use(
            session,
            {
                "discount_id": triggers.ids[slug],
                "member_id": member_id,
                "order_id": order_id,
                "at": at,
                "day": at.astimezone(tz).date().isoformat(),
            },
        )
    if used:
        details["discounts_used"] = list(dict.fromkeys(used))
    return details


def order_reversed(session: Session, *, order_id: str, at: datetime, why: str) -> list[int]:
    """The refund that completes an order, or its chargeback: its grants revoked."""
    return [row[0] for row in store.revoke_of_order(session, order_id, at, f"order {why}")]


# --- subscriptions ---------------------------------------------------------------------------


def subscription_started(
    session: Session,
    triggers: Triggers,
    *,
    member_id: int,
    subscription_id: str,
    package: str,
    renews_at: datetime | None,
    at: datetime,
    event_id: str,
    operator: str,
    now: datetime,
) -> dict:
    if store.subscriptions(session, [subscription_id]):
        raise EventProblem(
            f"subscription {subscription_id} was started already; a subscription that"
            " comes back is subscription.resumed"
        )
    store.save_subscription(
        session,
        {
            "subscription_id": subscription_id,
            "member_id": member_id,
            "package": package,
            "started_at": at,
            "renews_at": renews_at,
            "updated_at": now,
        },
    )
    granted = _grant(
        session,
        triggers,
        triggers.subscription.get(package, []),
        member_id=member_id,
        at=at,
        event_id=event_id,
        operator=operator,
        now=now,
        subscription_id=subscription_id,
    )
    return {"subscription": subscription_id, "discounts_granted": granted}


def subscription_owner(session: Session, subscription_id: str):
    """The stored subscription an event names; EventProblem when none was started."""
    found = store.subscriptions(session, [subscription_id]).get(subscription_id)
    if found is None:
        raise EventProblem(
            f"subscription {subscription_id} is not known: no subscription.started event"
            " was ingested for it"
        )
    return found


def subscription_renewed(
    session: Session, *, subscription_id: str, renews_at: datetime | None, now: datetime
) -> dict:
    store.update_subscription(session, subscription_id, renews_at=renews_at, updated_at=now)
    return {"subscription": subscription_id}


def subscription_cancelled(
    session: Session, *, subscription_id: str, at: datetime, now: datetime
) -> dict:
    """The while_active grants are revoked at the renewal date (what the member paid
    for); `maintain run` carries the revoke out when it is due."""
    row = subscription_owner(session, subscription_id)
    revoke_at = row.renews_at if row.renews_at is not None and row.renews_at > at else at
    scheduled = store.schedule_revoke(session, subscription_id, revoke_at)
    store.update_subscription(session, subscription_id, cancelled_at=at, updated_at=now)
    return {
        "subscription": subscription_id,
        "revoke_at": revoke_at.isoformat(),
        "grants": scheduled,
    }


def subscription_resumed(
    session: Session,
    triggers: Triggers,
    *,
    subscription_id: str,
    renews_at: datetime | None,
    at: datetime,
    event_id: str,
    operator: str,
    now: datetime,
) -> dict:
    """Before the scheduled revoke: cleared. After it: the package's discounts granted
    again."""
    row = subscription_owner(session, subscription_id)
    details: dict = {"subscription": subscription_id}
    if store.live_subscription_grants(session, subscription_id, at):
        details["revokes_cleared"] = store.clear_scheduled(session, subscription_id, at)
    else:
        details["discounts_granted"] = _grant(
            session,
            triggers,
            triggers.subscription.get(row.package, []),
            member_id=row.member_id,
            at=at,
            event_id=event_id,
            operator=operator,
            now=now,
            subscription_id=subscription_id,
        )
    store.update_subscription(
        session, subscription_id, renews_at=renews_at, cancelled_at=None, updated_at=now
    )
    return details
