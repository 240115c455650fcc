"""Applying perks and claiming them, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from loyaltyctl.domain import errors
from loyaltyctl.domain.perks import Audience, PerkSpec
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.audit import verify
from loyaltyctl.services.claim_records import cancel_claim, perk_claims, show_claim
from loyaltyctl.services.claims import certificate, claim_perk, verify_certificate
from loyaltyctl.services.ledger import change_points
from loyaltyctl.services.perks import perks_for_member, show_perk
from loyaltyctl.store.tables import Claim, Member, Perk, PerkMember

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

COFFEE = PerkSpec(
    slug="free-coffee",
    name="Free Coffee",
    price=200,
    category="experience",
    max_supply=3,
    max_per_member=2,
    redemption_type="code",
    value="COFFEE-2026",
    instructions="Show this code at the bar.",
    source="perks.toml",
    line=1,
)


@pytest.fixture
def program(run, keys, member):
    """Apply perks, make members with points; returns a function to claim."""

    def apply(*specs, prune=False, dry_run=False):
        return run(
            apply_program,
            program=ProgramFiles({"perk": list(specs)}),
            keys=lambda: keys,
            operator="tester",
            prune=prune,
            dry_run=dry_run,
            now=NOW,
        )

    def credit(external_id, amount, **kwargs):
        return run(
            change_points,
            member=external_id,
            amount=amount,
            reason="test credit",
            operator="tester",
            now=NOW,
            **kwargs,
        )

    def claim(slug, external_id, key=None, now=NOW):
        return run(
            claim_perk,
            keys=keys,
            perk_slug=slug,
            member=external_id,
            operator="tester",
            key=key,
            now=now,
        )

    member("C-1", tier="gold")
    member("C-2", groups=["chess"])
    credit("C-1", 1000)
    credit("C-2", 300)
    apply(COFFEE)
    return type("Program", (), {"apply": apply, "credit": credit, "claim": claim})


def _figures(db, slug):
    with db.transaction() as s:
        perk = s.execute(select(Perk).where(Perk.slug == slug)).scalar_one()
        claims = s.execute(select(func.count()).select_from(Claim)).scalar_one()
        balances = dict(s.execute(select(Member.external_id, Member.balance)).all())
        allowances = s.execute(select(func.sum(PerkMember.claims))).scalar_one() or 0
        return perk.claimed, claims, balances, allowances


def test_claim_debits_points_reveals_the_code_and_signs_a_certificate(program, run, keys, db):
    result = program.claim("free-coffee", "C-1")
    assert result.points_spent == 200 and result.balance == 800
    assert result.redemption.type == "code" and result.redemption.value == "COFFEE-2026"
    assert result.redemption.instructions == "Show this code at the bar."
    assert result.certificate_id == f"CT-{result.claim_id}"
    assert _figures(db, "free-coffee") == (1, 1, {"C-1": 800, "C-2": 300}, 1)
    text = run(certificate, claim_id=result.claim_id)
    check = verify_certificate(text.encode(), public_key_pem=keys.public_key_pem().encode())
    assert check.valid and check.claim_id == result.claim_id
    assert run(verify).ok


def test_certificate_with_any_altered_byte_is_invalid(program, run, keys):
    result = program.claim("free-coffee", "C-1")
    data = run(certificate, claim_id=result.claim_id).encode()
    pem = keys.public_key_pem().encode()
    for altered in (
        data.replace(b'"points_spent":200', b'"points_spent":201'),
        data.replace(b"C-1", b"C-2"),
        data.replace(b'{"', b'{ "', 1),  # same content, not the signed bytes
    ):
        assert altered != data
        with pytest.raises(errors.InvalidCertificate):
            verify_certificate(altered, public_key_pem=pem)
    other = __import__("loyaltyctl.crypto", fromlist=["generate"]).generate()
    with pytest.raises(errors.InvalidCertificate):
        verify_certificate(data, public_key_pem=other.public_key_pem().encode())


def test_idempotency_key_replays_the_claim_and_refuses_other_use(program):
    first = program.claim("free-coffee", "C-1", key="web-1")
    again = program.claim("free-coffee", "C-1", key="web-1")
    assert again.replayed and again.claim_id == first.claim_id and again.balance == 800
    assert again.redemption.value == "COFFEE-2026"
    with pytest.raises(errors.KeyConflict) as caught:
        program.claim("free-coffee", "C-2", key="web-1")
    assert caught.value.message == (
        f"The key 'web-1' was already used for another claim ({first.claim_id}); "
        "nothing was changed."
    )
    credited = program.credit("C-2", 5, key="points-key")
    with pytest.raises(errors.KeyConflict) as caught:
        program.claim("free-coffee", "C-2", key="points-key")
    assert caught.value.message == (
        f"The key 'points-key' was already used for entry {credited.entry_id}; nothing was changed."
    )
    # keys are global the other way round too: a points change cannot take a claim's key
    with pytest.raises(errors.KeyConflict) as caught:
        program.credit("C-1", 5, key="web-1")
    assert caught.value.message == (
        f"The key 'web-1' was already used for claim {first.claim_id}; nothing was changed."
    )


def test_points_import_refuses_a_key_a_claim_holds(program, run, tmp_path):
    from loyaltyctl.services.imports import import_points

    held = program.claim("free-coffee", "C-1", key="web-1")
    csv = tmp_path / "points.csv"
    csv.write_text("member,amount,reason,key\nC-1,5,bonus,web-1\nC-2,5,bonus,other\n")
    with pytest.raises(errors.BadInputFile) as caught:
        run(import_points, path=csv, operator="tester", tz=UTC)
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "key")]
    assert caught.value.problems[0].message == (
        f"the key 'web-1' was used for claim {held.claim_id}"
    )


@pytest.mark.parametrize(
    ("change", "who", "error"),
    [
        ({"active": False}, "C-1", errors.PerkInactive),
        ({"valid_from": NOW + timedelta(days=1)}, "C-1", errors.NotInWindow),
        ({"valid_until": NOW - timedelta(seconds=1)}, "C-1", errors.NotInWindow),
        ({"audience": Audience(tiers=("gold",))}, "C-2", errors.NotInAudience),
        ({"audience": Audience(groups=("chess", "go"))}, "C-1", errors.NotInAudience),
        ({"price": 301}, "C-2", errors.InsufficientBalance),
    ],
)
def test_refusals_change_nothing(program, db, change, who, error):
    program.apply(replace(COFFEE, **change))
    before = _figures(db, "free-coffee")
    with pytest.raises(error) as caught:
        program.claim("free-coffee", who)
    assert caught.value.code == error.code
    assert _figures(db, "free-coffee") == before


def test_audience_admits_matching_members(program):
    program.apply(replace(COFFEE, audience=Audience(groups=("chess", "go"))))
    assert program.claim("free-coffee", "C-2").balance == 100


def test_supply_and_member_limits_hold_and_cancel_gives_them_back(program, run, db):
    program.credit("C-2", 1000)
    a = program.claim("free-coffee", "C-1")
    program.claim("free-coffee", "C-1")
    with pytest.raises(errors.MemberLimit):
        program.claim("free-coffee", "C-1")
    program.claim("free-coffee", "C-2")
    with pytest.raises(errors.SoldOut):
        program.claim("free-coffee", "C-2")
    record = run(cancel_claim, claim_id=a.claim_id, reason="machine broken", operator="tester")
    assert record.status == "cancelled" and record.balance == 800 and record.points_spent == 200
    with pytest.raises(errors.AlreadyCancelled):
        run(cancel_claim, claim_id=a.claim_id, reason="again", operator="tester")
    # supply and C-1's allowance are back: C-1 may claim once more
    assert program.claim("free-coffee", "C-1").balance == 600
    perk = run(show_perk, slug="free-coffee")
    assert (perk.claims, perk.cancelled_claims, perk.supply_left, perk.members) == (3, 1, 0, 2)
    assert perk.points_spent == 600
    statuses = sorted(r.status for r in run(perk_claims, slug="free-coffee"))
    assert statuses == ["active", "active", "active", "cancelled"]
    assert run(verify).ok


def test_cancel_gives_points_back_to_the_lots_they_came_from(program, run, db):
    from loyaltyctl.services.maintenance import run_due_work

    soon = NOW + timedelta(days=10)
    program.credit("C-2", 150, expires_at=soon)  # spent first: it expires soonest
    claim = program.claim("free-coffee", "C-2")  # 150 from the lot, 50 from the rest
    run(cancel_claim, claim_id=claim.claim_id, reason="refund", operator="tester", now=NOW)
    result = run(run_due_work, now=soon + timedelta(seconds=1), operator="cron")
    assert result.expired_points == 150  # the refunded lot points kept their expiry
    assert _figures(db, "free-coffee")[2]["C-2"] == 300
    assert run(verify).ok


def test_cancel_after_the_lot_expired_expires_the_refunded_points_at_once(program, run, db):
    from loyaltyctl.services.maintenance import run_due_work

    soon = NOW + timedelta(days=10)
    program.credit("C-2", 150, expires_at=soon)
    claim = program.claim("free-coffee", "C-2")  # 150 from the lot, 50 from the rest
    run(run_due_work, now=soon + timedelta(seconds=1), operator="cron")  # nothing left in it
    later = soon + timedelta(days=1)
    record = run(cancel_claim, claim_id=claim.claim_id, reason="late", operator="t", now=later)
    assert record.balance == 450 - 200 + 200 - 150  # the 150 from the lot expired at once
    again = run(run_due_work, now=later + timedelta(seconds=1), operator="cron")
    assert again.expired_points == 0  # nothing was left to expire twice
    assert run(verify).ok


def test_single_use_codes_get_a_unique_suffix(program, run, keys):
    program.apply(replace(COFFEE, single_use=True, max_supply=None, max_per_member=None))
    program.credit("C-1", 100_000)
    codes = [program.claim("free-coffee", "C-1").redemption.value for _ in range(30)]
    assert len(set(codes)) == 30
    assert all(c.startswith("COFFEE-2026-") and len(c) == len("COFFEE-2026-") + 4 for c in codes)
    last = run(perk_claims, slug="free-coffee", limit=1)[0]
    assert run(show_claim, claim_id=last.claim_id, keys=None).redemption is None
    assert run(show_claim, claim_id=last.claim_id, keys=keys).redemption.value in codes


def test_free_perk_and_webhook_perk(program, run, db):
    program.apply(
        PerkSpec(slug="welcome", name="Welcome", price=0, source="p.toml", line=1),
        PerkSpec(
            slug="vip-discord",
            name="VIP Discord",
            price=100,
            redemption_type="webhook",
            webhook_url="http://127.0.0.1:9/hook",
            webhook_secret="s3cret",
            source="p.toml",
            line=5,
        ),
    )
    free = program.claim("welcome", "C-2")
    assert free.points_spent == 0 and free.balance == 300 and free.redemption.value is None
    hooked = program.claim("vip-discord", "C-2")
    assert hooked.redemption.type == "webhook" and hooked.redemption.value is None
    from loyaltyctl.store.tables import WebhookDelivery

    with db.transaction() as s:
        queued = s.execute(select(WebhookDelivery)).scalars().all()
    assert [(q.claim_id, q.event, q.status) for q in queued] == [
        (hooked.claim_id, "claim.created", "queued")
    ]
    assert "s3cret" not in queued[0].payload
    run(cancel_claim, claim_id=hooked.claim_id, reason="oops", operator="tester")
    with db.transaction() as s:
        statuses = s.execute(select(WebhookDelivery.status)).scalars().all()
    assert statuses == ["cancelled"]  # never sent, so nothing to tell the receiver


def test_apply_plans_creates_updates_and_prunes(program, run):
    tea = PerkSpec(slug="tea", name="Tea", price=50, source="p.toml", line=9)
    dry = program.apply(COFFEE, tea, dry_run=True)
    assert [(c.slug, c.action) for c in dry.changes] == [
        ("free-coffee", "unchanged"),
        ("tea", "create"),
    ]
    result = program.apply(replace(COFFEE, price=250, value=None), tea)
    assert [(c.slug, c.action, c.fields) for c in result.changes] == [
        ("free-coffee", "update", ("price",)),
        ("tea", "create", result.changes[1].fields),
    ]
    # the secret left out was kept
    assert program.claim("free-coffee", "C-1").redemption.value == "COFFEE-2026"
    # a new secret is an update of "value", never shown
    changed = program.apply(replace(COFFEE, price=250, value="COFFEE-2027"), tea)
    assert changed.changes[0].fields == ("value",)
    assert program.apply(replace(COFFEE, price=250), tea).changes[0].fields == ("value",)
    pruned = program.apply(tea, prune=True)
    assert [(c.slug, c.action) for c in pruned.changes] == [
        ("tea", "unchanged"),
        ("free-coffee", "disable"),
    ]
    perk = run(show_perk, slug="free-coffee")
    assert perk.active is False and perk.claims == 1  # disabled, never deleted


def test_export_reveals_only_the_secret_the_redemption_type_uses(program, run, keys):
    from loyaltyctl.services.perks import export_document

    hook = replace(
        COFFEE,
        redemption_type="webhook",
        value=None,
        single_use=False,
        webhook_url="https://hooks.example.org/x",
        webhook_secret="hook-secret",
    )
    program.apply(hook)  # the code value stored earlier stays stored
    (table,) = run(export_document, slugs=["free-coffee"], reveal_secrets=True, keys=lambda: keys)[
        "perk"
    ]
    assert table["redemption"]["webhook_secret"] == "hook-secret"
    assert "value" not in table["redemption"]


def test_apply_reports_what_only_the_database_knows(program):
    program.claim("free-coffee", "C-1")
    program.claim("free-coffee", "C-1")
    with pytest.raises(errors.BadInputFile) as caught:
        program.apply(
            replace(COFFEE, max_supply=1),
            PerkSpec(
                slug="gift", name="Gift", price=5, redemption_type="code", source="g.toml", line=3
            ),
        )
    messages = [str(p) for p in caught.value.problems]
    assert any("g.toml:3" in m and "needs a value" in m for m in messages)
    assert any("perks.toml:1" in m and "max_supply" in m for m in messages)


def test_perks_for_member_says_why_not(program, run):
    program.apply(
        COFFEE,
        PerkSpec(
            slug="gold-only",
            name="Gold",
            price=1,
            audience=Audience(tiers=("gold",)),
            source="p",
            line=1,
        ),
    )
    choices = {c.perk.slug: c for c in run(perks_for_member, member="C-2", now=NOW)}
    assert choices["free-coffee"].claimable
    assert choices["gold-only"].code == "not_in_audience"


def test_ciphertext_copied_to_another_perk_does_not_decrypt(program, run, db, tamper):
    program.apply(replace(COFFEE, slug="other", value="OTHER-1"))
    tamper(
        "UPDATE perk SET value_enc = (SELECT value_enc FROM perk WHERE slug = 'free-coffee') "
        "WHERE slug = 'other'"
    )
    before = _figures(db, "other")
    # the value is decrypted after supply, allowance and points were taken: all rolled back
    with pytest.raises(errors.KeysInvalid):
        program.claim("other", "C-1")
    assert _figures(db, "other") == before
    assert before[0] == 0 and before[2]["C-1"] == 1000


def test_claim_ids_use_every_symbol_in_every_position():
    """A claim id is ID_LENGTH symbols of the suffix alphabet, each position uniform
    (drawn at once and written in base 31): over 3,000 ids every symbol shows up in
    every position (a position stuck on one symbol, or an alphabet cut short, fails)."""
    from loyaltyctl.domain.perks import SUFFIX_ALPHABET
    from loyaltyctl.services.claims import ID_LENGTH, _new_id

    ids = [_new_id() for _ in range(3000)]
    assert {len(i) for i in ids} == {ID_LENGTH}
    for position in range(ID_LENGTH):
        assert {i[position] for i in ids} == set(SUFFIX_ALPHABET)
    assert len(set(ids)) == len(ids)
