"""What `member forget` reads and writes: the member's row, its tags, the audit events
of its chain that recorded personal data, and the `member.forget` records verify reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from loyaltyctl.domain.forgetting import (
    ERASED_NAME,
    FORGET_ACTION,
    MARK,
    REDACTABLE,
    details_text,
)
from loyaltyctl.store.driver import erase_on_free, json_mark, run, run_many, select_in, stamp
from loyaltyctl.store.tables import AuditEvent, Member


def lock_member(session: Session, external_id: str) -> tuple[int, datetime | None] | None:
    """(id, forgotten_at) of the member, its row locked (PostgreSQL: FOR UPDATE; SQLite
    holds the write lock), or None for an unknown id. The connection overwrites what the
    transaction frees from here on (`driver.erase_on_free`)."""
    erase_on_free(session)
    rows = list(
        select_in(
            session,
            "SELECT id, forgotten_at FROM member WHERE external_id {in_list}",
            [external_id],
            lock=True,
        )
    )
    return (rows[0][0], rows[0][1]) if rows else None


def personal_events(session: Session, subject: str) -> list[AuditEvent]:
    """The chain's events whose details may record personal data, in sequence."""
    return list(
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.subject == subject, AuditEvent.action.in_(REDACTABLE))
            .order_by(AuditEvent.seq)
        ).scalars()
    )


def rewrite_details(session: Session, details_by_id: dict[int, str]) -> None:
    """Each event's details replaced (the append-only trigger lets exactly a redaction
    that a `member.forget` record names through)."""
    rows = [(details, event_id) for event_id, details in sorted(details_by_id.items())]
    if rows:
        run_many(session, "UPDATE audit_event SET details = {p} WHERE id = {p}", rows)
    session.expire_all()  # audit events loaded before read their new details


def erase_member(session: Session, member_id: int, now: datetime) -> None:
    """The member's personal values erased (and what follows from them: the phone's
    look-up digits, the birthday's index and anchor), its tags removed."""
    at = stamp(session, now)
    run(
        session,
        "UPDATE member SET name = {p}, phone = NULL, phone_rev = NULL, email = NULL, "
        "birthday = NULL, birthday_md = NULL, birthday_anchor = NULL, "
        "forgotten_at = {p}, updated_at = {p} WHERE id = {p}",
        (ERASED_NAME, at, at, member_id),
    )
    run(session, "DELETE FROM member_label WHERE member_id = {p} AND kind = 'tag'", (member_id,))
    # the birthdays its ingested `member.birthday_changed` events recorded
    cast = json_mark(session)
    run(
        session,
        f"UPDATE ingested_event SET details = {cast} "
        "WHERE member_id = {p} AND type = 'member.birthday_changed'",
        (details_text({"birthday": MARK}), member_id),
    )


def forget_records(session: Session) -> list[AuditEvent]:
    """Every `member.forget` event (few: one per forgotten member)."""
    return list(
        session.execute(
            select(AuditEvent).where(AuditEvent.action == FORGET_ACTION).order_by(AuditEvent.id)
        ).scalars()
    )


def forgotten_members(session: Session) -> dict[str, datetime]:
    """external id -> forgotten_at of every forgotten member."""
    stmt = select(Member.external_id, Member.forgotten_at).where(Member.forgotten_at.is_not(None))
    return {external_id: at for external_id, at in session.execute(stmt)}
