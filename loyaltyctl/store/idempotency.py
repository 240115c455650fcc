"""Idempotency keys in the database.

Keys are global: a key held by one kind of change (a ledger entry, a claim, a promo
redemption) is taken for every other kind. Each kind keeps its key and the request hash
(what "the same content" was) on its own row, in a UNIQUE ``idem_key`` column; `holders`
looks across them. The ``idempotency_key`` table (`register`) is what makes two kinds
racing with one new key collide; it is not looked in, since it holds no request hashes,
nor the keys taken before it existed or those a points import derives.

A new kind of keyed change adds its table to HOLDERS (its columns ``id``, ``idem_key``,
``request_hash``) and takes its keys with `register`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loyaltyctl.store.driver import bulk_insert, fetch_one, insert_row, select_in

if TYPE_CHECKING:
    from sqlmodel import Session

# kind -> the table whose rows hold that kind's keys; `holders` lists the kinds holding
# one key in this order (several only where the key table did not yet keep them apart)
HOLDERS = {
    "entry": "ledger_entry",
    "claim": "claim",
    "redemption": "promo_redemption",
    "grant": "discount_grant",
}


@dataclass(frozen=True, slots=True)
class Holder:
    """A change holding a key: its kind, its id, and the request hash it was made with."""

    kind: str
    ref: str
    request_hash: str | None


def kinds_holding_keys(session: Session, kinds: Collection[str]) -> set[str]:
    """Those of ``kinds`` of which some change holds a key (a bulk look-up skips the
    others)."""
    return {
        kind
        for kind in kinds
        if fetch_one(session, f"SELECT 1 FROM {HOLDERS[kind]} WHERE idem_key IS NOT NULL LIMIT 1")
    }


def holders(
    session: Session, keys: list[str], *, kinds: Collection[str] = HOLDERS
) -> dict[str, list[Holder]]:
    """key -> the changes holding it (in HOLDERS order), for the keys that are taken;
    only changes of ``kinds`` are looked at.

    Through the driver (`select_in`), one statement per chunk of keys over the kinds'
    tables: a single key (a claim, a credit) costs one round trip, and a bulk import's
    thousands are not rendered and parsed by SQLAlchemy.
    """
    found: dict[str, list[Holder]] = {}
    order = {kind: index for index, kind in enumerate(HOLDERS)}
    sql = " UNION ALL ".join(
        f"SELECT idem_key, '{kind}', CAST(id AS TEXT), request_hash FROM {table} "
        "WHERE idem_key {in_list}"
        for kind, table in HOLDERS.items()
        if kind in kinds
    )
    for key, kind, ref, request_hash in select_in(session, sql, keys):
        found.setdefault(key, []).append(Holder(kind, ref, request_hash))
    for held in found.values():
        if len(held) > 1:
            held.sort(key=lambda holder: order[holder.kind])
    return found


def register(session: Session, key: str, *, kind: str, ref: str) -> None:
    """Take ``key`` for this change. A concurrent change of another kind holding it makes
    this INSERT wait and then fail (IntegrityError), and the caller's transaction is
    retried from the start (store.db), where the look-ups find the key."""
    insert_row(session, "idempotency_key", {"key": key, "kind": kind, "ref": ref})


def register_many(session: Session, rows: list[dict]) -> None:
    """Keys taken in bulk: rows of {"key", "kind", "ref"}."""
    bulk_insert(session, "idempotency_key", ("key", "kind", "ref"), rows)
