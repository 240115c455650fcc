"""The staff table and the program settings: who is on the staff, with which role, and
the administrator cap. What PostgreSQL itself enforces (login roles, grants, row
security) is in `store/staff_privileges.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlmodel import Session

from loyaltyctl.domain.roles import CAP_SETTING, DEFAULT_CAP
from loyaltyctl.store.roster import Connected, connected  # noqa: F401 - the light part
from loyaltyctl.store.tables import ProgramSetting, Staff


def lock_roster(session: Session) -> None:
    """Serialise staff changes (two first `staff add` at once make one first): the cap
    setting's row is locked (SQLite holds the write lock already)."""
    session.execute(
        select(ProgramSetting.name).where(ProgramSetting.name == CAP_SETTING).with_for_update()
    ).all()


def any_staff(session: Session) -> bool:
    return session.execute(select(select(Staff.login).limit(1).exists())).scalar_one()


def get(session: Session, login: str) -> Staff | None:
    return session.get(Staff, login)


def all_members(session: Session, *, include_removed: bool) -> list[Staff]:
    stmt = select(Staff).order_by(Staff.role, Staff.login)
    if not include_removed:
        stmt = stmt.where(Staff.removed_at.is_(None))
    return list(session.execute(stmt).scalars())


def owners(session: Session) -> list[str]:
    stmt = select(Staff.login).where(Staff.role == "owner", Staff.removed_at.is_(None))
    return list(session.execute(stmt).scalars())


def insert_member(
    session: Session, *, login: str, role: str, by: str, at: datetime, created_login: bool
) -> None:
    session.execute(
        insert(Staff).values(
            login=login,
            role=role,
            added_at=at,
            added_by=by,
            updated_at=at,
            removed_at=None,
            created_login=created_login,
        )
    )


def readd(session: Session, *, login: str, role: str, by: str, at: datetime, created: bool) -> None:
    """A removed staff member back on the staff (their row, and so their history, kept)."""
    session.execute(
        update(Staff)
        .where(Staff.login == login)
        .values(
            role=role,
            added_at=at,
            added_by=by,
            updated_at=at,
            removed_at=None,
            created_login=Staff.created_login | created,
        )
    )


def set_role(session: Session, *, login: str, role: str, at: datetime) -> None:
    session.execute(update(Staff).where(Staff.login == login).values(role=role, updated_at=at))


def mark_removed(session: Session, *, login: str, at: datetime) -> None:
    session.execute(update(Staff).where(Staff.login == login).values(removed_at=at, updated_at=at))


def cap(session: Session) -> int:
    value = session.execute(
        select(ProgramSetting.value).where(ProgramSetting.name == CAP_SETTING)
    ).scalar_one_or_none()
    return int(value) if value is not None else DEFAULT_CAP


def set_cap(session: Session, *, value: int, by: str, at: datetime) -> None:
    changed = session.execute(
        update(ProgramSetting)
        .where(ProgramSetting.name == CAP_SETTING)
        .values(value=str(value), updated_at=at, updated_by=by)
    ).rowcount
    if not changed:
        session.execute(
            insert(ProgramSetting).values(
                name=CAP_SETTING, value=str(value), updated_at=at, updated_by=by
            )
        )
