"""`loyaltyctl demo`: a small program built from the sample data, safe to run twice.

Every step is idempotent (keyed changes replay, imports find their rows, the program
applies unchanged, the generated batch exists, ingested events are known), so a second
run changes nothing. The figures at the end (members, balances, statistics) are read in
one snapshot after every step, so they agree with each other.

A new step (claiming a coupon, say) is one more entry in the tables below (DEMO_CLAIMS,
DEMO_REDEMPTIONS) or one more call in `_steps`, with a key of its own so that it replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import models
from loyaltyctl.domain.coupons import CouponApplied
from loyaltyctl.domain.perks import ApplyResult, ClaimResult
from loyaltyctl.domain.promo import GenerateResult, RedemptionResult
from loyaltyctl.program.files import ProgramFiles, read_program_files
from loyaltyctl.resources import data_path
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.claims import claim_perk
from loyaltyctl.services.coupons.checkout import check_coupon, read_cart
from loyaltyctl.services.discounts.quoting import MemberQuote, quote_cart
from loyaltyctl.services.earning.ingest import IngestResult, ingest_events
from loyaltyctl.services.imports import import_members, import_points
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.promo import redeem
from loyaltyctl.services.promo_codes import generate_codes
from loyaltyctl.services.setup import key_ring, upgrade_schema
from loyaltyctl.services.stats import ClaimStats, Overview, claim_stats, overview
from loyaltyctl.store import promo as promo_store
from loyaltyctl.store.db import Database, Session
from loyaltyctl.store.members import program_summary


@dataclass(frozen=True)
class DemoSteps:
    """What the demo does in its one transaction."""

    members: models.ImportResult
    points: models.ImportResult
    credit: models.PointsChange
    write_off: models.PointsChange
    program: ApplyResult
    claims: tuple[ClaimResult, ...]
    redemptions: tuple[RedemptionResult, ...]
    coupons: tuple[ClaimResult, ...] = ()


@dataclass(frozen=True)
class DemoResult:
    database: str  # the URL without its password
    keys_file: str
    keys_created: bool  # the demo made the key file (it is the program's own key file)
    steps: DemoSteps
    generated: GenerateResult | None  # None: the batch exists from an earlier run
    generated_redemption: RedemptionResult | None
    events: IngestResult
    summary: dict  # members, balances, ledger size, biggest balances: the same snapshot as
    overview: Overview  # ... the overview
    claims_stats: ClaimStats
    coupon_check: CouponApplied | None = None  # the convert coupon against fixtures/cart.json
    quote: MemberQuote | None = None  # DEMO_QUOTE_MEMBER's discounts on fixtures/cart.json


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
DEMO_BATCH = ("winter-2026", 100, "WIN")  # campaign, codes, prefix
# a coupon of each kind: (perk, member, idempotency key, points chosen for a convert coupon)
DEMO_COUPON_CLAIMS = (
    ("ten-dollars-off", "C-1011", "demo:coupon-fixed-c1011", None),
    ("ten-percent-coupon", "C-1008", "demo:coupon-percent-c1008", None),
    ("convert-points", "C-1006", "demo:coupon-convert-c1006", 200),
    ("free-shipping-coupon", "C-1002", "demo:coupon-shipping-c1002", None),
    ("free-lipstick", "C-1004", "demo:coupon-lipstick-c1004", None),
)
DEMO_CART = ("fixtures", "cart.json")  # checked against the convert coupon, and quoted
DEMO_QUOTE_MEMBER = "C-1001"  # holds the discounts the sample events grant


def run_demo(
    *,
    database: Database,
    keys_file: Path,
    operator: str,
    tz: ZoneInfo,
    env: Mapping[str, str],
) -> DemoResult:
    """Create or upgrade the schema and the key file (as `init` does), apply the example
    program (config/program, read with ``env`` for its secrets), run the demo's steps,
    generate and redeem codes, ingest the sample events, and gather the statistics.

    ``database`` is not checked for its schema: the demo brings it to the head revision.
    """
    upgrade_schema(database=database)
    keys, keys_created = key_ring(keys_file)
    program = read_program_files([data_path("config", "program")], env=dict(env), tz=tz)
    steps = database.run(
        lambda s: _steps(session=s, operator=operator, tz=tz, program=program, keys=keys)
    )
    generated, redeemed = _generated_codes(database=database, keys=keys, operator=operator, tz=tz)
    events = ingest_events(
        database=database, path=data_path("fixtures", "events.jsonl"), tz=tz, operator=operator
    )
    convert = next(c for c in steps.coupons if c.perk == "convert-points")
    cart = read_cart(data_path(*DEMO_CART).read_text(encoding="utf-8"), "/".join(DEMO_CART))
    checked = database.run(
        lambda s: check_coupon(session=s, keys=keys, code=convert.redemption.value, cart=cart),
        write=False,
        rollback=True,
    )
    quoted = database.run(
        lambda s: quote_cart(session=s, member=DEMO_QUOTE_MEMBER, cart=cart, tz=tz),
        write=False,
        rollback=True,
    )
    summary, program_overview, claims = database.run(
        lambda s: (program_summary(s), overview(session=s), claim_stats(session=s, tz=tz)),
        write=False,
        rollback=True,
    )
    return DemoResult(
        database=database.safe_url(),
        keys_file=str(keys_file),
        keys_created=keys_created,
        steps=steps,
        generated=generated,
        generated_redemption=redeemed,
        events=events,
        summary=summary,
        overview=program_overview,
        claims_stats=claims,
        coupon_check=checked,
        quote=quoted,
    )


def _steps(
    *, session: Session, operator: str, tz: ZoneInfo, program: ProgramFiles, keys: KeyRing
) -> DemoSteps:
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
    coupons = tuple(
        claim_perk(
            session=session,
            keys=keys,
            perk_slug=slug,
            member=member,
            operator=operator,
            key=key,
            points=chosen,
            tz=tz,
        )
        for slug, member, key, chosen in DEMO_COUPON_CLAIMS
    )
    return DemoSteps(members, points, credit, write_off, applied, claims, redemptions, coupons)


def _generated_codes(
    *, database: Database, keys: KeyRing, operator: str, tz: ZoneInfo
) -> tuple[GenerateResult | None, RedemptionResult | None]:
    """A batch of generated codes for the winter campaign, and one of them redeemed.

    Their own transactions (generation commits chunk by chunk), after the demo's steps;
    the first run only: later runs find the batch and do nothing.
    """
    slug, count, prefix = DEMO_BATCH
    if database.run(
        lambda s: promo_store.batch_count(s, promo_store.require(s, slug).id),
        write=False,
        rollback=True,
    ):
        return None, None
    first: list[str] = []
    generated = generate_codes(
        database=database,
        keys=keys,
        campaign=slug,
        operator=operator,
        count=count,
        prefix=prefix,
        on_chunk=lambda _batch, codes: first.extend(codes[:1]) if not first else None,
    )
    redeemed = database.run(
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
