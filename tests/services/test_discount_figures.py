# ruff: noqa: E501 - events written out whole, as a store sends them
"""The kept discount figures (discount_member, discount_summary) always say what the
grants and uses themselves say, at any moment, before and after `maintain run`, through
grants by hand and from events, revokes, refunds, chargebacks, cancellations and ends;
`audit verify` recounts them and names a figure changed behind the tool's back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from loyaltyctl.domain.discounts import Grant
from loyaltyctl.program.files import read_program_files
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.discounts.grants import grant_discount, revoke_discount
from loyaltyctl.services.discounts.jobs import end_grants
from loyaltyctl.services.earning.ingest import ingest_events
from loyaltyctl.store import discounts as store
from loyaltyctl.store.tables import DiscountGrant, DiscountUse
from tests.discount_helpers import PROGRAM

TZ = ZoneInfo("UTC")
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


def _counted(db, now):
    """discount id -> (active grants, members, uses, users) from the rows themselves."""
    grants, uses = db.run(
        lambda s: (
            s.execute(select(DiscountGrant)).scalars().all(),
            s.execute(select(DiscountUse)).scalars().all(),
        ),
        write=False,
    )
    found: dict[int, list] = {}
    for g in grants:
        if Grant(g.discount_id, g.since, g.until, g.revoke_at, g.revoked_at).active_at(now):
            entry = found.setdefault(g.discount_id, [0, set(), 0, set()])
            entry[0] += 1
            entry[1].add(g.member_id)
    for u in uses:
        entry = found.setdefault(u.discount_id, [0, set(), 0, set()])
        entry[2] += 1
        entry[3].add(u.member_id)
    return {k: (v[0], len(v[1]), v[2], len(v[3])) for k, v in found.items()}


def _kept(db, now):
    return {
        k: v for k, v in db.run(lambda s: store.figures_now(s, now), write=False).items() if any(v)
    }


def _ingest(db, tmp_path, name, events):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    result = ingest_events(database=db, path=path, tz=TZ, operator="t", now=T0 + timedelta(days=40))
    assert result.errors_total == 0, result.errors


def test_kept_figures_agree_with_the_rows_at_every_moment(db, member, tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(PROGRAM, encoding="utf-8")
    files = read_program_files([path], env={}, tz=TZ)
    db.run(lambda s: apply_program(session=s, program=files, keys=lambda: None, operator="t"))
    for who in ("C-1", "C-2", "C-3"):
        member(who)

    def at(days):
        return (T0 + timedelta(days=days)).isoformat()

    _ingest(
        db,
        tmp_path,
        "a",
        [
            {
                "id": "s1",
                "type": "subscription.started",
                "at": at(0),
                "member": "C-1",
                "subscription_id": "S1",
                "package": "DIAMOND",
                "renews_at": at(30),
            },
            {
                "id": "s2",
                "type": "subscription.started",
                "at": at(0),
                "member": "C-2",
                "subscription_id": "S2",
                "package": "EMERALD",
                "renews_at": at(30),
            },
            {
                "id": "p1",
                "type": "order.paid",
                "at": at(1),
                "member": "C-1",
                "order_id": "1",
                "items": [{"sku": "CLUB-1M", "price": "5.00"}],
                "discounts": ["diamond-10"],
            },
            {
                "id": "p2",
                "type": "order.paid",
                "at": at(2),
                "member": "C-1",
                "order_id": "2",
                "items": [{"sku": "CLUB-1M", "price": "5.00"}],
                "discounts": ["diamond-10", "coffee-club"],
            },
            {
                "id": "p3",
                "type": "order.paid",
                "at": at(3),
                "member": "C-3",
                "order_id": "3",
                "items": [{"sku": "CLUB-1M", "price": "5.00"}],
            },
            {"id": "x1", "type": "subscription.cancelled", "at": at(10), "subscription_id": "S1"},
            {"id": "c1", "type": "order.chargeback", "at": at(12), "order_id": "1"},
        ],
    )
    for who, days in (("C-2", 20), ("C-3", None)):
        db.run(
            lambda s, who=who, days=days: grant_discount(
                session=s,
                slug="diamond-10",
                member=who,
                operator="t",
                until=T0 + timedelta(days=days) if days else None,
                now=T0 + timedelta(days=5),
            )
        )
    db.run(
        lambda s: revoke_discount(
            session=s,
            slug="diamond-10",
            member="C-3",
            reason="x",
            operator="t",
            now=T0 + timedelta(days=6),
        )
    )
    # the figures are of the present: moments after every recorded revoke (day 12); a
    # grant starting later, an end and a scheduled revoke falling due are corrected
    db.run(
        lambda s: grant_discount(
            session=s, slug="night-owl", member="C-2", operator="t", now=T0 + timedelta(days=26)
        )
    )
    for days in (12, 15, 25, 26, 31, 35, 60):
        now = T0 + timedelta(days=days)
        assert _kept(db, now) == _counted(db, now), days
    db.run(lambda s: end_grants(session=s, now=T0 + timedelta(days=35)))  # maintain run
    for days in (35, 36, 60):
        now = T0 + timedelta(days=days)
        assert _kept(db, now) == _counted(db, now), days
    assert db.run(lambda s: verify(session=s), write=False).ok
    db.run(lambda s: s.execute(text("UPDATE discount_summary SET members = members + 1")))
    found = db.run(lambda s: verify(session=s), write=False)
    assert not found.ok
    assert any("members holding it" in str(p) for p in found.problems)
