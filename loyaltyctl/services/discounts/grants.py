"""`discount grant | revoke | grants`: grants by hand, revokes, listings; and the
discounts a member holds (`member show`)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from loyaltyctl.domain.discount_grants import NOTE_MAX, GrantRecord, RevokeResult
from loyaltyctl.domain.errors import Argument, NotHeld, UsageProblem
from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import idempotency
from loyaltyctl.services.discounts.definitions import grant_records
from loyaltyctl.services.idempotency import KeyedKind
from loyaltyctl.store import audit
from loyaltyctl.store import discounts as store
from loyaltyctl.store import members as member_store
from loyaltyctl.store.db import Session

GRANT_KEYS = KeyedKind("grant", same_kind_conflict="another grant (grant {ref})")
LISTED = 1000  # grants a listing shows at most


def _request_hash(slug: str, member: str, until: str, note: str | None) -> str:
    text = "\x1f".join((slug, member, until, note or ""))
    return hashlib.sha256(text.encode()).hexdigest()


def _note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise UsageProblem(Argument("note"), f" must be 1-{NOTE_MAX:,} characters.")
    return note


def grant_discount(
    *,
    session: Session,
    slug: str,
    member: str,
    operator: str,
    until: datetime | None = None,
    expires_in: timedelta | None = None,
    note: str | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> GrantRecord:
    """Grant a discount by hand from now (until ``until`` or for ``expires_in``, else
    until revoked). With a key, the same request again replays the first grant (the same
    ``expires_in`` is the same request, whenever it is repeated)."""
    now = now or utcnow()
    if until is not None and expires_in is not None:
        raise UsageProblem("Give either --expires or --expires-in, not both.")
    asked = (
        f"in:{expires_in.total_seconds()}" if expires_in else (until.isoformat() if until else "")
    )
    if expires_in is not None:
        until = now + expires_in
    note = _note(note)
    if until is not None and until <= now:
        raise UsageProblem(Argument("expires"), " must be in the future.")
    discount = store.require(session, slug)
    row = member_store.require_row(session, member)
    digest = _request_hash(slug, row.external_id, asked, note)
    done = idempotency.original(session, GRANT_KEYS, key=key, digest=digest)
    if done is not None:
        found = grant_records(store.grant_rows(session, now=now, grant_id=int(done)), now)
        return _replayed(found[0])
    grant_id = store.insert_grant(
        session,
        {
            "discount_id": discount.id,
            "member_id": row.id,
            "source": "admin",
            "operator": operator,
            "note": note,
            "since": now,
            "until": until,
            "idem_key": key,
            "request_hash": digest if key else None,
            "created_at": now,
        },
    )
    idempotency.register(session, GRANT_KEYS, key=key, ref=grant_id)
    audit.append_event(
        session,
        subject=f"member:{row.external_id}",
        action="discount.grant",
        operator=operator,
        at=now,
        reason=note,
        details={
            "discount": slug,
            "grant": grant_id,
            "until": until.isoformat() if until else None,
        },
    )
    return grant_records(store.grant_rows(session, now=now, grant_id=grant_id), now)[0]


def _replayed(record: GrantRecord) -> GrantRecord:
    from dataclasses import replace

    return replace(record, replayed=True)


def revoke_discount(
    *,
    session: Session,
    slug: str,
    member: str,
    reason: str,
    operator: str,
    now: datetime | None = None,
) -> RevokeResult:
    """Revoke now every grant of the discount the member holds; NotHeld when none is."""
    now = now or utcnow()
    discount = store.require(session, slug)
    row = member_store.require_row(session, member)
    revoked = store.revoke_held(
        session, discount_id=discount.id, member_id=row.id, now=now, reason=reason
    )
    if not revoked:
        raise NotHeld(
            f"Member {row.external_id} holds no active grant of discount {slug}.",
            discount=slug,
            member=row.external_id,
        )
    audit.append_event(
        session,
        subject=f"member:{row.external_id}",
        action="discount.revoke",
        operator=operator,
        at=now,
        reason=reason,
        details={"discount": slug, "grants": revoked},
    )
    return RevokeResult(slug, row.external_id, tuple(revoked), reason)


def list_grants(
    *,
    session: Session,
    slug: str | None = None,
    member: str | None = None,
    include_all: bool = False,
    limit: int = LISTED,
    now: datetime | None = None,
) -> list[GrantRecord]:
    """Grants, newest first: active and scheduled ones unless ``include_all``."""
    now = now or utcnow()
    discount_id = store.require(session, slug).id if slug else None
    member_id = member_store.require_row(session, member).id if member else None
    rows = store.grant_rows(
        session,
        now=now,
        discount_id=discount_id,
        member_id=member_id,
        include_all=include_all,
        limit=limit,
    )
    return grant_records(rows, now)


def member_discounts(session: Session, member_id: int, *, now: datetime) -> list[GrantRecord]:
    """The discounts a member holds now (active and scheduled grants), newest first."""
    return grant_records(store.grant_rows(session, now=now, member_id=member_id), now)
