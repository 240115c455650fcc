"""Idempotency keys are global: a key held by one kind of change (a ledger entry, a
claim, a promo redemption) is taken for every other kind. Each kind keeps its keys in
its own UNIQUE column; this looks across them."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from loyaltyctl.store.driver import bulk_insert, insert_row
from loyaltyctl.store.tables import Claim, LedgerEntry, PromoRedemption

HOLDERS = (
    ("entry", LedgerEntry.idem_key, LedgerEntry.id),
    ("claim", Claim.idem_key, Claim.id),
    ("redemption", PromoRedemption.idem_key, PromoRedemption.id),
)


def any_keys(session: Session, *, except_kind: str) -> bool:
    """Whether any other kind holds keys at all (bulk imports skip the look-up if not)."""
    return any(
        session.execute(select(column).where(column.is_not(None)).limit(1)).first() is not None
        for kind, column, _ in HOLDERS
        if kind != except_kind
    )


def held_elsewhere(session: Session, keys: list[str], *, except_kind: str) -> dict[str, str]:
    """key -> "claim 7KQ4..." for the keys another kind of change holds."""
    found: dict[str, str] = {}
    for kind, column, row_id in HOLDERS:
        if kind == except_kind:
            continue
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            for key, ident in session.execute(select(column, row_id).where(column.in_(chunk))):
                found.setdefault(key, f"{kind} {ident}")
    return found


def register(session: Session, key: str, *, kind: str, ref: str) -> None:
    """Take ``key`` for this change. A concurrent change of another kind holding it makes
    this INSERT wait and then fail (IntegrityError), and the caller's transaction is
    retried from the start (store.db), where the look-ups find the key."""
    insert_row(session, "idempotency_key", {"key": key, "kind": kind, "ref": ref})


def register_many(session: Session, rows: list[dict]) -> None:
    """Keys taken in bulk: rows of {"key", "kind", "ref"}."""
    bulk_insert(session, "idempotency_key", ("key", "kind", "ref"), rows)
