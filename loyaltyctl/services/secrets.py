"""Re-encrypting every stored secret under the key ring's primary key (`keys rotate`)."""

from __future__ import annotations

from datetime import datetime

from loyaltyctl import crash
from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain.coupons import code_binding as coupon_binding
from loyaltyctl.domain.perks import claim_secret_binding, perk_secret_binding
from loyaltyctl.domain.promo import code_binding as promo_code_binding
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit, perk_rows
from loyaltyctl.store import coupons as coupon_store
from loyaltyctl.store import promo_codes as promo_code_store
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
    for perk_id, slug, value_enc, hook_enc in perk_rows.perk_secrets(session):
        values = {}
        for field, token in (("value", value_enc), ("webhook_secret", hook_enc)):
            sealed = fresh(token, perk_secret_binding(slug, field))
            if sealed is not None:
                values[f"{field}_enc"] = sealed
        if values:
            perk_rows.update_perk(session, perk_id, values)
            count += len(values)
    pages = (
        # (read a page after a key, write a page, what a ciphertext is bound to)
        (perk_rows.claim_secrets, perk_rows.set_claim_secrets, claim_secret_binding, ""),
        (coupon_store.coupon_secrets, coupon_store.set_coupon_secrets, coupon_binding, ""),
        (promo_code_store.code_secrets, promo_code_store.set_code_secrets, None, 0),
    )
    for read, write, binding, start in pages:
        count += _rotate_pages(session, fresh, read, write, binding, start)
    audit.append_event(
        session,
        subject="keys",
        action="keys.rotate",
        operator=operator,
        at=now or utcnow(),
        details={"primary": keys.primary, "reencrypted": count},
    )
    crash.reached("rotate-before-commit")
    return count


def _rotate_pages(session, fresh, read, write, binding, after) -> int:
    """Re-encrypt one table's secrets a page at a time; returns how many. A promo code's
    ciphertext is bound to its hash (``binding`` None: the row gives it)."""
    count = 0
    while page := read(session, after=after, size=PAGE):
        changed = []
        for key, *rest in page:
            token = rest[-1]
            bound = promo_code_binding(rest[0]) if binding is None else binding(key)
            if (sealed := fresh(token, bound)) is not None:
                changed.append((key, sealed))
        write(session, changed)
        count += len(changed)
        after = page[-1][0]
    return count
