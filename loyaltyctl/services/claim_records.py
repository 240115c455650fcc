"""Cancelling claims and reading them back: `claim cancel`, `claim show`, `perk claims`,
a member's claims (`member show`). Making a claim is `services.claims`.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain import perks as domain
from loyaltyctl.domain.errors import AlreadyCancelled
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import claim_coupons
from loyaltyctl.services.claims import UTC_ZONE, queue_webhook, stored_redemption
from loyaltyctl.store import audit, perk_rows, webhook_queue
from loyaltyctl.store import ledger as ledger_store
from loyaltyctl.store import perks as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.perks import ClaimRow as Claim

# --- cancel --------------------------------------------------------------------------


def cancel_claim(
    *,
    session: Session,
    claim_id: str,
    reason: str,
    operator: str,
    now: datetime | None = None,
    tz: ZoneInfo = UTC_ZONE,
) -> domain.ClaimRecord:
    """Refund the points (to the lots they came from, with their expiry), give the
    supply and the member's allowance back, mark the claim cancelled."""
    now = now or utcnow()
    claim = store.require_claim(session, claim_id)
    if claim.status != domain.ACTIVE:
        raise AlreadyCancelled(f"Claim {claim.id} was already cancelled.")
    state = ledger_store.lock_members(session, [claim.member_id])[claim.member_id]
    if not perk_rows.mark_cancelled(session, claim.id, now=now, operator=operator, reason=reason):
        raise AlreadyCancelled(f"Claim {claim.id} was already cancelled.")
    # an unused coupon is cancelled with its claim; a used one refuses the cancel
    coupon = claim_coupons.cancel(session, claim.id, now=now)
    perk = store.perk_of_claim(session, claim)
    bucket = perk_rows.give_back_supply(session, perk.id, perk.supply_buckets)
    left = perk_rows.give_back_allowance(session, perk.id, claim.member_id) == 0
    perk_rows.uncount_claim(
        session,
        perk.id,
        bucket=bucket,
        points=claim.points,
        # the day it was counted on (a later time zone change does not move it)
        day=claim.day or claim.at.astimezone(tz).date().isoformat(),
        member_left=int(left),
    )
    if claim.points:
        _refund(session, state, claim, reason=reason, operator=operator, now=now)
    if perk.redemption_type == "webhook" and not webhook_queue.cancel_queued(
        session, claim_id=claim.id
    ):
        # the receiver already heard of the claim: tell it of the cancel too
        certificate = json.loads(claim.certificate)
        queue_webhook(session, perk, claim.id, "claim.cancelled", certificate, now)
    audit.append_event(
        session,
        subject=f"claim:{claim.id}",
        action="claim.cancel",
        operator=operator,
        at=now,
        reason=reason,
        details={"perk": perk.slug, "member": state.external_id, "points": claim.points}
        | ({"coupon": "cancelled"} if coupon else {}),
    )
    claim = store.require_claim(session, claim.id)  # as marked
    return _record(
        session,
        claim,
        perk.slug,
        state.external_id,
        balance=state.balance,
        coupon=claim_coupons.summary(session, claim.id, now=now) if coupon else None,
    )


def _refund(session, state, claim: Claim, *, reason: str, operator: str, now) -> None:
    """Give the points back into the lots they came from, so they keep their expiry;
    those of a lot that expired meanwhile expire at once (an `expire` entry after the
    refund), as if the claim had never spent them."""
    lots = perk_rows.claim_lots(session, claim.id)
    expired = {
        lot_id: expires_at
        for lot_id, expires_at in ledger_store.lot_expiries(session, list(lots)).items()
        if expires_at <= now
    }
    # a negative "taken" puts points back into a lot (remaining <= amount holds)
    state.lot_changes = {lot: -points for lot, points in lots.items() if lot not in expired}
    refund = ledger_store.build_entry(
        state,
        entry_id=None,
        at=now,
        kind=models.CLAIM_REFUND,
        amount=claim.points,
        reason=reason,
        operator=operator,
        claim_id=claim.id,
    )
    refund_id = ledger_store.insert_entry(session, refund)
    for lot_id, expires_at in sorted(expired.items(), key=lambda item: (item[1], item[0])):
        ledger_store.insert_entry(
            session,
            ledger_store.build_entry(
                state,
                entry_id=None,
                at=now,
                kind=models.EXPIRE,
                amount=-lots[lot_id],
                reason="refunded points expired (their lot had expired)",
                operator=operator,
                expires_at=expires_at,
                claim_id=claim.id,
            ),
        )
    ledger_store.save_lot_changes(session, [state])
    ledger_store.save_member_states(session, [state], now)
    perk_rows.set_refund_entry(session, claim.id, refund_id)


# --- read ----------------------------------------------------------------------------


def _record(
    session, claim: Claim, slug: str, member: str, *, redemption=None, balance=None, coupon=None
) -> domain.ClaimRecord:
    return domain.ClaimRecord(
        claim_id=claim.id,
        perk=slug,
        member=member,
        at=claim.at,
        points_spent=claim.points,
        status=claim.status,
        operator=claim.operator,
        certificate_id=claim.certificate_id,
        key=claim.idem_key,
        cancelled_at=claim.cancelled_at,
        cancelled_by=claim.cancelled_by,
        cancel_reason=claim.cancel_reason,
        redemption=redemption,
        balance=balance,
        prize_of=claim.redemption_id,
        coupon=coupon,
    )


def show_claim(
    *,
    session: Session,
    claim_id: str,
    keys: KeyRing | None = None,
    now: datetime | None = None,
) -> domain.ClaimRecord:
    """A claim; with a key ring, the redemption it revealed is shown again. The coupon
    it issued, if any, with its code masked and its status at ``now``."""
    claim = store.require_claim(session, claim_id)
    perk = store.perk_of_claim(session, claim)
    member = store.member_external_id(session, claim.member_id)
    redemption = stored_redemption(session, keys, claim, perk) if keys is not None else None
    coupon = claim_coupons.summary(session, claim.id, now=now or utcnow())
    return _record(session, claim, perk.slug, member, redemption=redemption, coupon=coupon)


def perk_claims(
    *, session: Session, slug: str, since: datetime | None = None, limit: int | None = None
) -> list[domain.ClaimRecord]:
    perk = perk_rows.require(session, slug)
    return [
        _record(session, claim, slug, member)
        for claim, member in perk_rows.claims_of_perk(session, perk.id, since=since, limit=limit)
    ]


def member_claims(*, session: Session, member_id: int, limit: int = 20) -> list[domain.ClaimRecord]:
    external_id = store.member_external_id(session, member_id)
    return [
        _record(session, claim, slug, external_id)
        for claim, slug in perk_rows.claims_of_member(session, member_id, limit=limit)
    ]
