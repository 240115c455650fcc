"""`member forget`: the right to erasure, with the ledger and every audit chain still
verifiable (the design is in domain/forgetting.py and ARCHITECTURE.md).

One transaction: the member's row locked; the `member.forget` event appended to the
member's chain, recording each redacted event (id, original hash, redacted details, digest
of its redacted content); then those events' details rewritten (the append-only trigger
lets exactly that through) and the member's personal values erased. The member keeps its
id, points, lots, claims, coupons and grants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from loyaltyctl import crash
from loyaltyctl.domain import forgetting as domain
from loyaltyctl.domain import models
from loyaltyctl.domain.errors import MemberForgotten
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit
from loyaltyctl.store import forgetting as store
from loyaltyctl.store import members as members_store
from loyaltyctl.store.db import Session


def forget_member(
    *,
    session: Session,
    external_id: str,
    reason: str,
    operator: str,
    now: datetime | None = None,
) -> models.Forgotten:
    """Erase the member's personal data and redact the audit events that recorded it."""
    now = now or utcnow()
    found = store.lock_member(session, external_id)
    if found is None:
        members_store.require_row(session, external_id)  # raises with suggestions
    member_id, forgotten_at = found
    if forgotten_at is not None:
        when = _moment(forgotten_at)
        raise MemberForgotten(
            f"Member {external_id} was already forgotten on {when:%Y-%m-%d}.",
            member=external_id,
            forgotten_at=when.isoformat(),
        )
    subject = f"member:{external_id}"
    redacted: dict[int, str] = {}
    records = []
    for event in store.personal_events(session, subject):
        details = domain.details_text(domain.redact(json.loads(event.details)))
        content = audit.stored_content(event, details)
        records.append(
            {
                "id": event.id,
                "hash": event.hash,
                "details": details,
                "digest": domain.redaction_digest(content),
            }
        )
        redacted[event.id] = details
    audit.append_event(
        session,
        subject=subject,
        action=domain.FORGET_ACTION,
        operator=operator,
        at=now,
        reason=reason,
        details={"erased": list(domain.PERSONAL), "redacted": records},
    )
    store.rewrite_details(session, redacted)
    store.erase_member(session, member_id, now)
    crash.reached("forget-before-commit")
    return models.Forgotten(
        member=external_id,
        forgotten_at=now,
        reason=reason,
        erased=domain.PERSONAL,
        redacted_events=tuple(sorted(redacted)),
    )


def _moment(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite gives the stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- what `audit verify` asks (services/audit.py) ------------------------------------------


@dataclass(frozen=True, slots=True)
class Redaction:
    """One redacted event as a `member.forget` event recorded it."""

    forget_id: int
    subject: str
    seq: int
    record: dict


def redactions(session: Session) -> dict[int, Redaction]:
    """event id -> its redaction, as recorded by a `member.forget` event whose own
    content matches its hash (one that does not vouches for nothing; the chain walk
    names it)."""
    from loyaltyctl.domain.chain import record_hash

    found: dict[int, Redaction] = {}
    for event in store.forget_records(session):
        content = audit.stored_content(event)
        if record_hash(event.prev_hash, content) != event.hash:
            continue
        for record in json.loads(event.details).get("redacted", ()):
            if isinstance(record, dict) and isinstance(record.get("id"), int):
                redaction = Redaction(event.id, event.subject, event.seq, record)
                found.setdefault(record["id"], redaction)
    return found


def unvouched(event, content: dict, redaction: Redaction | None, who: str):
    """The problem of an audit event whose content does not match its hash: none when it
    is redacted exactly as a later `member.forget` of its chain recorded."""
    if redaction is None:
        yield (
            f"{who}: its content does not match its hash (altered), and no member.forget "
            "event records a redaction of it"
        )
        return
    record = redaction.record
    try:
        redacted_form = domain.is_redacted(json.loads(event.details))
    except (ValueError, AttributeError):
        redacted_form = False
    if not (
        redaction.subject == event.subject
        and redaction.seq > event.seq
        and event.action in domain.REDACTABLE
        and record.get("hash") == event.hash
        and record.get("details") == event.details
        and record.get("digest") == domain.redaction_digest(content)
        and redacted_form
    ):
        yield (
            f"{who}: redacted, but not as member.forget event {redaction.forget_id} recorded "
            "(altered after the redaction)"
        )


def forget_states(session: Session):
    """Each forgotten member has exactly one `member.forget` event, and each such event
    belongs to a forgotten member."""
    forgotten = store.forgotten_members(session)
    recorded: dict[str, int] = {}
    for event in store.forget_records(session):
        external_id = event.subject.removeprefix("member:")
        recorded[external_id] = recorded.get(external_id, 0) + 1
    for external_id in sorted(set(forgotten) | set(recorded)):
        count = recorded.get(external_id, 0)
        if external_id in forgotten and count == 0:
            yield f"member {external_id}: marked forgotten, but no member.forget event records it"
        elif count > 1:
            yield f"member {external_id}: {count} member.forget events (forgotten only once)"
        elif external_id not in forgotten:
            yield (
                f"member {external_id}: a member.forget event records it, the member is "
                "not forgotten"
            )
