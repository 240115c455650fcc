"""Claiming perks with points, cancelling claims, certificates.

A claim is one transaction (the caller's): lock the member row, check the rules,
take supply and the member's allowance with conditional writes (the database has
the last word under concurrency), debit the points from the soonest-expiring
lots, record the claim with its encrypted redemption and signed certificate, and
queue the webhook. Any error rolls all of it back.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from loyaltyctl import crash
from loyaltyctl.domain import accounts as models
from loyaltyctl.domain import claiming as domain
from loyaltyctl.domain.coupon_specs import CouponSpec, prize_points
from loyaltyctl.domain.errors import (
    CLAIM_REFUSALS,
    InvalidCertificate,
    MemberLimit,
    PrizeUnavailable,
    Refused,
    SoldOut,
)
from loyaltyctl.domain.values import iso_utc, utcnow
from loyaltyctl.services import claim_coupons, idempotency
from loyaltyctl.services.idempotency import KeyedKind
from loyaltyctl.services.perk_states import claimant_state, coupon_spec, perk_state, price_of
from loyaltyctl.store import audit, lookups, webhook_queue
from loyaltyctl.store import ledger as ledger_store
from loyaltyctl.store import perks as store

if TYPE_CHECKING:  # the driver's alone: `perk claim` runs on a `driver.RawSession`
    from loyaltyctl.crypto import KeyRing
    from loyaltyctl.store.db import Session
    from loyaltyctl.store.perks import ClaimRow as Claim
    from loyaltyctl.store.tables import Perk

UTC_ZONE = ZoneInfo("UTC")
CLAIM_KEYS = KeyedKind("claim", same_kind_conflict="another claim ({ref})")
ID_LENGTH = 10  # 31**10 ≈ 8e14 claim ids: a collision is a retried transaction, not a bug


class _Claimant(NamedTuple):
    """The member's columns the claim rules read (`perk_states.claimant_state`), as locked."""

    id: int
    external_id: str
    balance: int
    plan: str | None
    tier: str | None


_ID_SPACE = len(domain.SUFFIX_ALPHABET) ** ID_LENGTH


def _new_id() -> str:
    """ID_LENGTH symbols of the alphabet, uniform: one draw below 31**10 written in base 31
    (one call to the OS's randomness instead of ten; it runs under the write lock)."""
    alphabet, base = domain.SUFFIX_ALPHABET, len(domain.SUFFIX_ALPHABET)
    n = secrets.randbelow(_ID_SPACE)
    symbols = []
    for _ in range(ID_LENGTH):
        n, digit = divmod(n, base)
        symbols.append(alphabet[digit])
    return "".join(symbols)


def _request_hash(slug: str, member: str, points: int | None = None) -> str:
    """What a key's request is: the perk, the member and (convert) the points chosen."""
    text = f"claim\x1f{slug}\x1f{member}" + (f"\x1f{points}" if points is not None else "")
    return hashlib.sha256(text.encode()).hexdigest()


# --- claim ---------------------------------------------------------------------------


def claim_perk(
    *,
    session: Session,
    keys: KeyRing,
    perk_slug: str,
    member: str,
    operator: str,
    key: str | None = None,
    points: int | None = None,
    now: datetime | None = None,
    tz: ZoneInfo = UTC_ZONE,
) -> domain.ClaimResult:
    """``points``: what a convert coupon converts (required for it, refused for other
    perks). A member pays their tier's price (`tier_prices`). ``tz``: the program time
    zone (a claim's day in the statistics, a coupon's expiry)."""
    now = now or utcnow()
    perk = store.claimable(session, perk_slug)  # through the driver: a hot path
    coupon = coupon_spec(perk)
    chosen = claim_coupons.chosen_points(perk, coupon, points)
    digest = _request_hash(perk_slug, member, chosen)
    locked = ledger_store.lock_member(session, member, ("tier", "plan"))  # one statement
    if locked is None:
        raise lookups.unknown_member(session, member)
    state, (tier, plan) = locked
    # looked up under the member's lock, so a request with this key that committed
    # while we waited is found here and replayed (not refused for its effects)
    if (ref := idempotency.original(session, CLAIM_KEYS, key=key, digest=digest)) is not None:
        return _replayed(session, keys, ref)
    price = chosen if chosen is not None else price_of(perk, tier)
    rules = perk_state(perk)  # parsed once: the checks below reuse it
    audience = rules.audience
    claimant = claimant_state(
        session,
        _Claimant(state.id, state.external_id, state.balance, plan, tier),  # as locked
        # what the rules do not need is not read (a claim is a hot path)
        store.member_claims(session, perk.id, state.id) if perk.max_per_member else 0,
        with_labels=bool(audience.groups or audience.tags),
    )
    _check(perk, claimant, now, price=price, rules=rules)
    # the authoritative checks: conditional writes the database evaluates. The
    # member's allowance first (a row of this member's); the supply, shared by every
    # claimer of the perk, last, just before the commit: its row lock is held from
    # the take to the commit, so nothing else of the claim may run while it is held
    held = store.take_member_allowance(session, perk.id, state.id, perk.max_per_member)
    if not held:
        held = store.member_claims(session, perk.id, state.id)
        _check(
            perk,
            replace(claimant, claims_of_perk=held),
            now,
            price=price,
            fallback=MemberLimit,
            rules=rules,
        )

    claim_id, certificate, redemption = _issue(
        session,
        keys,
        perk,
        state,
        price=price,
        operator=operator,
        now=now,
        key=key,
        digest=digest,
        tz=tz,
        coupon=coupon,
        chosen=chosen,
    )
    count = _claim_count(price, now, tz, member_joined=held == 1)
    if store.take_supply(session, perk.id, perk.supply_buckets, count) is None:
        # someone took the last one (or disabled it) meanwhile: all undone
        perk = store.claimable(session, perk_slug)
        _check(perk, claimant, now, price=price, fallback=SoldOut, session=session)
    ledger_store.save_summary(session, [state])  # last: its row is shared by 1/16 of members
    crash.reached("claim-before-commit")
    return domain.ClaimResult(
        claim_id=claim_id,
        perk=perk.slug,
        perk_name=perk.name,
        member=state.external_id,
        points_spent=price,
        balance=state.balance,
        redemption=redemption,
        certificate_id=certificate["certificate_id"],
        at=now,
    )


def _issue(
    session,
    keys: KeyRing,
    perk: Perk,
    state,
    *,
    price: int,
    operator: str,
    now,
    key: str | None = None,
    digest: str | None = None,
    redemption_id: str | None = None,
    tz: ZoneInfo,
    coupon: CouponSpec | None = None,
    chosen: int | None = None,
) -> tuple[str, dict, domain.Redemption]:
    """Record a claim whose allowance is taken (its supply, with the statistics, is taken
    by the caller: `store.perks.take_supply`): debit ``price`` (none for a free perk or a prize),
    reveal the redemption (issue the coupon of a coupon perk,
    converting ``chosen`` points for a convert one), sign the certificate, queue the
    webhook. Returns (claim id, certificate, redemption)."""
    claim_id = _new_id()
    day = now.astimezone(tz).date().isoformat()
    entry_id, lots = _debit(
        session, state, perk, price=price, claim_id=claim_id, operator=operator, now=now
    )
    redemption, redemption_enc, code_hash = _redeem(session, keys, perk, claim_id=claim_id)
    certificate = _certificate(
        keys, claim_id=claim_id, perk=perk, member=state.external_id, points=price, now=now
    )
    store.insert_claim(
        session,
        {
            "id": claim_id,
            "perk_id": perk.id,
            "member_id": state.id,
            "at": now,
            "points": price,
            "status": domain.ACTIVE,
            "operator": operator,
            "idem_key": key,
            "request_hash": digest if key else None,
            "redemption_enc": redemption_enc,
            "code_hash": code_hash,
            "entry_id": entry_id,
            "certificate_id": certificate["certificate_id"],
            "certificate": domain.canonical_json(certificate).decode(),
            "redemption_id": redemption_id,
            "day": day,
        },
        lots,
    )
    if coupon is not None:  # after the claim's row: the coupon's points at it
        redemption = claim_coupons.issue(
            session,
            keys,
            perk,
            coupon,
            claim_id=claim_id,
            member_id=state.id,
            points=price,
            chosen=chosen,
            now=now,
            tz=tz,
        )
    idempotency.register(session, CLAIM_KEYS, key=key, ref=claim_id)
    if perk.redemption_type == "webhook":
        queue_webhook(session, perk, claim_id, "claim.created", certificate, now)
    if entry_id is None:
        # no points moved, so no ledger entry records who claimed it
        audit.append_event(
            session,
            subject=f"claim:{claim_id}",
            action="claim.create",
            operator=operator,
            at=now,
            reason=f"claimed perk {perk.slug} for {state.external_id}"
            + (f" (prize of promo redemption {redemption_id})" if redemption_id else ""),
            details={"perk": perk.slug, "member": state.external_id, "points": 0},
        )
    return claim_id, certificate, redemption


def _claim_count(price: int, now: datetime, tz: ZoneInfo, *, member_joined: bool):
    """What the claim adds to its perk's statistics and to the day's count (its day in
    the program time zone)."""
    day = now.astimezone(tz).date().isoformat()
    return store.ClaimCount(points=price, at=now, day=day, member_joined=int(member_joined))


def claim_prize(
    session: Session,
    keys: KeyRing,
    perk: Perk,
    state,
    *,
    operator: str,
    now: datetime,
    redemption_id: str,
    tz: ZoneInfo = None,
) -> str:
    """A prize of a promo redemption: free, within the perk's supply and active flag,
    not limited by its own audience or per-member limit (the campaign's govern).
    A coupon perk issues its coupon; a convert one converts the points of its rate
    (`prize_points`). Returns the claim id."""
    coupon = coupon_spec(perk)
    held = store.take_member_allowance(session, perk.id, state.id, None)  # not limited
    count = _claim_count(0, now, tz or UTC_ZONE, member_joined=held == 1)
    if store.take_supply(session, perk.id, perk.supply_buckets, count) is None:
        session.refresh(perk)
        why = "is disabled" if not perk.active else "is sold out"
        raise PrizeUnavailable(f"Prize perk {perk.slug} {why}.", perk=perk.slug)
    claim_id, _, _ = _issue(
        session,
        keys,
        perk,
        state,
        price=0,
        operator=operator,
        now=now,
        redemption_id=redemption_id,
        tz=tz or UTC_ZONE,
        coupon=coupon,
        chosen=prize_points(coupon) if coupon is not None else None,
    )
    return claim_id


def _check(
    perk: Perk,
    claimant,
    now,
    *,
    price: int,
    fallback: type[Refused] | None = None,
    session: Session | None = None,
    rules: domain.PerkState | None = None,
) -> None:
    """Raise the refusal the rules give, if any (else ``fallback``, when given);
    ``price``: what this member pays. With ``session``, a bucketed perk's supply is
    summed from its buckets (after a claim found none left). ``rules``: the perk's
    `perk_state` as read (without ``session``), when the caller has it already."""
    if session is not None:
        state = perk_state(perk, store.counted(session, perk))
    else:
        state = rules if rules is not None else perk_state(perk)
    refused = domain.refusal(replace(state, price=price), claimant, now)
    if refused is not None:
        code, message = refused
        raise CLAIM_REFUSALS[code](message, perk=perk.slug, member=claimant.external_id)
    if fallback is not None:
        raise fallback(
            f"Perk {perk.slug} cannot be claimed now ({fallback.code}).",
            perk=perk.slug,
            member=claimant.external_id,
        )


def _debit(session, state, perk: Perk, *, price: int, claim_id: str, operator: str, now):
    """The claim's ledger entry (none for a free perk) and the lots it spent from."""
    if price == 0:
        return None, {}
    # the rules checked the balance of the locked row; the database checks it again
    ledger_store.take_from_lots(session, state, price)
    lots = dict(state.lot_changes or {})
    entry = ledger_store.build_entry(
        state,
        entry_id=None,
        at=now,
        kind=models.CLAIM,
        amount=-price,
        reason=f"claimed perk {perk.slug}",
        operator=operator,
        claim_id=claim_id,
    )
    entry_id = ledger_store.insert_entry(session, entry)
    ledger_store.save_lot_changes(session, [state])
    # the shared summary row is taken last, just before commit (see claim_perk)
    ledger_store.save_member_states(session, [state], now, summary=False)
    return entry_id, lots


def _redeem(session, keys: KeyRing, perk: Perk, *, claim_id: str):
    """(what the member receives, its ciphertext bound to the claim, the code's lookup hash)."""
    kind = perk.redemption_type
    if kind not in ("code", "link"):
        return domain.Redemption(kind, None, perk.instructions), None, None
    value = keys.decrypt(perk.value_enc, bound_to=domain.perk_secret_binding(perk.slug, "value"))
    code_hash = None
    if kind == "code" and perk.single_use:
        value, code_hash = _unique_code(session, keys, perk, value)
    checkout = domain.checkout_link(perk.checkout_url, value) if perk.iframe else None
    sealed = keys.encrypt(value, bound_to=domain.claim_secret_binding(claim_id))
    return domain.Redemption(kind, value, perk.instructions, checkout), sealed, code_hash


def _unique_code(session, keys: KeyRing, perk: Perk, base: str) -> tuple[str, str]:
    """A suffix no other claim of this perk has. Claims of a perk run side by side until
    they take the supply (last), so one that picks a suffix another has just taken is
    refused by UNIQUE(perk, hash), the database's guarantee, and run again."""
    length = domain.suffix_length(store.counted(session, perk).claimed)
    while True:
        for _ in range(20):
            suffix = "".join(secrets.choice(domain.SUFFIX_ALPHABET) for _ in range(length))
            code = domain.single_use_code(base, suffix)
            digest = keys.lookup_hash(code.upper())
            if not store.code_taken(session, perk.id, digest):
                return code, digest
        length += 1


def _certificate(
    keys: KeyRing, *, claim_id: str, perk: Perk, member: str, points: int, now
) -> dict:
    document = {
        "certificate_id": f"CT-{claim_id}",
        "claim_id": claim_id,
        "perk": perk.slug,
        "perk_name": perk.name,
        "member": member,
        "points_spent": points,
        "issued_at": iso_utc(now),
        "key_id": keys.signing_id,
    }
    document["signature"] = keys.sign(domain.signed_part(document))
    return document


def queue_webhook(session, perk: Perk, claim_id: str, event: str, certificate: dict, now):
    payload = {
        k: certificate[k] for k in ("claim_id", "certificate_id", "perk", "member", "points_spent")
    }
    payload["at"] = iso_utc(now)
    webhook_queue.queue_delivery(
        session,
        claim_id=claim_id,
        perk_id=perk.id,
        event=event,
        url=perk.webhook_url,
        payload=payload,
        now=now,
    )


def _replayed(session, keys: KeyRing, ref: str) -> domain.ClaimResult:
    """The result of the claim an idempotency key already made."""
    claim = store.require_claim(session, ref)
    perk = store.perk_of_claim(session, claim)
    member = store.member_external_id(session, claim.member_id)
    if claim.entry_id is not None:
        balance = ledger_store.entry_by_id(session, claim.entry_id).balance_after
    else:
        balance = lookups.require_member(session, member).balance
    return domain.ClaimResult(
        claim_id=claim.id,
        perk=perk.slug,
        perk_name=perk.name,
        member=member,
        points_spent=claim.points,
        balance=balance,
        redemption=stored_redemption(session, keys, claim, perk),
        certificate_id=claim.certificate_id,
        at=claim.at,
        status=claim.status,
        replayed=True,
    )


def stored_redemption(session, keys: KeyRing, claim: Claim, perk: Perk) -> domain.Redemption:
    if claim.redemption_enc is None and (
        coupon := claim_coupons.stored_redemption(session, keys, claim.id, perk)
    ):
        return coupon
    value = (
        keys.decrypt(claim.redemption_enc, bound_to=domain.claim_secret_binding(claim.id))
        if claim.redemption_enc
        else None
    )
    checkout = domain.checkout_link(perk.checkout_url, value) if perk.iframe and value else None
    return domain.Redemption(perk.redemption_type, value, perk.instructions, checkout)


# --- certificates --------------------------------------------------------------------


def certificate(*, session: Session, claim_id: str) -> str:
    """The certificate file's text: canonical JSON, as signed at the claim."""
    return store.require_claim(session, claim_id).certificate + "\n"


def verify_certificate(data: bytes, *, public_key_pem: bytes) -> domain.CertificateCheck:
    """Valid only when the file is exactly the canonical JSON that was signed (a
    trailing newline aside) and the signature checks: any altered byte fails."""
    from loyaltyctl.crypto import verify_signature

    text = data[:-1] if data.endswith(b"\n") else data
    try:
        document = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidCertificate("The file is not a certificate: it is not JSON.") from None
    if not isinstance(document, dict):
        raise InvalidCertificate("The file is not a certificate: it is not a JSON object.")
    missing = [f for f in (*domain.CERTIFICATE_FIELDS, "signature") if f not in document]
    if missing:
        raise InvalidCertificate(f"The certificate lacks {', '.join(missing)}.")
    if domain.canonical_json(document) != text:
        raise InvalidCertificate(
            "The certificate was altered: it is not the canonical JSON that was signed."
        )
    if not verify_signature(public_key_pem, domain.signed_part(document), document["signature"]):
        raise InvalidCertificate(
            f"The signature of certificate {document['certificate_id']} does not match its "
            "content and this public key."
        )
    return domain.CertificateCheck(
        valid=True, certificate_id=document["certificate_id"], claim_id=document["claim_id"]
    )
