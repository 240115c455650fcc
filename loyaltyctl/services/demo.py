"""`loyaltyctl demo`: a small program built from the sample data, safe to run twice."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from loyaltyctl.domain import models
from loyaltyctl.resources import data_path
from loyaltyctl.services.imports import import_members, import_points
from loyaltyctl.services.ledger import change_points
from loyaltyctl.store.members import program_summary


@dataclass(frozen=True)
class DemoResult:
    members: models.ImportResult
    points: models.ImportResult
    credit: models.PointsChange
    write_off: models.PointsChange
    summary: dict


def run_demo(*, session: Session, operator: str, tz: ZoneInfo) -> DemoResult:
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
    return DemoResult(members, points, credit, write_off, program_summary(session))
