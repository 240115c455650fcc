"""The audit trail: reading it, and verifying that nothing was altered behind our back.

Two kinds of chained records: ledger entries (one chain per member, head in the
member row) and audit events for every other change (one chain per subject,
head in `audit_chain`). `verify` recomputes every hash, checks that sequences
have no gaps, that the heads match the last records (a removed tail), and that
every cached balance and pending figure equals the sum of its ledger.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import case, func, select

from loyaltyctl.domain import models
from loyaltyctl.domain.chain import GENESIS, ledger_hash, record_hash
from loyaltyctl.store import consistency
from loyaltyctl.store.audit import event_content
from loyaltyctl.store.db import Session
from loyaltyctl.store.ledger import STATE_COLUMNS
from loyaltyctl.store.tables import AuditChain, AuditEvent, LedgerEntry, Member, PointLot

MAX_PROBLEMS = 20


def audit_log(
    *,
    session: Session,
    since: datetime | None = None,
    operator: str | None = None,
    limit: int = 100,
) -> list[models.AuditRecord]:
    """Ledger entries and other changes, newest first."""
    entries = select(LedgerEntry, Member.external_id).join(
        Member, Member.id == LedgerEntry.member_id
    )
    events = select(AuditEvent)
    if since:
        entries = entries.where(LedgerEntry.at >= since)
        events = events.where(AuditEvent.at >= since)
    if operator:
        entries = entries.where(LedgerEntry.operator == operator)
        events = events.where(AuditEvent.operator == operator)
    entries = entries.order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc()).limit(limit)
    events = events.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
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
        for e, ext in session.execute(entries)
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
        for (e,) in session.execute(events)
    ]
    records.sort(key=lambda r: r.at, reverse=True)
    return records[:limit]


def verify(*, session: Session) -> models.VerifyResult:
    problems: list[str] = []

    def problem(text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(text)

    members = {row.id: row for row in session.execute(select(*STATE_COLUMNS))}
    walked: dict[int, list] = {}  # member id -> [seq, head, balance, pending]
    entry_count = 0
    rows = session.execute(
        select(LedgerEntry.__table__)
        .order_by(LedgerEntry.member_id, LedgerEntry.seq)
        .execution_options(yield_per=10_000)
    ).mappings()
    for row in rows:
        entry_count += 1
        state = walked.setdefault(row["member_id"], [0, GENESIS, 0, 0])
        member = members.get(row["member_id"])
        label = f"ledger entry {row['id']}"
        if member is None:
            problem(f"{label}: belongs to member id {row['member_id']}, which does not exist")
            continue
        who = f"{label} (member {member.external_id}, #{row['seq']})"
        if row["seq"] != state[0] + 1:
            problem(f"{who}: expected #{state[0] + 1}; an entry is missing before it")
        if row["prev_hash"] != state[1]:
            problem(f"{who}: does not follow the previous entry (chain broken)")
        expected = ledger_hash(row["prev_hash"], row)
        if expected != row["hash"]:
            problem(f"{who}: its content does not match its hash (altered)")
        state[2] += row["amount"]
        state[3] += row["pending_amount"]
        if row["balance_after"] != state[2]:
            problem(
                f"{who}: balance after is {row['balance_after']}, the entries sum to {state[2]}"
            )
        state[0], state[1] = row["seq"], row["hash"]
    for member_id, member in sorted(members.items()):
        seq, head, balance, pending = walked.get(member_id, [0, GENESIS, 0, 0])
        name = f"member {member.external_id}"
        if member.ledger_seq != seq or member.ledger_head != head:
            problem(
                f"{name}: the last ledger entry is #{seq}, the member row says #{member.ledger_seq}"
                " (entries removed or the head altered)"
            )
        if member.balance != balance:
            problem(f"{name}: balance is {member.balance}, its ledger sums to {balance}")
        if member.pending != pending:
            problem(f"{name}: pending is {member.pending}, its ledger sums to {pending}")

    lot_sums = session.execute(
        select(
            PointLot.member_id,
            func.sum(
                case(
                    (
                        PointLot.matured.is_(True) & PointLot.expires_at.is_not(None),
                        PointLot.remaining,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((PointLot.matured.is_(False), PointLot.remaining), else_=0)),
        )
        .where(PointLot.remaining > 0)
        .group_by(PointLot.member_id)
    )
    for member_id, spendable, held in lot_sums:
        member = members.get(member_id)
        if member is None:
            continue
        name = f"member {member.external_id}"
        if spendable > member.balance:
            problem(
                f"{name}: its expiring lots hold {spendable} points, more than its balance "
                f"{member.balance}"
            )
        if held != member.pending:
            problem(f"{name}: its pending lots hold {held} points, pending is {member.pending}")

    heads = {head.subject: head for head in session.execute(select(AuditChain)).scalars()}
    chains: dict[str, tuple[int, str]] = {}
    event_count = 0
    for (event,) in session.execute(
        select(AuditEvent)
        .order_by(AuditEvent.subject, AuditEvent.seq)
        .execution_options(yield_per=10_000)
    ):
        event_count += 1
        seq, prev = chains.get(event.subject, (0, GENESIS))
        who = f"audit event {event.id} ({event.subject}, #{event.seq})"
        if event.seq != seq + 1:
            problem(f"{who}: expected #{seq + 1}; an event is missing before it")
        if event.prev_hash != prev:
            problem(f"{who}: does not follow the previous event (chain broken)")
        content = event_content(
            subject=event.subject,
            seq=event.seq,
            at=event.at,
            operator=event.operator,
            action=event.action,
            reason=event.reason,
            details=event.details,
        )
        if record_hash(event.prev_hash, content) != event.hash:
            problem(f"{who}: its content does not match its hash (altered)")
        chains[event.subject] = (event.seq, event.hash)
    for subject in sorted(set(heads) | set(chains)):
        head = heads.get(subject)
        seq, last = chains.get(subject, (0, GENESIS))
        if head is None or head.seq != seq or head.head != last:
            problem(
                f"audit chain {subject}: its head does not match its last event "
                "(events removed or the head altered)"
            )
    # the counters kept with the writes (supply, allowances, code uses, campaign totals)
    for mismatch in consistency.counter_mismatches(session):
        problem(mismatch)
    member_total = session.execute(select(func.count()).select_from(Member)).scalar_one()
    return models.VerifyResult(
        ok=not problems,
        ledger_entries=entry_count,
        audit_events=event_count,
        members=member_total,
        problems=tuple(problems),
    )
