"""What the counter reads most, through the driver alone: a member by id (with close
matches when it is mistyped), the points expiring soon, member search.

No SQLAlchemy here: these run on a `driver.RawSession` (see `Database.run`'s ``raw``)
so that `points balance` and `member find` start without importing it, and on an
ordinary session as well (the driver takes either).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

# the result classes `models` names too, without the rest of it (start-up)
from loyaltyctl.domain import accounts as models
from loyaltyctl.domain.errors import UnknownMember
from loyaltyctl.domain.suggest import closest
from loyaltyctl.store.driver import fetch_one, query, select_in, stamp, stamp_reader

if TYPE_CHECKING:
    from sqlmodel import Session

GROUP, TAG = "group", "tag"
MEMBER_COLUMNS = (
    "id, external_id, name, phone, email, birthday, plan, tier, tier_manual, balance, "
    "pending, created_at, updated_at"
)


def ids_by_external(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """external id -> member id, for those that are a member's (through the driver: every
    chunk of an import or an ingest asks, for thousands of members)."""
    sql = "SELECT external_id, id FROM member WHERE external_id {in_list}"
    return dict(select_in(session, sql, sorted(set(external_ids))))


class MemberRef(NamedTuple):
    id: int
    external_id: str
    balance: int
    pending: int


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def suggestions(session: Session, external_id: str) -> list[str]:
    """Close matches for a mistyped id (domain.suggest ranks them), from the ids that
    share its first character or its last two: the pool stays small on a big program."""
    first, last = external_id[:1].lower(), external_id[-2:].lower()
    rows = query(
        session,
        "SELECT external_id FROM member WHERE lower(external_id) LIKE {p} ESCAPE '\\' "
        "OR lower(external_id) LIKE {p} ESCAPE '\\' LIMIT 5000",
        (_like(first) + "%", "%" + _like(last)),
    )
    return closest(external_id, [r[0] for r in rows])


def require_member(session: Session, external_id: str) -> MemberRef:
    """The member's id and figures; UnknownMember (with close matches) when none has it."""
    row = fetch_one(
        session,
        "SELECT id, external_id, balance, pending FROM member WHERE external_id = {p}",
        (external_id,),
    )
    if row is None:
        raise unknown_member(session, external_id)
    return MemberRef(*row)


def unknown_member(session: Session, external_id: str) -> UnknownMember:
    """The refusal of an id no member has, with the close matches."""
    return UnknownMember(
        f"No member has the id {external_id!r}.",
        member=external_id,
        candidates=suggestions(session, external_id),
    )


def _utc_reader(session: Session):
    read = stamp_reader(session)  # SQLite gives text, psycopg aware datetimes

    def utc(value):
        if value is None:
            return None
        if read is not None and isinstance(value, str):
            return read(value)
        return value.astimezone(UTC)

    return utc


def expiring_points(
    session: Session, member_id: int, *, until: datetime
) -> list[tuple[datetime, int]]:
    """(expires_at, points) of the member's lots that expire by ``until``, soonest first."""
    utc = _utc_reader(session)
    rows = query(
        session,
        "SELECT expires_at, SUM(remaining) FROM point_lot WHERE member_id = {p} "
        "AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= {p} "
        "GROUP BY expires_at ORDER BY expires_at",
        (member_id, stamp(session, until)),
    )
    return [(utc(expires_at), int(points)) for expires_at, points in rows]


def search(session: Session, text: str, *, limit: int) -> list[models.Member]:
    """Last 4-6 phone digits, an email, or part of the name (case-insensitive), by name;
    with their groups and tags."""
    text = text.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    conditions, params = [], []
    if digits and len(digits) == len(text.replace(" ", "").replace("-", "").lstrip("+")):
        # phone_rev holds the digits reversed: a suffix becomes an indexed prefix range
        rev = digits[::-1]
        conditions.append("phone_rev BETWEEN {p} AND {p}")
        params += [rev, rev + "\uffff"]
    if "@" in text:
        conditions.append("email = {p}")
        params.append(text.lower())
    else:
        conditions += ["lower(name) LIKE {p}", "lower(external_id) = {p}"]
        params += ["%" + text.lower().replace("%", "").replace("_", "") + "%", text.lower()]
    rows = query(
        session,
        f"SELECT {MEMBER_COLUMNS} FROM member WHERE {' OR '.join(conditions)} "
        "ORDER BY name, id LIMIT {p}",
        (*params, limit),
    )
    return with_labels(session, rows)


def labels(session: Session, member_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """member id -> (its groups, its tags), each sorted."""
    result: dict[int, tuple[list[str], list[str]]] = {mid: ([], []) for mid in member_ids}
    found = select_in(  # a member's labels are all in one chunk of ids: in order
        session,
        "SELECT member_id, kind, value FROM member_label WHERE member_id {in_list} "
        "ORDER BY kind, value",
        sorted(result),
    )
    for member_id, kind, value in found:
        result[member_id][0 if kind == GROUP else 1].append(value)
    return result


def with_labels(session: Session, rows: list[tuple]) -> list[models.Member]:
    """Domain members from rows of `MEMBER_COLUMNS`, with their groups and tags."""
    labels_of = labels(session, [row[0] for row in rows])
    utc = _utc_reader(session)
    return [
        models.Member(
            external_id=external_id,
            name=name,
            phone=phone,
            email=email,
            birthday=birthday,
            plan=plan,
            tier=tier,
            tier_manual=bool(tier_manual),
            groups=tuple(labels_of[member_id][0]),
            tags=tuple(labels_of[member_id][1]),
            balance=balance,
            pending=pending,
            created_at=utc(created_at),
            updated_at=utc(updated_at),
        )
        for (
            member_id,
            external_id,
            name,
            phone,
            email,
            birthday,
            plan,
            tier,
            tier_manual,
            balance,
            pending,
            created_at,
            updated_at,
        ) in rows
    ]
