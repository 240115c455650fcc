"""Re-encrypting every stored secret under the key ring's primary key (`keys rotate`)."""

from __future__ import annotations

from datetime import datetime

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain.coupons import code_binding as coupon_binding
from loyaltyctl.domain.perks import claim_secret_binding, perk_secret_binding
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit
from loyaltyctl.store import coupons as coupon_store
from loyaltyctl.store import perks as perk_store
from loyaltyctl.store.db import Session

PAGE = 1000


def reencrypt_secrets(
    *, session: Session, keys: KeyRing, operator: str, now: datetime | None = None
) -> int:
    """Re-encrypt what is not yet under the primary key; returns how many secrets.

    One transaction (the caller's): a failure leaves every secret as it was, still
    readable with the old keys, which stay in the ring. Secrets already under the
    primary are skipped, so running it again after an interruption finishes the job.
    """

    def fresh(token: str | None, binding: str) -> str | None:
        if token is None or token.startswith(f"{keys.primary}:"):
            return None
        return keys.encrypt(keys.decrypt(token, bound_to=binding), bound_to=binding)

    count = 0
    for perk_id, slug, value_enc, hook_enc in perk_store.perk_secrets(session):
        values = {}
        for field, token in (("value", value_enc), ("webhook_secret", hook_enc)):
            sealed = fresh(token, perk_secret_binding(slug, field))
            if sealed is not None:
                values[f"{field}_enc"] = sealed
        if values:
            perk_store.update_perk(session, perk_id, values)
            count += len(values)
    after = ""
    while page := perk_store.claim_secrets(session, after=after, size=PAGE):
        changed = [
            (claim_id, sealed)
            for claim_id, token in page
            if (sealed := fresh(token, claim_secret_binding(claim_id))) is not None
        ]
        perk_store.set_claim_secrets(session, changed)
        count += len(changed)
        after = page[-1][0]
    after = ""
    while page := coupon_store.coupon_secrets(session, after=after, size=PAGE):
        changed = [
            (claim_id, sealed)
            for claim_id, token in page
            if (sealed := fresh(token, coupon_binding(claim_id))) is not None
        ]
        coupon_store.set_coupon_secrets(session, changed)
        count += len(changed)
        after = page[-1][0]
    audit.append_event(
        session,
        subject="keys",
        action="keys.rotate",
        operator=operator,
        at=now or utcnow(),
        details={"primary": keys.primary, "reencrypted": count},
    )
    return count
