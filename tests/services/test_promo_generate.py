"""Generating batches of promo codes and exporting them, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from loyaltyctl.domain import errors
from loyaltyctl.domain.promo import (
    ALPHABET,
    CampaignSpec,
    SharedCodeSpec,
    has_valid_check,
    max_live_codes,
    normalize,
)
from loyaltyctl.services import promo_codes
from loyaltyctl.services.promo import create_campaign, redeem, set_campaign_status
from loyaltyctl.services.promo_codes import export_codes, generate_codes
from loyaltyctl.store.tables import AuditEvent, PromoBatch, PromoCode

SPRING = CampaignSpec(
    slug="spring", name="Spring", points=50, codes=(SharedCodeSpec("SPRING25", 10),)
)
DISPLAY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3}$")


@pytest.fixture
def campaigns(run, keys):
    for spec in (SPRING, CampaignSpec(slug="autumn", name="Autumn", points=10)):
        run(create_campaign, spec=spec, keys=lambda: keys, operator="t")


def generate(db, keys, campaign="spring", **options):
    """generate_codes as the CLI calls it; returns (result, the codes handed out)."""
    handed: list[str] = []
    result = generate_codes(
        database=db,
        keys=keys,
        campaign=campaign,
        operator="t",
        on_chunk=lambda _batch, codes: handed.extend(codes),
        **options,
    )
    return result, handed


def export(db, keys, campaign="spring", batch_id=None):
    rows = []
    result = db.run(
        lambda s: export_codes(
            session=s, keys=keys, campaign=campaign, batch_id=batch_id, emit=rows.extend
        ),
        write=False,
        rollback=True,
    )
    return result, rows


def scalar(db, stmt):
    with db.transaction(write=False) as s:
        return s.execute(stmt).scalar_one()


def batch_codes(db, batch_id):
    return scalar(db, select(func.count()).where(PromoCode.batch_id == batch_id))


# --- generate ----------------------------------------------------------------------


def test_a_batch_has_exactly_the_count_of_unique_codes_with_valid_check_symbols(
    db, keys, campaigns
):
    result, codes = generate(db, keys, count=12_000, chunk_size=5_000)
    assert (result.count, result.requested, result.generated_now) == (12_000, 12_000, 12_000)
    assert len(codes) == len(set(codes)) == 12_000
    assert all(len(c) == 11 and has_valid_check(c) for c in codes)
    with db.transaction(write=False) as s:
        rows = s.execute(
            select(
                PromoCode.code_hash, PromoCode.code_enc, PromoCode.uses_allowed, PromoCode.uses
            ).where(PromoCode.batch_id == result.batch_id)
        ).all()
        batch = s.get(PromoBatch, result.batch_id)
        assert (batch.requested, batch.generated, batch.length) == (12_000, 12_000, 10)
        assert batch.completed_at is not None
        actions = s.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert actions[-2:] == ["campaign.generate", "campaign.batch_complete"]
    by_hash = {r.code_hash: r for r in rows}
    assert len(by_hash) == 12_000
    # hashes are the lookup key's HMAC of the code; ciphertexts decrypt back, bound to it
    for code in codes[:500]:
        row = by_hash[keys.lookup_hash(code)]
        assert keys.decrypt(row.code_enc, bound_to=f"promo_code:{row.code_hash}") == code
        assert (row.uses_allowed, row.uses) == (1, 0)


def test_the_random_codes_use_every_symbol_and_only_the_alphabet():
    codes = promo_codes.random_codes("", 10, 3_000)
    assert set("".join(c[:-1] for c in codes)) == set(ALPHABET)
    assert all(has_valid_check(c) for c in codes)


def test_a_prefix_leads_every_code_and_options_are_kept(db, keys, campaigns):
    result, codes = generate(db, keys, count=300, prefix="xmas-", length=8, uses_per_code=3)
    assert all(c.startswith("XMAS") and len(c) == 4 + 8 + 1 and has_valid_check(c) for c in codes)
    _, rows = export(db, keys, batch_id=result.batch_id)
    assert {r.uses_allowed for r in rows} == {3}
    assert all(re.fullmatch(r"XMAS-\w{4}-\w{4}-\w", r.code) for r in rows)


def test_a_prefix_is_shown_as_given_and_typed_any_way(db, keys, campaigns, member):
    """I, L and O have no symbol of their own: the codes hold 1 and 0, as typing reads
    them, and people see the prefix they chose."""
    member("C-1")
    result, codes = generate(db, keys, count=5, prefix="Win")
    assert all(c.startswith("W1N") and has_valid_check(c) for c in codes)
    _, rows = export(db, keys, batch_id=result.batch_id)
    assert all(r.code.startswith("WIN-") and normalize(r.code) in codes for r in rows)
    done = db.run(
        lambda s: redeem(
            session=s, keys=keys, code=rows[0].code, member="C-1", operator="t", tz=ZoneInfo("UTC")
        )
    )
    assert done.campaign == "spring"
    again, _ = generate(db, keys, batch_id=result.batch_id, prefix="w1n")  # the same prefix
    assert again.generated_now == 0


def test_any_prefix_letters_work_and_only_letters_and_digits(db, keys, campaigns):
    with pytest.raises(errors.UsageProblem, match="'!'"):
        generate(db, keys, count=10, prefix="SUM!")
    assert scalar(db, select(func.count()).select_from(PromoBatch)) == 0
    result, codes = generate(db, keys, count=10, prefix="SUMMER")  # U, the letter not in base32
    assert result.count == 10
    from loyaltyctl.domain.promo import has_valid_check, looks_mistyped

    assert all(c.startswith("SUMMER") and has_valid_check(c) for c in codes)
    wrong = codes[0][:8] + ("7" if codes[0][8] != "7" else "8") + codes[0][9:]
    assert looks_mistyped(wrong)


def test_generated_codes_redeem_once_typed_any_way(db, keys, campaigns, member):
    member("C-1")
    result, codes = generate(db, keys, count=20)
    _, rows = export(db, keys, batch_id=result.batch_id)
    typed = rows[0].code.lower().replace("-", " ")
    done = db.run(
        lambda s: redeem(
            session=s, keys=keys, code=typed, member="C-1", operator="t", tz=ZoneInfo("UTC")
        )
    )
    assert (done.campaign, done.points) == ("spring", 50)
    with pytest.raises(errors.CodeUsedUp):
        db.run(
            lambda s: redeem(
                session=s,
                keys=keys,
                code=rows[0].code,
                member="C-1",
                operator="t",
                tz=ZoneInfo("UTC"),
            )
        )
    _, after = export(db, keys, batch_id=result.batch_id)
    assert (after[0].uses, after[0].status) == (1, "used_up")
    assert {r.status for r in after[1:]} == {"available"}


@pytest.mark.slow  # 2,000 codes, and pg_dump
def test_a_copy_of_the_database_reveals_no_code(db, db_url, keys, campaigns, tmp_path):
    _, codes = generate(db, keys, count=2_000)
    _, rows = export(db, keys)
    displayed = [r.code for r in rows if r.batch_id]
    assert len(displayed) == 2_000
    if db.is_sqlite:
        db.dispose()
        with sqlite3.connect(db.sqlite_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        files = [db.sqlite_path, db.sqlite_path.with_name(db.sqlite_path.name + "-wal")]
        data = b"".join(f.read_bytes() for f in files if f.exists())
        assert len(data) > 500_000
    else:
        dump = subprocess.run(
            ["pg_dump", "--data-only", db_url], capture_output=True, check=True
        ).stdout
        data = dump
        assert b"COPY public.promo_code" in data
    data_upper = data.upper()  # case is ignored when codes are typed
    assert not [c for c in codes if c.encode() in data_upper]
    assert not [c for c in displayed if c.encode() in data_upper]
    assert b"SPRING25" not in data_upper  # nor the shared code


def test_an_interrupted_batch_keeps_its_chunks_and_is_finished_with_its_id(db, keys, campaigns):
    class Interrupted(Exception):
        pass

    seen: list[str] = []
    started = []

    def on_chunk(batch, codes):
        seen.extend(codes)
        if batch.generated >= 2_000:
            raise Interrupted

    with pytest.raises(Interrupted):
        generate_codes(
            database=db,
            keys=keys,
            campaign="spring",
            operator="t",
            count=5_500,
            chunk_size=1_000,
            on_batch=started.append,
            on_chunk=on_chunk,
        )
    batch_id = started[0].id
    assert scalar(db, select(PromoBatch.generated).where(PromoBatch.id == batch_id)) == 2_000
    assert batch_codes(db, batch_id) == 2_000

    result, rest = generate(db, keys, batch_id=batch_id.lower(), chunk_size=1_000)
    assert (result.batch_id, result.count, result.generated_now) == (batch_id, 5_500, 3_500)
    assert len(set(seen) | set(rest)) == 5_500
    assert batch_codes(db, batch_id) == 5_500
    assert scalar(db, select(func.count(func.distinct(PromoCode.code_hash)))) == 5_500 + 1

    again, nothing = generate(db, keys, batch_id=batch_id)
    assert (again.count, again.generated_now, nothing) == (5_500, 0, [])


def test_a_chunk_lost_in_flight_leaves_nothing_behind(db, keys, campaigns, monkeypatch):
    """A failure inside a chunk's transaction rolls back that chunk only."""
    from loyaltyctl.store import promo_codes as store

    real = store.advance_batch
    calls = []

    def failing(session, batch_id, **kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(session, batch_id, **kwargs)

    monkeypatch.setattr(store, "advance_batch", failing)
    started = []
    with pytest.raises(RuntimeError, match="power cut"):
        generate_codes(
            database=db,
            keys=keys,
            campaign="spring",
            operator="t",
            count=4_000,
            chunk_size=1_000,
            on_batch=started.append,
        )
    batch_id = started[0].id
    assert batch_codes(db, batch_id) == 2_000
    monkeypatch.setattr(store, "advance_batch", real)
    result, _ = generate(db, keys, batch_id=batch_id, chunk_size=1_000)
    assert result.count == batch_codes(db, batch_id) == 4_000


def test_options_given_again_must_match_the_batch(db, keys, campaigns):
    result, _ = generate(db, keys, count=10, length=8)
    with pytest.raises(errors.UsageProblem, match="started with length 8") as changed:
        generate(db, keys, batch_id=result.batch_id, length=10)
    assert changed.value.data["arguments"] == ["length"]
    with pytest.raises(errors.UnknownBatch):
        generate(db, keys, batch_id="BNOSUCHBATCH")
    with pytest.raises(errors.UnknownBatch):
        generate(db, keys, campaign="autumn", batch_id=result.batch_id)
    with pytest.raises(errors.UsageProblem, match="count is required") as missing:
        generate(db, keys)
    assert missing.value.data["arguments"] == ["count", "batch_id"]


def test_taken_codes_are_replaced_so_the_batch_still_reaches_its_count(
    db, keys, campaigns, monkeypatch
):
    """A random source that repeats itself: codes repeat within a chunk, across chunks
    and across campaigns; the batch is still filled, with no duplicate."""
    from loyaltyctl.store import promo_codes as store

    rng = random.Random(7)
    # two symbols only ("0" and "1"): 2**10 = 1,024 possible codes of length 10
    monkeypatch.setattr(promo_codes, "random_bytes", lambda n: bytes(rng.choices((0, 1), k=n)))
    real, skipped = store.insert_codes, []

    def insert_codes(session, **kwargs):
        taken = real(session, **kwargs)
        skipped.append(len(taken))
        return taken

    monkeypatch.setattr(store, "insert_codes", insert_codes)
    first, first_codes = generate(db, keys, campaign="autumn", count=300, chunk_size=100)
    second, second_codes = generate(db, keys, campaign="spring", count=500, chunk_size=100)
    assert len(set(first_codes)) == 300 and len(set(second_codes)) == 500
    assert not set(first_codes) & set(second_codes)
    assert batch_codes(db, first.batch_id) == 300
    assert batch_codes(db, second.batch_id) == 500
    assert scalar(db, select(PromoBatch.generated).where(PromoBatch.id == second.batch_id)) == 500
    assert sum(skipped) > 100  # the database turned away many taken codes


def test_a_source_that_only_repeats_fails_the_chunk_instead_of_looping(
    db, keys, campaigns, monkeypatch
):
    monkeypatch.setattr(promo_codes, "random_bytes", lambda n: bytes(n))  # always 0000000000
    generate(db, keys, count=1)
    with pytest.raises(RuntimeError, match="repeating"):
        generate(db, keys, count=1)


# --- the guessing bound --------------------------------------------------------------


def test_a_batch_that_would_make_guessing_too_easy_is_refused_with_the_numbers(db, keys, campaigns):
    most = max_live_codes(6)
    assert most == 1_073
    with pytest.raises(errors.TooManyCodes) as refused:
        generate(db, keys, count=most + 1, length=6)
    assert refused.value.data == {
        "count": 1_074,
        "length": 6,
        "live": 0,
        "max_live": 1_073,
        "suggested_length": 7,
    }
    assert "1,074" in refused.value.message and "1,073" in refused.value.message
    assert scalar(db, select(func.count()).select_from(PromoBatch)) == 0
    assert scalar(db, select(func.count()).select_from(PromoCode)) == 1  # the shared code


def test_live_codes_of_that_length_count_and_used_up_ones_do_not(db, keys, campaigns):
    generate(db, keys, count=1_000, length=6)
    generate(db, keys, campaign="autumn", count=1_000, length=6)  # another campaign's own bound
    with pytest.raises(errors.TooManyCodes) as refused:
        generate(db, keys, count=100, length=6)
    assert (refused.value.data["live"], refused.value.data["max_live"]) == (1_000, 1_073)
    generate(db, keys, count=100, length=7)  # another length has its own room
    with db.transaction() as s:
        s.execute(
            text(
                "UPDATE promo_code SET uses = uses_allowed WHERE id IN (SELECT id FROM "
                "promo_code WHERE batch_id IS NOT NULL ORDER BY id LIMIT 500)"
            )
        )
    result, _ = generate(db, keys, count=73 + 500, length=6)
    assert result.count == 573


def test_an_unfinished_batch_counts_with_all_it_asked_for(db, keys, campaigns):
    started = []

    def stop(_batch, _codes):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_codes(
            database=db,
            keys=keys,
            campaign="spring",
            operator="t",
            count=1_000,
            length=6,
            chunk_size=100,
            on_batch=started.append,
            on_chunk=stop,
        )
    with pytest.raises(errors.TooManyCodes) as refused:
        generate(db, keys, count=100, length=6)
    assert refused.value.data["live"] == 1_000


# --- campaigns -----------------------------------------------------------------------


def test_an_archived_campaign_gets_no_codes(db, keys, campaigns):
    db.run(lambda s: set_campaign_status(session=s, slug="spring", status="archived", operator="t"))
    with pytest.raises(errors.CampaignArchived):
        generate(db, keys, count=10)
    assert scalar(db, select(func.count()).select_from(PromoBatch)) == 0


def test_an_unknown_campaign_suggests_a_close_one(db, keys, campaigns):
    with pytest.raises(errors.UnknownCampaign, match="sprig") as unknown:
        generate(db, keys, campaign="sprig", count=10)
    assert unknown.value.data == {"campaign": "sprig", "candidates": ["spring"]}


# --- export ---------------------------------------------------------------------------


def test_export_gives_back_every_code_with_uses_and_status(db, keys, campaigns):
    first, first_codes = generate(db, keys, count=1_200)
    second, second_codes = generate(db, keys, count=30, uses_per_code=2)
    generate(db, keys, campaign="autumn", count=5)
    with db.transaction() as s:
        s.execute(text(f"UPDATE promo_code SET uses = 1 WHERE batch_id = '{second.batch_id}'"))
        s.execute(
            text(
                "UPDATE promo_code SET uses = 1 WHERE id = (SELECT MIN(id) FROM promo_code "
                f"WHERE batch_id = '{first.batch_id}')"
            )
        )

    result, rows = export(db, keys)
    assert (result.count, result.available, result.used_up) == (1 + 1_200 + 30, 1_230, 1)
    shared = [r for r in rows if r.batch_id is None]
    assert [(r.code, r.uses_allowed, r.status) for r in shared] == [("SPRING25", 10, "available")]
    generated = [r for r in rows if r.batch_id is not None]
    assert all(DISPLAY.match(r.code) for r in generated)
    assert [normalize(r.code) for r in generated] == first_codes + second_codes  # made order
    assert generated[0].status == "used_up" and generated[0].uses == 1
    assert {(r.uses, r.uses_allowed, r.status) for r in generated[1_200:]} == {(1, 2, "available")}

    result, rows = export(db, keys, batch_id=second.batch_id)
    assert (result.batch_id, result.count) == (second.batch_id, 30)
    assert {r.batch_id for r in rows} == {second.batch_id}

    with pytest.raises(errors.UnknownBatch):
        export(db, keys, campaign="autumn", batch_id=second.batch_id)


def test_keys_rotate_reencrypts_generated_and_shared_codes(db, keys, campaigns, run):
    from loyaltyctl.services.secrets import reencrypt_secrets

    result, codes = generate(db, keys, count=1_100)  # more than one page of 1,000
    ring = keys.with_new_primary()
    count = run(reencrypt_secrets, keys=ring, operator="t")
    assert count >= 1_101  # every generated code and the shared one
    with db.transaction(write=False) as s:
        sealed = s.execute(select(PromoCode.code_enc)).scalars().all()
    assert sealed and all(s.startswith(ring.primary + ":") for s in sealed)
    _, rows = export(db, ring, batch_id=result.batch_id)
    assert [normalize(r.code) for r in rows] == codes
    assert run(reencrypt_secrets, keys=ring, operator="t") == 0  # nothing left to move
