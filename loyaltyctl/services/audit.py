"""The audit trail: reading it, and verifying that nothing was altered behind our back.

Two kinds of chained records: ledger entries (one chain per member, head in the
member row) and audit events for every other change (one chain per subject,
head in `audit_chain`). `verify` runs the checks in `CHECKS`: every hash
recomputed, sequences without gaps, heads that match the last records (a removed
tail), every cached balance and pending figure equal to the sum of its ledger,
lots that fit in them, and the counters the writes keep equal to a recount.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from loyaltyctl.domain import models
from loyaltyctl.domain.chain import GENESIS, ledger_hash, record_hash
from loyaltyctl.services import audit_promises, forgetting
from loyaltyctl.store import audit as store
from loyaltyctl.store import audit_trail, consistency
from loyaltyctl.store import ledger_rows as ledger_store
from loyaltyctl.store.db import Session

MAX_PROBLEMS = 20  # how many problems a result names (the checks run to their end)


def audit_log(
    *,
    session: Session,
    since: datetime | None = None,
    operator: str | None = None,
    limit: int = 100,
) -> list[models.AuditRecord]:
    """Ledger entries and other changes, newest first."""
    records = [
        models.AuditRecord(
            ref=f"ledger:{e.id}",
            at=e.at,
            operator=e.operator,
            action=f"points.{e.kind}",
            subject=f"member:{ext}",
            reason=e.reason,
            amount=e.amount or e.pending_amount,
        )
        for e, ext in audit_trail.logged_entries(
            session, since=since, operator=operator, limit=limit
        )
    ]
    records += [
        models.AuditRecord(
            ref=f"event:{e.id}",
            at=e.at,
            operator=e.operator,
            action=e.action,
            subject=e.subject,
            reason=e.reason,
            details=json.loads(e.details),
        )
        for e in audit_trail.logged_events(session, since=since, operator=operator, limit=limit)
    ]
    records.sort(key=lambda r: r.at, reverse=True)
    return records[:limit]


# --- the checks of `verify`: each yields every problem it finds, as one sentence ----------


def ledger_chains(session: Session) -> Iterator[str]:
    """Each member's entries: in sequence, chained, unaltered, with a running balance
    that adds up; and the member row's head, balance and pending equal to its chain's."""
    members = ledger_store.chain_states(session)
    walked: dict[int, list] = {}  # member id -> [seq, head, balance, pending]
    for row in ledger_store.entries_in_chain_order(session):
        state = walked.setdefault(row["member_id"], [0, GENESIS, 0, 0])
        member = members.get(row["member_id"])
        label = f"ledger entry {row['id']}"
        if member is None:
            yield f"{label}: belongs to member id {row['member_id']}, which does not exist"
            continue
        who = f"{label} (member {member.external_id}, #{row['seq']})"
        if row["seq"] != state[0] + 1:
            yield f"{who}: expected #{state[0] + 1}; an entry is missing before it"
        if row["prev_hash"] != state[1]:
            yield f"{who}: does not follow the previous entry (chain broken)"
        if ledger_hash(row["prev_hash"], row) != row["hash"]:
            yield f"{who}: its content does not match its hash (altered)"
        state[2] += row["amount"]
        state[3] += row["pending_amount"]
        if row["balance_after"] != state[2]:
            yield f"{who}: balance after is {row['balance_after']}, the entries sum to {state[2]}"
        state[0], state[1] = row["seq"], row["hash"]
    for member_id, member in sorted(members.items()):
        seq, head, balance, pending = walked.get(member_id, [0, GENESIS, 0, 0])
        name = f"member {member.external_id}"
        if member.ledger_seq != seq or member.ledger_head != head:
            yield (
                f"{name}: the last ledger entry is #{seq}, the member row says #{member.ledger_seq}"
                " (entries removed or the head altered)"
            )
        if member.balance != balance:
            yield f"{name}: balance is {member.balance}, its ledger sums to {balance}"
        if member.pending != pending:
            yield f"{name}: pending is {member.pending}, its ledger sums to {pending}"


def lot_holdings(session: Session) -> Iterator[str]:
    """A member's expiring lots hold no more than its balance, its pending lots exactly
    its pending points."""
    for external_id, balance, pending, spendable, held in consistency.lot_mismatches(session):
        name = f"member {external_id}"
        if spendable > balance:
            yield (
                f"{name}: its expiring lots hold {spendable} points, more than its balance "
                f"{balance}"
            )
        if held != pending:
            yield f"{name}: its pending lots hold {held} points, pending is {pending}"


def audit_chains(session: Session) -> Iterator[str]:
    """Each subject's audit events: in sequence, chained, unaltered (or redacted exactly as
    a later `member.forget` of the chain recorded: `forgetting.redactions`), and the last
    one is the head its `audit_chain` row names."""
    heads = audit_trail.chain_heads(session)
    redactions = forgetting.redactions(session)
    chains: dict[str, tuple[int, str]] = {}
    for event in audit_trail.events_in_chain_order(session):
        seq, prev = chains.get(event.subject, (0, GENESIS))
        who = f"audit event {event.id} ({event.subject}, #{event.seq})"
        if event.seq != seq + 1:
            yield f"{who}: expected #{seq + 1}; an event is missing before it"
        if event.prev_hash != prev:
            yield f"{who}: does not follow the previous event (chain broken)"
        content = store.stored_content(event)
        if record_hash(event.prev_hash, content) != event.hash:
            yield from forgetting.unvouched(event, content, redactions.get(event.id), who)
        chains[event.subject] = (event.seq, event.hash)
    for subject in sorted(set(heads) | set(chains)):
        if heads.get(subject) != chains.get(subject, (0, GENESIS)):
            yield (
                f"audit chain {subject}: its head does not match its last event "
                "(events removed or the head altered)"
            )


def kept_counters(session: Session) -> Iterable[str]:
    """The counters kept with the writes (supply, allowances, code uses, campaign totals,
    the ledger summary, earned points) equal a recount of their rows
    (`store.consistency.RECOUNTS`)."""
    return consistency.counter_mismatches(session)


def coupon_states(session: Session) -> Iterator[str]:
    """Each coupon belongs to a claim of a coupon perk, as its member's; it is cancelled
    exactly when its claim is; used exactly with an order and a time; no two share a
    code; and its status is what the audit trail of its uses says: used on the order of
    its last `coupon.use` when that came after every release and return, else not used."""
    yield from consistency.coupon_mismatches(session)
    for claim_id, status, order_id, action, details in consistency.last_coupon_events(session):
        if action == "coupon.use":
            used_on = json.loads(details).get("order_id")
            if status != "used" or order_id != used_on:
                yield (
                    f"coupon of claim {claim_id}: the audit trail says used on order "
                    f"{used_on!r}, the coupon is {status}"
                    + (f" on order {order_id!r}" if order_id else "")
                )
        elif status == "used":
            yield (
                f"coupon of claim {claim_id}: used on order {order_id!r}, but its last "
                f"{action} in the audit trail gave it back"
            )


Check = Callable[[Session], Iterable[str]]
# What `audit verify` runs, in this order (its message names the first problem found). A
# capability with invariants of its own adds its check here (and a counter's recount
# query to `store.consistency.RECOUNTS`).
CHECKS: tuple[Check, ...] = (
    ledger_chains,
    lot_holdings,
    audit_chains,
    kept_counters,
    coupon_states,
    forgetting.forget_states,
    audit_promises.cross_records,
    audit_promises.recorded_values,
)


def verify(*, session: Session, checkpoint: dict | None = None) -> models.VerifyResult:
    """Run every check to its end (and, given a checkpoint's document read by
    `audit_checkpoint.read_checkpoint`, that nothing it recorded is gone); the result
    names the first `MAX_PROBLEMS` problems."""
    problems: list[str] = []
    checks = list(CHECKS)
    if checkpoint is not None:
        from loyaltyctl.services.audit_checkpoint import check_checkpoint

        checks.insert(0, lambda s: check_checkpoint(session=s, document=checkpoint))
    for check in checks:
        for problem in check(session):
            if len(problems) < MAX_PROBLEMS:
                problems.append(problem)
    members, entries, events = audit_trail.record_counts(session)
    return models.VerifyResult(
        ok=not problems,
        ledger_entries=entries,
        audit_events=events,
        members=members,
        problems=tuple(problems),
    )
