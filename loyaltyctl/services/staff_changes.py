"""The owners' changes to the staff and to the administrator cap (spec §8).

Until the first `staff add` nothing is checked. That command records the login running
it as an owner and turns enforcement on: from then on the operator is the login
(PostgreSQL's current_user, or the OS login on SQLite) and its role decides what it may
run. On PostgreSQL each change is also made to the database's roles in the same
transaction (store/staff_privileges.py), so a refused change leaves both as they were.

Each change checks again, under a lock on the roster, that an owner makes it: the
check the CLI makes before a command ran in an earlier transaction.
"""

from __future__ import annotations

from datetime import datetime

from loyaltyctl.domain.errors import (
    LastOwner,
    LoginInUse,
    NotPermitted,
    StaffExists,
    UnknownStaff,
    UsageProblem,
)
from loyaltyctl.domain.roles import GROUP_ROLES, OWNER, a
from loyaltyctl.domain.staff import CapChange, StaffChange
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit
from loyaltyctl.store import staff as store
from loyaltyctl.store import staff_privileges as privileges
from loyaltyctl.store.db import Session
from loyaltyctl.store.staff import Connected


def _me(session: Session, os_login: str, *, owner_needed: bool) -> tuple[Connected, str, bool]:
    """(the connection, the operator, whether this is the first staff change) with the
    roster locked; refused unless an owner runs it once staff exist."""
    store.lock_roster(session)
    me = store.connected(session, os_login=os_login)
    operator = me.login or os_login
    if me.enforced and owner_needed and me.role != OWNER:
        raise NotPermitted(
            f"Changing the staff needs an owner; {operator} is "
            + (f"{a(me.role)}." if me.role else "not on the staff."),
            operator=operator,
            role=me.role,
            allowed=[OWNER],
        )
    return me, operator, not me.enforced


def _audit(session: Session, login: str, action: str, operator: str, at: datetime, **details):
    audit.append_event(
        session,
        subject=f"staff:{login}",
        action=action,
        operator=operator,
        at=at,
        details=details,
    )


def add(
    *, session: Session, login: str, role: str, os_login: str, now: datetime | None = None
) -> StaffChange:
    """Put a login on the staff with a role. The first one also makes the login running
    it an owner and turns the roles on (on PostgreSQL: grants, row security, CONNECT)."""
    now = now or utcnow()
    me, operator, first = _me(session, os_login, owner_needed=True)
    if first and login == operator and role != OWNER:
        raise UsageProblem(
            f"The first staff member is the login running this ({operator}), as an owner: "
            f"add {operator} as owner, or add someone else.",
            login=login,
        )
    existing = store.get(session, login)
    if existing is not None and existing.removed_at is None:
        if existing.role == role:
            return StaffChange(login, role, "unchanged")
        raise StaffExists(
            f"{login} is already on the staff as {existing.role}.", login=login, role=role
        )
    adopted = None
    if first:
        adopted = operator
        if me.backend == "postgresql":
            _enforce_on_postgresql(session, me)
        if login != operator:
            store.insert_member(
                session, login=operator, role=OWNER, by=operator, at=now, created_login=False
            )
            _audit(session, operator, "staff.add", operator, now, role=OWNER, first=True)
    created = False
    if me.backend == "postgresql" and not (first and login == operator):
        created = _give_login(session, login, role, readded=existing is not None)
    if existing is None:
        store.insert_member(
            session, login=login, role=role, by=operator, at=now, created_login=created
        )
    else:
        store.readd(session, login=login, role=role, by=operator, at=now, created=created)
    _audit(session, login, "staff.add", operator, now, role=role, first=first and login == operator)
    action = "added" if existing is None else "readded"
    return StaffChange(login, role, action, owner_adopted=adopted, login_created=created)


def _enforce_on_postgresql(session: Session, me: Connected) -> None:
    """The first staff change on PostgreSQL: the running login becomes an owner of the
    database's objects' group, the database closes to PUBLIC, and every privilege of
    every role is granted as the map says."""
    privileges.ensure_group_roles(session)
    privileges.owners_manage_groups(session)
    if not me.superuser:
        held = privileges.login(session, me.login).groups
        _one_group(me.login, [g for g in held if g != GROUP_ROLES[OWNER]])
        privileges.grant_group(session, me.login, OWNER)
    privileges.install_connect_function(session)
    privileges.grant_connect(session, me.login)
    privileges.close_to_public(session)
    privileges.apply_privileges(session)


def _give_login(session: Session, login: str, role: str, *, readded: bool) -> bool:
    """Create or adopt the login role, put it in its group and let it connect; returns
    whether it was created."""
    if privileges.is_group_role(login):
        raise UsageProblem(f"{login} is a group role, not a person's login.", login=login)
    found = privileges.login(session, login)
    created = not found.exists
    if created:
        privileges.create_login(session, login)
    elif not found.superuser:
        _one_group(login, found.groups)
        if not found.can_login and readded and privileges.may_create_roles(session):
            privileges.set_can_login(session, login, True)
    if not found.superuser:
        privileges.grant_group(session, login, role)
    privileges.grant_connect(session, login)
    return created


def _one_group(login: str, held) -> None:
    """A login already in a staff group is staff of another database of the cluster
    (group roles are cluster-wide): adding it here would widen its rights there too."""
    if held:
        raise LoginInUse(
            f"The login {login} already holds {', '.join(held)}, so it is staff of another "
            "database of this cluster (the group roles are shared by the cluster): a login "
            "belongs to one club's staff.",
            login=login,
            holds=list(held),
        )


def _active(session: Session, login: str):
    row = store.get(session, login)
    if row is None or row.removed_at is not None:
        raise UnknownStaff(f"{login} is not on the staff.", login=login)
    return row


def _keep_an_owner(session: Session, login: str, what: str) -> None:
    if store.owners(session) == [login]:
        raise LastOwner(
            f"{login} is the only owner; {what} would leave nobody to manage the staff.",
            login=login,
        )


def set_role(
    *, session: Session, login: str, role: str, os_login: str, now: datetime | None = None
) -> StaffChange:
    now = now or utcnow()
    me, operator, _first = _me(session, os_login, owner_needed=True)
    previous = _active(session, login).role
    if previous == role:
        return StaffChange(login, role, "unchanged", previous_role=role)
    if previous == OWNER:
        _keep_an_owner(session, login, f"making them {role}")
    if me.backend == "postgresql" and not privileges.login(session, login).superuser:
        privileges.revoke_group(session, login, previous)
        privileges.grant_group(session, login, role)
    store.set_role(session, login=login, role=role, at=now)
    _audit(session, login, "staff.set_role", operator, now, role=role, previous=previous)
    return StaffChange(login, role, "role_changed", previous_role=previous)


def remove(
    *, session: Session, login: str, os_login: str, now: datetime | None = None
) -> StaffChange:
    """Off the staff: the row stays (their history names them), their role is revoked, and
    on PostgreSQL they may no longer connect; a login `staff add` created is disabled."""
    now = now or utcnow()
    me, operator, _first = _me(session, os_login, owner_needed=True)
    row = _active(session, login)
    role, created = row.role, row.created_login
    if role == OWNER:
        _keep_an_owner(session, login, "removing them")
    disabled = False
    if me.backend == "postgresql":
        found = privileges.login(session, login)
        if found.exists and not found.superuser:
            if GROUP_ROLES[role] in found.groups:
                privileges.revoke_group(session, login, role)
            if created and found.can_login and privileges.may_create_roles(session):
                privileges.set_can_login(session, login, False)
                disabled = True
        if found.exists:
            privileges.revoke_connect(session, login)
    store.mark_removed(session, login=login, at=now)
    _audit(session, login, "staff.remove", operator, now, role=role, login_disabled=disabled)
    return StaffChange(login, None, "removed", previous_role=role, login_disabled=disabled)


def set_cap(*, session: Session, cap: int, os_login: str, now: datetime | None = None) -> CapChange:
    """The administrator cap: the most one credit or write-off of an administrator may
    move. Kept in the database (PostgreSQL's row policy reads it there)."""
    now = now or utcnow()
    _me_, operator, _first = _me(session, os_login, owner_needed=True)
    previous = store.cap(session)
    if previous == cap:
        return CapChange(cap, previous, changed=False)
    store.set_cap(session, value=cap, by=operator, at=now)
    audit.append_event(
        session,
        subject="setting:administrator_cap",
        action="staff.cap",
        operator=operator,
        at=now,
        details={"cap": cap, "previous": previous},
    )
    return CapChange(cap, previous, changed=True)
