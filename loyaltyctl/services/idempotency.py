"""Idempotency keys: how every keyed change (``--key``, a points file's ``key`` column)
happens at most once.

A key given again
- with the same content (the same request digest) replays the original result and
  changes nothing;
- with different content is refused (KeyConflict) and changes nothing;
- when another kind of change holds it, is refused too: keys are global.

A keyed kind of change plugs in with
1. its table in ``store.idempotency.HOLDERS`` and a `KeyedKind` here (its name there);
2. ``ref = original(session, KIND, key=key, digest=digest)`` before it changes anything
   (under the locks that serialise its competitors): when not None, it returns its
   original result rebuilt from ``ref`` (the id of the change), marked replayed;
3. ``register(session, KIND, key=key, ref=new_id)`` with its change.

Bulk changes of one kind check their keys a chunk at a time with `KeyBatch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from loyaltyctl.domain.errors import KeyConflict
from loyaltyctl.store import idempotency as store
from loyaltyctl.store.idempotency import Holder

if TYPE_CHECKING:
    from loyaltyctl.store.db import Session


@dataclass(frozen=True)
class KeyedKind:
    """A kind of change taking idempotency keys.

    ``name``: its kind in ``idempotency_key`` and in the messages of the other kinds
    ("the key was already used for claim 7KQ4...").
    ``same_kind_conflict``: how a conflict names the change of this kind that holds the
    key; ``{ref}`` is its id.
    """

    name: str
    same_kind_conflict: str

    def __post_init__(self) -> None:
        if self.name not in store.HOLDERS:
            raise ValueError(f"keyed kind {self.name!r} has no table in HOLDERS")


class KeyStatus(Enum):
    NEW = "new"  # nobody holds the key: make the change and register the key
    REPLAY = "replay"  # this kind holds it for the same content: the original result stands
    CONFLICT = "conflict"  # this kind holds it for different content
    HELD_BY_OTHER_KIND = "held_by_other_kind"


@dataclass(frozen=True, slots=True)
class KeyCheck:
    status: KeyStatus
    holder: Holder | None = None  # the written change holding the key, if any


def check(kind: KeyedKind, digest: str, holders: list[Holder]) -> KeyCheck:
    """What a request of ``kind`` with this ``digest`` meets, given its key's holders."""
    if not holders:
        return KeyCheck(KeyStatus.NEW)
    own = next((holder for holder in holders if holder.kind == kind.name), None)
    if own is None:
        return KeyCheck(KeyStatus.HELD_BY_OTHER_KIND, holders[0])
    if own.request_hash != digest:
        return KeyCheck(KeyStatus.CONFLICT, own)
    return KeyCheck(KeyStatus.REPLAY, own)


def original(session: Session, kind: KeyedKind, *, key: str | None, digest: str) -> str | None:
    """The id of the change ``key`` already made with this content (to replay), or None
    when no key is given or nobody holds it. A key held otherwise raises KeyConflict."""
    if key is None:
        return None
    found = check(kind, digest, store.holders(session, [key]).get(key, []))
    if found.status is KeyStatus.NEW:
        return None
    if found.status is KeyStatus.REPLAY:
        return found.holder.ref
    if found.status is KeyStatus.CONFLICT:
        used_for = kind.same_kind_conflict.format(ref=found.holder.ref)
    else:
        used_for = f"{found.holder.kind} {found.holder.ref}"
    raise KeyConflict(f"The key {key!r} was already used for {used_for}; nothing was changed.")


def register(session: Session, kind: KeyedKind, *, key: str | None, ref: str | int) -> None:
    """Take ``key`` (if given) for the change ``ref`` of this kind, in its transaction."""
    if key is not None:
        store.register(session, key, kind=kind.name, ref=str(ref))


class KeyBatch:
    """The keys of many changes of one kind in one transaction (a bulk import), checked a
    chunk at a time: `look_up` the chunk's keys at once, then `check` each change in
    order. A key found new is taken for the rest of the chunk at once, so the same key
    later in it replays or conflicts although its change is not written yet; the caller
    writes a chunk's changes before looking up the next chunk's keys."""

    def __init__(self, session: Session, kind: KeyedKind) -> None:
        self.session, self.kind = session, kind
        # the other kinds are looked at only if they hold keys at all (most databases
        # importing points have no keyed claims or redemptions); this kind's keys are
        # looked up always: the batch's earlier chunks wrote some
        others = [name for name in store.HOLDERS if name != kind.name]
        self.kinds = store.kinds_holding_keys(session, others) | {kind.name}
        self.found: dict[str, list[Holder]] = {}
        self.taken: dict[str, str] = {}  # key -> digest, of this chunk's new keys

    def look_up(self, keys: list[str]) -> None:
        self.found = store.holders(self.session, keys, kinds=self.kinds)
        self.taken = {}

    def check(self, key: str, digest: str) -> KeyCheck:
        holders = self.found.get(key)
        if holders is not None:
            return check(self.kind, digest, holders)
        taken = self.taken.get(key)
        if taken is None:
            self.taken[key] = digest
            return KeyCheck(KeyStatus.NEW)
        return KeyCheck(KeyStatus.REPLAY if taken == digest else KeyStatus.CONFLICT)

    def register(self, refs: dict[str, str | int]) -> None:
        """Take these keys (key -> the id of its change)."""
        store.register_many(
            self.session,
            [{"key": key, "kind": self.kind.name, "ref": str(ref)} for key, ref in refs.items()],
        )
