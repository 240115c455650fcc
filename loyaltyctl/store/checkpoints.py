"""What a signed audit checkpoint records and what `audit verify --checkpoint` compares:
the head of every chain (ledger per member, audit events per subject)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session


def ledger_heads(session: Session) -> Iterator[tuple[int, str, int, str]]:
    """(member id, external id, seq, head) of every member with ledger entries."""
    return iter(
        session.execute(
            text(
                "SELECT id, external_id, ledger_seq, ledger_head FROM member "
                "WHERE ledger_seq > 0 ORDER BY id"
            )
        )
    )


def audit_heads(session: Session) -> Iterator[tuple[str, int, str]]:
    """(subject, seq, head) of every audit chain."""
    return iter(
        session.execute(text("SELECT subject, seq, head FROM audit_chain ORDER BY subject"))
    )


def ledger_hashes(session: Session) -> Iterator[tuple[int, int, str]]:
    """(member id, seq, hash) of every ledger entry, streamed."""
    return iter(
        session.execute(
            text("SELECT member_id, seq, hash FROM ledger_entry"),
            execution_options={"yield_per": 10_000},
        )
    )


def audit_hashes(session: Session) -> Iterator[tuple[str, int, str]]:
    """(subject, seq, hash) of every audit event, streamed."""
    return iter(
        session.execute(
            text("SELECT subject, seq, hash FROM audit_event"),
            execution_options={"yield_per": 10_000},
        )
    )


def last_checkpoint_at(session: Session) -> datetime | None:
    """When the last checkpoint was written (its audit event), if ever."""
    return session.execute(
        text("SELECT MAX(at) FROM audit_event WHERE action = 'audit.checkpoint'")
    ).scalar()
