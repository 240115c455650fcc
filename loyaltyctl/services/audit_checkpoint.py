"""Signed audit checkpoints: an audit trail that cannot be cut quietly.

A chain proves that nothing inside it changed, but someone with database access can cut
its tail and roll the head back (or delete a whole chain with its head row): nothing
left in the database disagrees. `make_checkpoint` records the head (sequence number and
hash) of every chain and the counts, signs them with the key file's Ed25519 signing key
and returns the document, which is kept OUTSIDE the database (a file, another machine).
`check_checkpoint` proves that nothing recorded before it was removed or changed: each
head it names must still be in its chain with the same hash (and `audit verify` checks
that every chain links back from there to its start), and no count went down. The
checkpoint itself is recorded as an `audit.checkpoint` event (its digest and counts).

Read in one snapshot (SQLite: the write lock of the transaction; PostgreSQL: a
REPEATABLE READ snapshot), the heads of a checkpoint are those of one moment: a
transaction is either wholly in it or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime

from loyaltyctl.crypto import KeyRing, verify_signature
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import BadCheckpoint
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit as audit_store
from loyaltyctl.store import audit_trail
from loyaltyctl.store import checkpoints as store
from loyaltyctl.store.db import Session

FORMAT = "loyaltyctl-audit-checkpoint/1"


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_checkpoint(
    *, session: Session, keys: KeyRing, operator: str, now: datetime | None = None
) -> models.Checkpoint:
    """The signed checkpoint of every chain's head, recorded as an audit event too."""
    now = now or utcnow()
    members, entries, events = audit_trail.record_counts(session)
    body = {
        "format": FORMAT,
        "at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "signing_key": keys.signing_id,
        "counts": {"members": members, "ledger_entries": entries, "audit_events": events},
        "ledger": {
            str(member_id): [external_id, seq, head]
            for member_id, external_id, seq, head in store.ledger_heads(session)
        },
        "audit": {subject: [seq, head] for subject, seq, head in store.audit_heads(session)},
    }
    signed = _canonical(body)
    document = {**body, "signature": keys.sign(signed)}
    digest = hashlib.sha256(signed).hexdigest()
    audit_store.append_event(
        session,
        subject="audit",
        action="audit.checkpoint",
        operator=operator,
        at=now,
        details={"digest": digest, "counts": body["counts"], "chains": _chains(body)},
    )
    return models.Checkpoint(
        text=_canonical(document).decode() + "\n",
        at=now,
        digest=digest,
        chains=_chains(body),
        ledger_entries=entries,
        audit_events=events,
    )


def _chains(body: dict) -> int:
    return len(body["ledger"]) + len(body["audit"])


def read_checkpoint(data: bytes, *, public_key_pem: bytes) -> dict:
    """The checkpoint's document once its form and signature check (BadCheckpoint)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadCheckpoint("The file is not an audit checkpoint: it is not JSON.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadCheckpoint(f"The file is not an audit checkpoint ({FORMAT}).")
    signature = document.get("signature")
    shaped = (
        isinstance(signature, str)
        and isinstance(document.get("ledger"), dict)
        and isinstance(document.get("audit"), dict)
        and isinstance(document.get("counts"), dict)
    )
    body = {k: v for k, v in document.items() if k != "signature"}
    if not shaped or not verify_signature(public_key_pem, _canonical(body), signature):
        raise BadCheckpoint(
            "The checkpoint's signature does not match its content: it was altered, or "
            "signed with another key file."
        )
    return document


def check_checkpoint(*, session: Session, document: dict) -> Iterator[str]:
    """Every head the checkpoint names that is gone or changed, and every count that
    went down."""
    ledger = {
        int(member_id): (external_id, seq, head)
        for member_id, (external_id, seq, head) in document["ledger"].items()
    }
    found: set[int] = set()
    for member_id, seq, hash_ in store.ledger_hashes(session):
        wanted = ledger.get(member_id)
        if wanted is not None and wanted[1] == seq:
            found.add(member_id)
            if wanted[2] != hash_:
                yield f"ledger of member {wanted[0]}: entry #{seq} differs from the checkpoint's"
    for member_id in sorted(set(ledger) - found):
        external_id, seq, _ = ledger[member_id]
        yield (f"ledger of member {external_id}: entry #{seq}, recorded by the checkpoint, is gone")
    audit = {subject: (seq, head) for subject, (seq, head) in document["audit"].items()}
    seen: set[str] = set()
    for subject, seq, hash_ in store.audit_hashes(session):
        wanted = audit.get(subject)
        if wanted is not None and wanted[0] == seq:
            seen.add(subject)
            if wanted[1] != hash_:
                yield f"audit chain {subject}: event #{seq} differs from the checkpoint's"
    for subject in sorted(set(audit) - seen):
        seq = audit[subject][0]
        yield f"audit chain {subject}: event #{seq}, recorded by the checkpoint, is gone"
    members, entries, events = audit_trail.record_counts(session)
    counts = document["counts"]
    for name, now in (("members", members), ("ledger_entries", entries), ("audit_events", events)):
        if now < int(counts.get(name, 0)):
            yield f"{name.replace('_', ' ')}: {now} now, {counts[name]} at the checkpoint"


def checkpoint_due(*, session: Session, now: datetime, every_hours: int) -> bool:
    """Whether `maintain run` writes a checkpoint: none yet, or the last is that old."""
    from datetime import UTC, timedelta

    last = store.last_checkpoint_at(session)
    if last is None:
        return True
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return now - last >= timedelta(hours=every_hours)
