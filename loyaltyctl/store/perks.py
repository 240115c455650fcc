"""Perks and claims in the database: look-ups and the conditional writes that hold limits.

Supply and the per-member limit are each taken by one conditional statement that
the database evaluates against what it holds, so concurrent claimers cannot
oversell whatever their timing: `UPDATE perk SET claimed = claimed + 1 WHERE
claimed < max_supply` and an upsert of `perk_member` that only counts up while
below the limit. On PostgreSQL the first one also locks the perk row until
commit, which serialises the claims of one perk (and nothing else).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlmodel import Session

from loyaltyctl.domain.errors import UnknownClaim, UnknownPerk
from loyaltyctl.domain.suggest import closest
from loyaltyctl.store.driver import fetch_one, insert_row, run, stamp
from loyaltyctl.store.tables import Claim, ClaimLot, Member, Perk, PerkMember


def get(session: Session, slug: str) -> Perk | None:
    return session.execute(select(Perk).where(Perk.slug == slug)).scalar_one_or_none()


def require(session: Session, slug: str) -> Perk:
    row = get(session, slug)
    if row is None:
        raise UnknownPerk(
            f"There is no perk {slug!r}.",
            perk=slug,
            candidates=close_matches(session, Perk.slug, slug),
        )
    return row


def close_matches(session: Session, column, value: str) -> list[str]:
    """The existing values of ``column`` closest to a mistyped one, best first (at most
    three; domain.suggest ranks them). Slugs are few: all of them are compared."""
    return closest(value, session.execute(select(column)).scalars().all())


def by_slugs(session: Session, slugs: list[str]) -> dict[str, Perk]:
    found: dict[str, Perk] = {}
    for start in range(0, len(slugs), 900):
        chunk = slugs[start : start + 900]
        for row in session.execute(select(Perk).where(Perk.slug.in_(chunk))).scalars():
            found[row.slug] = row
    return found


def listing(session: Session, *, include_inactive: bool) -> list[Perk]:
    stmt = select(Perk).order_by(Perk.category, Perk.price, Perk.slug)
    if not include_inactive:
        stmt = stmt.where(Perk.active.is_(True))
    return list(session.execute(stmt).scalars())


def all_slugs(session: Session) -> list[str]:
    return list(session.execute(select(Perk.slug).order_by(Perk.slug)).scalars())


def active_slugs(session: Session) -> list[str]:
    return list(
        session.execute(
            select(Perk.slug).where(Perk.active.is_(True)).order_by(Perk.slug)
        ).scalars()
    )


def set_active(session: Session, perk_id: int, active: bool, now: datetime) -> bool:
    """Toggle; returns False when it already was so."""
    changed = session.execute(
        update(Perk)
        .where(Perk.id == perk_id, Perk.active.is_not(active))
        .values(active=active, updated_at=now)
    ).rowcount
    return changed == 1


def insert_perk(session: Session, values: dict) -> int:
    return session.execute(insert(Perk).values(**values).returning(Perk.id)).scalar_one()


def update_perk(session: Session, perk_id: int, values: dict) -> None:
    session.execute(update(Perk).where(Perk.id == perk_id).values(**values))


# --- the limits -----------------------------------------------------------------------


def take_supply(session: Session, perk_id: int) -> bool:
    """Count one claim against the supply; False when none is left (or it is disabled).

    Through the driver: it is on every claim's path (see driver.insert_row)."""
    sql = (
        "UPDATE perk SET claimed = claimed + 1 WHERE id = {p} AND active "
        "AND (max_supply IS NULL OR claimed < max_supply)"
    )
    return run(session, sql, (perk_id,)) == 1


def give_back_supply(session: Session, perk_id: int) -> None:
    session.execute(
        update(Perk).where(Perk.id == perk_id, Perk.claimed > 0).values(claimed=Perk.claimed - 1)
    )


def member_claims(session: Session, perk_id: int, member_id: int) -> int:
    return (
        session.execute(
            select(PerkMember.claims).where(
                PerkMember.perk_id == perk_id, PerkMember.member_id == member_id
            )
        ).scalar_one_or_none()
        or 0
    )


def claims_by_member(session: Session, member_id: int) -> dict[int, int]:
    """perk id -> the member's active claims of it."""
    rows = session.execute(
        select(PerkMember.perk_id, PerkMember.claims).where(PerkMember.member_id == member_id)
    )
    return {perk_id: claims for perk_id, claims in rows}


def take_member_allowance(session: Session, perk_id: int, member_id: int, limit: int | None) -> int:
    """Count one claim for this member: their active claims of the perk now, or 0 when
    they reached the limit.

    One upsert that only counts up while below the limit (SQLite ≥ 3.35 and
    PostgreSQL both take ON CONFLICT ... DO UPDATE ... WHERE ... RETURNING).
    """
    # through the driver: a claim is a hot path (SQLAlchemy's statement ~1 ms, this ~0.05)
    bound = "" if limit is None else " WHERE perk_member.claims < {p}"
    row = fetch_one(
        session,
        "INSERT INTO perk_member (perk_id, member_id, claims) VALUES ({p}, {p}, 1) "
        "ON CONFLICT (perk_id, member_id) DO UPDATE SET claims = perk_member.claims + 1"
        + bound
        + " RETURNING claims",
        (perk_id, member_id) + (() if limit is None else (limit,)),
    )
    return (row[0] if row else None) or 0


def give_back_allowance(session: Session, perk_id: int, member_id: int) -> int:
    """One claim less for this member; returns their active claims of the perk now."""
    held = session.execute(
        update(PerkMember)
        .where(
            PerkMember.perk_id == perk_id,
            PerkMember.member_id == member_id,
            PerkMember.claims > 0,
        )
        .values(claims=PerkMember.claims - 1)
        .returning(PerkMember.claims)
    ).scalar_one_or_none()
    return held or 0


def count_claim(
    session: Session, perk_id: int, *, points: int, at: datetime, day: str, member_joined: int
) -> None:
    """The perk's statistics counters, +1 claim (the perk row is locked by the supply
    UPDATE already, so this adds no waiting). Through the driver: a hot path."""
    moment = stamp(session, at)
    run(
        session,
        "UPDATE perk SET members = members + {p}, points_spent = points_spent + {p}, "
        "last_claim_at = CASE WHEN last_claim_at IS NULL OR last_claim_at < {p} "
        "THEN {p} ELSE last_claim_at END WHERE id = {p}",
        (member_joined, points, moment, moment, perk_id),
    )
    run(
        session,
        "INSERT INTO claim_day (perk_id, day, claims) VALUES ({p}, {p}, 1) "
        "ON CONFLICT (perk_id, day) DO UPDATE SET claims = claim_day.claims + 1",
        (perk_id, day),
    )


def uncount_claim(
    session: Session, perk_id: int, *, points: int, day: str, member_left: int
) -> None:
    """A cancelled claim (already marked) leaves the counters; the last claim is looked up
    again among the active ones (an index range on claim (perk_id, at), newest first)."""
    session.execute(
        text(
            "UPDATE perk SET members = members - :left, points_spent = points_spent - :points, "
            "last_claim_at = (SELECT MAX(c.at) FROM claim c WHERE c.perk_id = :perk "
            "AND c.status = 'active') WHERE id = :perk"
        ),
        {"left": member_left, "points": points, "perk": perk_id},
    )
    session.execute(
        text(
            "UPDATE claim_day SET claims = claims - 1 "
            "WHERE perk_id = :perk AND day = :day AND claims > 0"
        ),
        {"perk": perk_id, "day": day},
    )


# --- claims ---------------------------------------------------------------------------


def code_taken(session: Session, perk_id: int, code_hash: str) -> bool:
    return (
        session.execute(
            select(Claim.id).where(Claim.perk_id == perk_id, Claim.code_hash == code_hash)
        ).first()
        is not None
    )


def insert_claim(session: Session, values: dict, lots: dict[int, int]) -> None:
    insert_row(session, "claim", values)
    if lots:
        session.execute(
            insert(ClaimLot),
            [{"claim_id": values["id"], "lot_id": k, "points": v} for k, v in lots.items()],
        )


def claim_lots(session: Session, claim_id: str) -> dict[int, int]:
    rows = session.execute(
        select(ClaimLot.lot_id, ClaimLot.points).where(ClaimLot.claim_id == claim_id)
    )
    return {lot_id: points for lot_id, points in rows}


def require_claim(session: Session, claim_id: str) -> Claim:
    row = session.get(Claim, claim_id.strip().upper())
    if row is None:
        raise UnknownClaim(f"There is no claim {claim_id!r}.")
    return row


def mark_cancelled(
    session: Session, claim_id: str, *, now: datetime, operator: str, reason: str
) -> bool:
    """Active -> cancelled, once: False when it was cancelled already."""
    result = session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.status == "active")
        .values(status="cancelled", cancelled_at=now, cancelled_by=operator, cancel_reason=reason)
    )
    return result.rowcount == 1


def set_refund_entry(session: Session, claim_id: str, entry_id: int) -> None:
    session.execute(update(Claim).where(Claim.id == claim_id).values(refund_entry_id=entry_id))


def claims_of_perk(
    session: Session, perk_id: int, *, since: datetime | None, limit: int | None
) -> list[tuple[Claim, str]]:
    """(claim, member external id), newest first."""
    stmt = (
        select(Claim, Member.external_id)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.perk_id == perk_id)
        .order_by(Claim.at.desc(), Claim.id.desc())
    )
    if since is not None:
        stmt = stmt.where(Claim.at >= since)
    if limit:
        stmt = stmt.limit(limit)
    return [(claim, external_id) for claim, external_id in session.execute(stmt)]


def claims_of_member(session: Session, member_id: int, *, limit: int) -> list[tuple[Claim, str]]:
    """(claim, perk slug), newest first."""
    stmt = (
        select(Claim, Perk.slug)
        .join(Perk, Perk.id == Claim.perk_id)
        .where(Claim.member_id == member_id)
        .order_by(Claim.at.desc(), Claim.id.desc())
        .limit(limit)
    )
    return [(claim, slug) for claim, slug in session.execute(stmt)]


def claim_figures(session: Session, perk_id: int) -> tuple[int, int, int, int]:
    """(active claims, cancelled claims, unique members with an active claim, points spent)."""
    active = Claim.status == "active"
    row = session.execute(
        select(
            func.count().filter(active),
            func.count().filter(Claim.status == "cancelled"),
            func.count(func.distinct(Claim.member_id)).filter(active),
            func.coalesce(func.sum(Claim.points).filter(active), 0),
        ).where(Claim.perk_id == perk_id)
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def perk_of_claim(session: Session, claim: Claim) -> Perk:
    return session.get(Perk, claim.perk_id)


def member_external_id(session: Session, member_id: int) -> str:
    return session.execute(select(Member.external_id).where(Member.id == member_id)).scalar_one()


# --- secrets (for `keys rotate`) ------------------------------------------------------


def perk_secrets(session: Session) -> list[tuple[int, str, str | None, str | None]]:
    """(id, slug, value_enc, webhook_secret_enc) of every perk holding a secret."""
    rows = session.execute(
        select(Perk.id, Perk.slug, Perk.value_enc, Perk.webhook_secret_enc).where(
            or_(Perk.value_enc.is_not(None), Perk.webhook_secret_enc.is_not(None))
        )
    )
    return [tuple(r) for r in rows]


def claim_secrets(session: Session, *, after: str, size: int) -> list[tuple[str, str]]:
    """(id, redemption_enc) of claims holding a secret, in id order, a page at a time."""
    rows = session.execute(
        select(Claim.id, Claim.redemption_enc)
        .where(Claim.redemption_enc.is_not(None), Claim.id > after)
        .order_by(Claim.id)
        .limit(size)
    )
    return [tuple(r) for r in rows]


def set_claim_secrets(session: Session, values: list[tuple[str, str]]) -> None:
    if values:
        table = Claim.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("claim_id"))
            .values(redemption_enc=bindparam("secret")),
            [{"claim_id": i, "secret": s} for i, s in values],
        )
