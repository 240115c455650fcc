"""`loyaltyctl demo`: a small program built from the sample data, safe to run twice."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain.perks import ApplyResult, ClaimResult, PerkSpec
from loyaltyctl.resources import data_path
from loyaltyctl.services.claims import claim_perk
from loyaltyctl.services.imports import import_members, import_points
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.perks import apply_perks
from loyaltyctl.store.members import program_summary


@dataclass(frozen=True)
class DemoResult:
    members: models.ImportResult
    points: models.ImportResult
    credit: models.PointsChange
    write_off: models.PointsChange
    program: ApplyResult
    claims: tuple[ClaimResult, ...]
    summary: dict


# (perk, member, idempotency key): running the demo again replays them
DEMO_CLAIMS = (
    ("free-coffee", "C-1001", "demo:claim-coffee-c1001"),
    ("ten-percent-off", "C-1003", "demo:claim-discount-c1003"),
    ("vip-discord", "C-1006", "demo:claim-discord-c1006"),
)


def run_demo(
    *, session: Session, operator: str, tz: ZoneInfo, program: list[PerkSpec], keys: KeyRing
) -> DemoResult:
    """`program`: the example perks (config/program), loaded by the caller."""
    applied = apply_perks(session=session, specs=program, keys=lambda: keys, operator=operator)
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
            session=session, keys=keys, perk_slug=slug, member=member, operator=operator, key=key
        )
        for slug, member, key in DEMO_CLAIMS
    )
    return DemoResult(members, points, credit, write_off, applied, claims, program_summary(session))


def program_path():
    return data_path("config", "program")
