"""Campaigns, shared codes and redemptions in the database.

The limits of a redemption are conditional writes the database evaluates: a code's
uses (`uses < uses_allowed`), and the member's total and daily redemptions in the
campaign (an upsert of `campaign_member` that only counts up below the limit).
Generated codes are written by store/promo_codes.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, text, update
from sqlmodel import Session

from loyaltyctl.domain.errors import UnknownCampaign
from loyaltyctl.store.driver import insert_row, run
from loyaltyctl.store.perk_rows import close_matches
from loyaltyctl.store.tables import (
    Campaign,
    CampaignMember,
    PromoBatch,
    PromoCode,
    PromoRedemption,
)

TOTAL = ""  # campaign_member.day of a member's total in a campaign


def get(session: Session, slug: str) -> Campaign | None:
    return session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one_or_none()


def require(session: Session, slug: str) -> Campaign:
    row = get(session, slug)
    if row is None:
        raise UnknownCampaign(
            f"There is no campaign {slug!r}.",
            campaign=slug,
            candidates=close_matches(session, Campaign.slug, slug),
        )
    return row


def by_slugs(session: Session, slugs: list[str]) -> dict[str, Campaign]:
    rows = session.execute(select(Campaign).where(Campaign.slug.in_(slugs))).scalars()
    return {row.slug: row for row in rows}


def by_id(session: Session, campaign_id: int) -> Campaign:
    return session.get(Campaign, campaign_id)


def listing(session: Session) -> list[Campaign]:
    return list(session.execute(select(Campaign).order_by(Campaign.slug)).scalars())


def running_slugs(session: Session) -> list[str]:
    """Campaigns that are not paused or archived (what --prune pauses)."""
    return list(
        session.execute(
            select(Campaign.slug).where(Campaign.status == "active").order_by(Campaign.slug)
        ).scalars()
    )


def insert_campaign(session: Session, values: dict) -> int:
    return session.execute(insert(Campaign).values(**values).returning(Campaign.id)).scalar_one()


def update_campaign(session: Session, campaign_id: int, values: dict) -> None:
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))


def set_status(
    session: Session, campaign_id: int, status: str, *, allowed_from: tuple[str, ...], now
) -> bool:
    """Change the status only from one of ``allowed_from``; False when it was not."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(allowed_from))
        .values(status=status, updated_at=now)
    )
    return result.rowcount == 1


# --- codes ----------------------------------------------------------------------------


def codes_by_hashes(session: Session, hashes: list[str]) -> dict[str, PromoCode]:
    rows = session.execute(select(PromoCode).where(PromoCode.code_hash.in_(hashes))).scalars()
    return {row.code_hash: row for row in rows}


def code_by_hash(session: Session, code_hash: str) -> PromoCode | None:
    return session.execute(
        select(PromoCode).where(PromoCode.code_hash == code_hash)
    ).scalar_one_or_none()


def shared_codes(session: Session, campaign_id: int) -> list[PromoCode]:
    return list(
        session.execute(
            select(PromoCode)
            .where(PromoCode.campaign_id == campaign_id, PromoCode.batch_id.is_(None))
            .order_by(PromoCode.id)
        ).scalars()
    )


def insert_code(session: Session, values: dict) -> None:
    insert_row(session, "promo_code", values)


def raise_inventory(session: Session, code_id: int, inventory: int | None) -> bool:
    """Inventory only grows (None is unlimited); False when it would not grow."""
    grows = (
        PromoCode.uses_allowed.is_not(None)
        if inventory is None
        else (PromoCode.uses_allowed < inventory)
    )
    result = session.execute(
        update(PromoCode).where(PromoCode.id == code_id, grows).values(uses_allowed=inventory)
    )
    return result.rowcount == 1


def take_code_use(session: Session, code_id: int) -> bool:
    """One use of a code; False when it is used up."""
    sql = (
        "UPDATE promo_code SET uses = uses + 1 WHERE id = {p} "
        "AND (uses_allowed IS NULL OR uses < uses_allowed)"
    )
    return run(session, sql, (code_id,)) == 1


def codes_issued(session: Session, campaign_id: int) -> int:
    """Shared codes plus generated ones (from the batches' counters, not a scan)."""
    shared = session.execute(
        select(func.count())
        .select_from(PromoCode)
        .where(PromoCode.campaign_id == campaign_id, PromoCode.batch_id.is_(None))
    ).scalar_one()
    generated = session.execute(
        select(func.coalesce(func.sum(PromoBatch.generated), 0)).where(
            PromoBatch.campaign_id == campaign_id
        )
    ).scalar_one()
    return int(shared) + int(generated)


# --- a member's redemptions -----------------------------------------------------------


def member_redemptions(
    session: Session, campaign_id: int, member_id: int, day: str
) -> tuple[int, int]:
    """(total, that day) of a member's redemptions in a campaign."""
    rows = dict(
        session.execute(
            select(CampaignMember.day, CampaignMember.redemptions).where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.member_id == member_id,
                CampaignMember.day.in_((TOTAL, day)),
            )
        ).all()
    )
    return rows.get(TOTAL, 0), rows.get(day, 0)


def count_redemption(
    session: Session, campaign_id: int, member_id: int, day: str, limit: int | None
) -> bool:
    """Count one redemption for the member on ``day`` (or in total, day ''); False when
    the limit is reached. One upsert that only counts up while below the limit."""
    bound = "" if limit is None else " WHERE campaign_member.redemptions < :limit"
    result = session.execute(
        text(
            "INSERT INTO campaign_member (campaign_id, member_id, day, redemptions) "
            "VALUES (:campaign, :member, :day, 1) "
            "ON CONFLICT (campaign_id, member_id, day) DO UPDATE "
            "SET redemptions = campaign_member.redemptions + 1" + bound
        ),
        {"campaign": campaign_id, "member": member_id, "day": day, "limit": limit},
    )
    return result.rowcount == 1


def add_to_totals(session: Session, campaign_id: int, points: int) -> None:
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(
            redemptions=Campaign.redemptions + 1,
            points_granted=Campaign.points_granted + points,
        )
    )


def insert_redemption(session: Session, values: dict) -> None:
    insert_row(session, "promo_redemption", values)


def redemption_by_id(session: Session, redemption_id: str) -> PromoRedemption:
    return session.get(PromoRedemption, redemption_id)


def redemption_series(
    session: Session, campaign_id: int, *, since: datetime | None = None
) -> list[tuple[str, int]]:
    """(day, redemptions) in the program time zone's days, oldest first."""
    stmt = (
        select(PromoRedemption.day, func.count())
        .where(PromoRedemption.campaign_id == campaign_id)
        .group_by(PromoRedemption.day)
        .order_by(PromoRedemption.day)
    )
    if since is not None:
        stmt = stmt.where(PromoRedemption.at >= since)
    return [(day, int(n)) for day, n in session.execute(stmt)]


def capacity(session: Session, campaign_id: int) -> int | None:
    """How many redemptions the campaign's codes allow in all; None if one is unlimited."""
    shared = session.execute(
        select(
            func.count().filter(PromoCode.uses_allowed.is_(None)),
            func.coalesce(func.sum(PromoCode.uses_allowed), 0),
        ).where(PromoCode.campaign_id == campaign_id, PromoCode.batch_id.is_(None))
    ).one()
    if shared[0]:
        return None
    generated = session.execute(
        select(func.coalesce(func.sum(PromoBatch.generated * PromoBatch.uses_per_code), 0)).where(
            PromoBatch.campaign_id == campaign_id
        )
    ).scalar_one()
    return int(shared[1]) + int(generated)


def batch_count(session: Session, campaign_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(PromoBatch).where(PromoBatch.campaign_id == campaign_id)
    ).scalar_one()


def redemptions_of_member(
    session: Session, member_id: int, *, limit: int
) -> list[tuple[PromoRedemption, str, str]]:
    """(redemption, campaign slug, campaign name), newest first."""
    return [
        tuple(row)
        for row in session.execute(
            select(PromoRedemption, Campaign.slug, Campaign.name)
            .join(Campaign, Campaign.id == PromoRedemption.campaign_id)
            .where(PromoRedemption.member_id == member_id)
            .order_by(PromoRedemption.at.desc(), PromoRedemption.id.desc())
            .limit(limit)
        )
    ]
