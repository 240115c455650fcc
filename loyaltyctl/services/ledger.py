"""Crediting and writing off points, balances and history."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from loyaltyctl import crash
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import InsufficientBalance
from loyaltyctl.domain.values import iso_utc, utcnow
from loyaltyctl.services import idempotency, lookups
from loyaltyctl.services.idempotency import KeyedKind
from loyaltyctl.store import ledger as store

if TYPE_CHECKING:  # what `points import` shares with the commands here runs on the driver
    # alone: the ORM's modules are imported by the functions that use them
    from loyaltyctl.store.db import Session
    from loyaltyctl.store.tables import LedgerEntry, Member


def request_hash(
    *,
    member: str,
    amount: int,
    reason: str | None,
    expires_at: datetime | None,
    pending_until: datetime | None = None,
    expires_in: timedelta | None = None,
) -> str:
    """What "the same content" means for an idempotency key (spec §3).

    An expiry given as a duration (``--expires-in 90d``) counts as that duration, so
    a retried command a minute later is the same change, not a conflicting one.
    """
    expiry = f"in {int(expires_in.total_seconds())}s" if expires_in else _iso(expires_at)
    # unambiguous: member ids and reasons hold no control characters (validated)
    canonical = "\x1f".join((member, str(amount), reason or "", expiry, _iso(pending_until)))
    return hashlib.sha256(canonical.encode()).hexdigest()


@lru_cache(maxsize=4096)
def _iso(moment: datetime | None) -> str:
    return iso_utc(moment) or ""


ENTRY_KEYS = KeyedKind("entry", same_kind_conflict="a different change (entry {ref})")


def _replayed(session: Session, ref: str, member: str) -> models.PointsChange:
    entry = store.entry_by_id(session, int(ref))
    return models.PointsChange(
        entry_id=entry.id,
        member=member,
        amount=entry.amount or entry.pending_amount,
        balance=entry.balance_after,
        pending=entry.pending_amount,
        replayed=True,
    )


def change_points(
    *,
    session: Session,
    member: str,
    amount: int,
    reason: str,
    operator: str,
    key: str | None = None,
    expires_at: datetime | None = None,
    expires_in: timedelta | None = None,
    pending_until: datetime | None = None,
    now: datetime | None = None,
) -> models.PointsChange:
    """Credit (amount > 0) or write off (amount < 0) points for one member.

    A credit may expire (a lot, spent first as it expires soonest) or mature later
    (pending until then). A write-off spends the soonest-expiring lots first and is
    refused when the balance would go below zero.
    """
    now = now or utcnow()
    if expires_in is not None:
        expires_at = now + expires_in
    digest = request_hash(
        member=member,
        amount=amount,
        reason=reason,
        expires_at=expires_at,
        pending_until=pending_until,
        expires_in=expires_in,
    )
    if (ref := idempotency.original(session, ENTRY_KEYS, key=key, digest=digest)) is not None:
        return _replayed(session, ref, member)
    from loyaltyctl.store import members as member_store

    row = member_store.require_row(session, member)
    state = store.lock_members(session, [row.id])[row.id]
    # a request with this key may have committed while we waited for the lock
    if (ref := idempotency.original(session, ENTRY_KEYS, key=key, digest=digest)) is not None:
        return _replayed(session, ref, member)
    entry = apply_change(
        session,
        state,
        amount=amount,
        reason=reason,
        operator=operator,
        key=key,
        digest=digest if key else None,
        expires_at=expires_at,
        pending_until=pending_until,
        now=now,
    )
    entry_id = store.insert_entry(session, entry)
    idempotency.register(session, ENTRY_KEYS, key=key, ref=entry_id)
    if expires_at is not None or (pending_until is not None and pending_until > now):
        store.insert_lot(session, lot_row(entry, entry_id=entry_id))
    store.save_lot_changes(session, [state])
    store.save_member_states(session, [state], now)
    crash.reached("credit-before-commit")
    return models.PointsChange(
        entry_id=entry_id,
        member=member,
        amount=entry["amount"] or entry["pending_amount"],
        balance=state.balance,
        pending=state.pending,
        replayed=False,
    )


def apply_change(
    session: Session,
    state: store.MemberState,
    *,
    amount: int,
    reason: str | None,
    operator: str,
    key: str | None,
    digest: str | None,
    expires_at: datetime | None,
    pending_until: datetime | None,
    now: datetime,
    entry_id: int | None = None,
) -> dict:
    """The entry for one credit or write-off against a locked member (shared with imports)."""
    if amount < 0:
        if state.balance + amount < 0:
            raise InsufficientBalance(
                f"Member {state.external_id} has {state.balance:,} points; "
                f"writing off {-amount:,} would go below zero.",
                member=state.external_id,
            )
        store.take_from_lots(session, state, -amount)
        kind = models.WRITE_OFF
    else:
        kind = models.CREDIT
    pending = pending_until is not None and pending_until > now and amount > 0
    return store.build_entry(
        state,
        entry_id=entry_id,
        at=now,
        kind=kind,
        amount=0 if pending else amount,
        pending_amount=amount if pending else 0,
        reason=reason,
        operator=operator,
        idem_key=key,
        request_hash=digest,
        expires_at=expires_at if amount > 0 else None,
        pending_until=pending_until if pending else None,
    )


def lot_row(entry: dict, *, entry_id: int, lot_id: int | None = None) -> dict:
    """The lot of a credit that expires or matures later."""
    points = entry["amount"] or entry["pending_amount"]
    pending = entry["pending_amount"] > 0
    return {
        "id": lot_id,
        "member_id": entry["member_id"],
        "entry_id": entry_id,
        "amount": points,
        "remaining": points,
        "expires_at": entry["expires_at"],
        "matures_at": entry["pending_until"] if pending else None,
        "matured": not pending,
    }


balance = lookups.balance  # through the driver alone: starts fast


def balance_of(session: Session, row: Member, *, soon_days: int, now: datetime) -> models.Balance:
    return lookups.balance_of(session, row, soon_days, now)


def entry_to_domain(row: LedgerEntry, member: str) -> models.LedgerEntry:
    return models.LedgerEntry(
        id=row.id,
        member=member,
        at=row.at,
        kind=row.kind,
        amount=row.amount,
        pending_amount=row.pending_amount,
        balance_after=row.balance_after,
        reason=row.reason,
        operator=row.operator,
        key=row.idem_key,
        expires_at=row.expires_at,
        pending_until=row.pending_until,
        rule=row.rule,
        event_id=row.event_id,
        order_id=row.order_id,
        claim_id=row.claim_id,
    )


def history(*, session: Session, member: str, limit: int | None = 50) -> list[models.LedgerEntry]:
    """Entries, newest first."""
    from loyaltyctl.store import members as member_store

    row = member_store.require_row(session, member)
    return recent_entries(session, row, limit=limit)


def recent_entries(session: Session, row: Member, *, limit: int | None) -> list[models.LedgerEntry]:
    from loyaltyctl.store import ledger_rows

    return [
        entry_to_domain(e, row.external_id)
        for e in ledger_rows.recent_entries(session, row.id, limit=limit)
    ]
