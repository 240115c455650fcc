"""Perks and claims read and written as table rows (SQLAlchemy): the perks `apply`,
`perk list | show | enable | disable` and the promo campaigns read, the buckets' layout,
cancelling a claim, the listings of claims, the secrets `keys rotate` re-encrypts.
What a claim runs is `store.perks` (the driver alone: `perk claim` starts without
SQLAlchemy).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlmodel import Session

from loyaltyctl.domain.errors import UnknownPerk
from loyaltyctl.domain.perks import shares
from loyaltyctl.domain.suggest import closest
from loyaltyctl.store.driver import fetch_one
from loyaltyctl.store.perks import Counted
from loyaltyctl.store.tables import Claim, ClaimLot, Member, Perk, PerkBucket, PerkMember


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


def give_back_supply(session: Session, perk_id: int, buckets: int = 1) -> int:
    """A cancelled claim's unit back: the counter it went back to (buckets are
    interchangeable: the fullest one takes it)."""
    if buckets <= 1:
        session.execute(
            update(Perk)
            .where(Perk.id == perk_id, Perk.claimed > 0)
            .values(claimed=Perk.claimed - 1)
        )
        return 0
    row = fetch_one(
        session,
        "UPDATE perk_bucket SET claimed = claimed - 1 WHERE perk_id = {p} AND bucket = "
        "(SELECT bucket FROM perk_bucket WHERE perk_id = {p} AND claimed > 0 "
        "ORDER BY claimed DESC, bucket LIMIT 1) RETURNING bucket",
        (perk_id, perk_id),
    )
    return int(row[0]) if row else 1


def claims_by_member(session: Session, member_id: int) -> dict[int, int]:
    """perk id -> the member's active claims of it."""
    rows = session.execute(
        select(PerkMember.perk_id, PerkMember.claims).where(PerkMember.member_id == member_id)
    )
    return {perk_id: claims for perk_id, claims in rows}


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


def uncount_claim(
    session: Session, perk_id: int, *, points: int, day: str, member_left: int, bucket: int = 0
) -> None:
    """A cancelled claim (already marked) leaves the counters (of the counter its unit
    went back to: `give_back_supply`); the last claim is looked up again among the active
    ones (an index range on claim (perk_id, at), newest first) and no bucket keeps a later
    one."""
    last = "(SELECT MAX(c.at) FROM claim c WHERE c.perk_id = :perk AND c.status = 'active')"
    values = {"left": member_left, "points": points, "perk": perk_id, "bucket": bucket}
    if bucket == 0:
        sql = (
            "UPDATE perk SET members = members - :left, points_spent = points_spent - :points, "
            f"last_claim_at = {last} WHERE id = :perk"
        )
    else:
        sql = (
            "UPDATE perk_bucket SET members = members - :left, "
            "points_spent = points_spent - :points WHERE perk_id = :perk AND bucket = :bucket"
        )
    session.execute(text(sql), values)
    if bucket:
        session.execute(
            text(
                f"UPDATE perk_bucket SET last_claim_at = {last} WHERE perk_id = :perk "
                f"AND (last_claim_at > {last} OR {last} IS NULL)"
            ),
            {"perk": perk_id},
        )
    session.execute(
        text(
            "UPDATE claim_day SET claims = claims - 1 WHERE perk_id = :perk AND day = :day "
            "AND bucket = (SELECT bucket FROM claim_day WHERE perk_id = :perk AND day = :day "
            "AND claims > 0 ORDER BY claims DESC, bucket LIMIT 1)"
        ),
        {"perk": perk_id, "day": day},
    )


def lay_out_buckets(session: Session, perk_id: int) -> None:
    """Make the counters match `perk.supply_buckets` and `max_supply` (after `apply`
    wrote them): n buckets whose capacities are max_supply's shares, holding the claims
    taken so far as shares of their own; or, for one, the perk's own counters. Locks the
    perk row and its buckets (claims of it wait for this transaction)."""
    perk = session.execute(select(Perk).where(Perk.id == perk_id).with_for_update()).scalar_one()
    held = list(
        session.execute(
            select(PerkBucket)
            .where(PerkBucket.perk_id == perk_id)
            .order_by(PerkBucket.bucket)
            .with_for_update()
        ).scalars()
    )
    parts = perk.supply_buckets
    capacities = [None] * parts if perk.max_supply is None else shares(perk.max_supply, parts)
    if parts > 1 and [b.capacity for b in held] == capacities:
        return  # laid out so already
    stamps = [t for t in (perk.last_claim_at, *(b.last_claim_at for b in held)) if t]
    now = Counted(  # what the perk's own counters and its buckets hold between them
        perk.claimed + sum(b.claimed for b in held),
        perk.members + sum(b.members for b in held),
        perk.points_spent + sum(b.points_spent for b in held),
        max(stamps) if stamps else None,
    )
    session.execute(PerkBucket.__table__.delete().where(PerkBucket.perk_id == perk_id))
    if parts <= 1:
        own = {"claimed": now.claimed, "members": now.members, "points_spent": now.points_spent}
        session.execute(
            update(Perk).where(Perk.id == perk_id).values(**own, last_claim_at=now.last_claim_at)
        )
        return
    session.execute(
        update(Perk)
        .where(Perk.id == perk_id)
        .values(claimed=0, members=0, points_spent=0, last_claim_at=None)
    )
    claimed = shares(now.claimed, parts)
    session.execute(
        insert(PerkBucket),
        [
            {
                "perk_id": perk_id,
                "bucket": n + 1,
                "capacity": capacities[n],
                "claimed": claimed[n],
                # the other counters are shares too: the first bucket carries them
                "members": now.members if n == 0 else 0,
                "points_spent": now.points_spent if n == 0 else 0,
                "last_claim_at": now.last_claim_at if n == 0 else None,
            }
            for n in range(parts)
        ],
    )


def claim_lots(session: Session, claim_id: str) -> dict[int, int]:
    rows = session.execute(
        select(ClaimLot.lot_id, ClaimLot.points).where(ClaimLot.claim_id == claim_id)
    )
    return {lot_id: points for lot_id, points in rows}


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
