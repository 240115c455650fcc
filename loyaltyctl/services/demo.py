"""`loyaltyctl demo`: a small program built from the sample data, safe to run twice."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain.perks import ApplyResult, ClaimResult
from loyaltyctl.domain.promo import RedemptionResult
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.resources import data_path
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.claims import claim_perk
from loyaltyctl.services.imports import import_members, import_points
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.promo import redeem
from loyaltyctl.store.db import Session
from loyaltyctl.store.members import program_summary


@dataclass(frozen=True)
class DemoResult:
    members: models.ImportResult
    points: models.ImportResult
    credit: models.PointsChange
    write_off: models.PointsChange
    program: ApplyResult
    claims: tuple[ClaimResult, ...]
    redemptions: tuple[RedemptionResult, ...]
    summary: dict


# (perk, member, idempotency key): running the demo again replays them
DEMO_CLAIMS = (
    ("free-coffee", "C-1001", "demo:claim-coffee-c1001"),
    ("ten-percent-off", "C-1003", "demo:claim-discount-c1003"),
    ("vip-discord", "C-1006", "demo:claim-discord-c1006"),
)
# (code, member, idempotency key)
DEMO_REDEMPTIONS = (
    ("winter-5o", "C-1002", "demo:redeem-winter-c1002"),  # typed loosely: WINTER50
    ("campus 2026", "C-1001", "demo:redeem-campus-c1001"),
)


def run_demo(
    *, session: Session, operator: str, tz: ZoneInfo, program: ProgramFiles, keys: KeyRing
) -> DemoResult:
    """`program`: the example perks and campaigns (config/program), loaded by the caller."""
    applied = apply_program(session=session, program=program, keys=lambda: keys, operator=operator)
    members = import_members(
        session=session, path=data_path("fixtures", "members.csv"), operator=operator
    )
    points = import_points(
        session=session, path=data_path("fixtures", "points.csv"), operator=operator, tz=tz
    )
    credit = change_points(
        session=session,
        member="C-1001",
        amount=300,
        reason="Won the Friday chess tournament",
        operator=operator,
        key="demo:tournament-c1001",
    )
    write_off = change_points(
        session=session,
        member="C-1004",
        amount=-50,
        reason="Bonus credited twice by mistake",
        operator=operator,
        key="demo:correction-c1004",
    )
    claims = tuple(
        claim_perk(
            session=session,
            keys=keys,
            perk_slug=slug,
            member=member,
            operator=operator,
            key=key,
            tz=tz,
        )
        for slug, member, key in DEMO_CLAIMS
    )
    redemptions = tuple(
        redeem(
            session=session, keys=keys, code=code, member=member, operator=operator, tz=tz, key=key
        )
        for code, member, key in DEMO_REDEMPTIONS
    )
    return DemoResult(
        members,
        points,
        credit,
        write_off,
        applied,
        claims,
        redemptions,
        program_summary(session),
    )


def program_path():
    return data_path("config", "program")


DEMO_BATCH = ("winter-2026", 100, "WIN")  # campaign, codes, prefix


def run_demo_codes(*, db, keys: KeyRing, operator: str, tz: ZoneInfo):
    """A batch of generated codes for the winter campaign, and one of them redeemed.

    Its own transactions (generation commits chunk by chunk), after the demo's; the
    first run only: later runs find the batch and do nothing.
    Returns (GenerateResult, RedemptionResult) or (None, None).
    """
    from loyaltyctl.services.promo_codes import generate_codes
    from loyaltyctl.store import promo as promo_store

    slug, count, prefix = DEMO_BATCH
    if db.run(
        lambda s: promo_store.batch_count(s, promo_store.require(s, slug).id),
        write=False,
        rollback=True,
    ):
        return None, None
    first: list[str] = []
    generated = generate_codes(
        database=db,
        keys=keys,
        campaign=slug,
        operator=operator,
        count=count,
        prefix=prefix,
        on_chunk=lambda _batch, codes: first.extend(codes[:1]) if not first else None,
    )
    redeemed = db.run(
        lambda s: redeem(
            session=s,
            keys=keys,
            code=first[0],
            member="C-1004",
            operator=operator,
            tz=tz,
            key="demo:redeem-generated-c1004",
        )
    )
    return generated, redeemed


def run_demo_events(*, db, operator: str, tz: ZoneInfo):
    """The sample events (fixtures/events.jsonl) through the example earning rules: joins,
    orders (the seed's worked example among them), refunds, a review, social actions and
    a birthday change. Its own transactions, after the demo's; later runs replay them."""
    from loyaltyctl.services.earning.ingest import ingest_events

    return ingest_events(
        database=db, path=data_path("fixtures", "events.jsonl"), tz=tz, operator=operator
    )


def demo_statistics(*, session: Session, tz: ZoneInfo):
    """What the demo ends with: the program overview and the claims statistics."""
    from loyaltyctl.services.stats import claim_stats, overview

    return overview(session=session), claim_stats(session=session, tz=tz)
