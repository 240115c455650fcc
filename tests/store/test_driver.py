"""The driver's vocabulary, on both backends: statements written once with ``{p}`` and
``{in_list}``, row locks, timestamps both ways, the bulk paths and reserved ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from loyaltyctl.store import driver
from loyaltyctl.store.tables import Campaign, JobLock, LedgerSummary, PromoCode

MOMENT = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)


def summary_rows(session, count: int) -> None:
    driver.run_many(
        session,
        "INSERT INTO ledger_summary (shard, kind, points, entries) VALUES ({p}, {p}, {p}, {p})",
        [(shard, "credit", shard * 10, 1) for shard in range(count)],
    )


def campaign(session) -> int:
    return driver.insert_row(
        session,
        "campaign",
        {
            "slug": "spring",
            "name": "Spring",
            "points": 0,
            "perks": "[]",
            "audience": "{}",
            "status": "active",
            "redemptions": 0,
            "points_granted": 0,
            "created_at": MOMENT,
            "updated_at": MOMENT,
        },
        returning_id=True,
    )


def test_run_fills_the_placeholders_and_counts_the_rows_changed(db):
    with db.transaction() as s:
        summary_rows(s, 3)
        assert (
            driver.run(s, "UPDATE ledger_summary SET points = {p} WHERE shard < {p}", (7, 2)) == 2
        )
        assert driver.run(s, "UPDATE ledger_summary SET points = 1 WHERE shard = {p}", (99,)) == 0
        points = s.execute(select(LedgerSummary.points).order_by(LedgerSummary.shard)).scalars()
        assert list(points) == [7, 7, 20]


def test_run_many_counts_the_rows_changed_by_every_parameter_row(db):
    with db.transaction() as s:
        summary_rows(s, 4)
        changed = driver.run_many(
            s,
            "UPDATE ledger_summary SET entries = entries + {p} WHERE shard = {p} AND points >= {p}",
            [(1, 0, 0), (1, 1, 0), (1, 2, 1_000), (1, 3, 0)],
        )
        assert changed == 3
        entries = s.execute(select(LedgerSummary.entries).order_by(LedgerSummary.shard)).scalars()
        assert list(entries) == [2, 2, 1, 2]


UPDATE_SUMMARY_SQL = (
    "UPDATE ledger_summary SET entries = entries + {v.add}, points = {v.new_points} {values} "
    "WHERE shard = {v.which} AND points >= {v.floor} AND entries + {v.add} >= 0"
)
UPDATE_SUMMARY_VALUES = (
    ("add", "bigint"),
    ("new_points", "bigint"),
    ("which", "integer"),
    ("floor", "bigint"),
)


@pytest.mark.parametrize("count", [4, driver.UPDATE_FROM_ARRAYS_ROWS + 5])
def test_update_many_counts_the_rows_changed_and_names_values_more_than_once(db, count):
    # a few rows go as one statement each, more (PostgreSQL) as one UPDATE ... FROM arrays
    with db.transaction() as s:
        summary_rows(s, count)  # shard n: points 10n, entries 1
        rows = [(2, 5 + shard, shard, 0) for shard in range(count)]
        rows[1] = (2, 99, 1, 1_000)  # its points are below the floor: not changed
        rows[2] = (-5, 99, 2, 0)  # its entries would go below zero: not changed
        assert driver.update_many(s, UPDATE_SUMMARY_SQL, UPDATE_SUMMARY_VALUES, rows) == count - 2
        found = s.execute(
            select(LedgerSummary.entries, LedgerSummary.points).order_by(LedgerSummary.shard)
        ).all()
        expected = [(3, 5 + shard) for shard in range(count)]
        expected[1], expected[2] = (1, 10), (1, 20)
        assert [tuple(r) for r in found] == expected
        assert driver.update_many(s, UPDATE_SUMMARY_SQL, UPDATE_SUMMARY_VALUES, []) == 0


def test_select_in_reads_lists_longer_than_a_statement_takes(db):
    count = driver.IN_LIST_CHUNK * 2 + 7
    with db.transaction() as s:
        summary_rows(s, count)
        wanted = list(range(0, count + 50, 3))  # some absent
        rows = list(
            driver.select_in(
                s, "SELECT shard, points FROM ledger_summary WHERE shard {in_list}", wanted
            )
        )
        assert sorted(rows) == [(shard, shard * 10) for shard in wanted if shard < count]
        as_tuple = driver.select_in(
            s, "SELECT shard FROM ledger_summary WHERE kind = 'credit' AND shard {in_list}", (1, 2)
        )
        assert sorted(as_tuple) == [(1,), (2,)]
        assert (
            list(driver.select_in(s, "SELECT shard FROM ledger_summary WHERE shard {in_list}", []))
            == []
        )


def other_writer_waits(db, sql: str) -> bool:
    """Whether ``sql`` in a second connection waits for a lock (PostgreSQL)."""
    other = db.engine.connect()
    try:
        other.execute(text("SET lock_timeout = '200ms'"))
        other.execute(text(sql))
    except OperationalError as exc:
        assert "lock timeout" in str(exc)
        return True
    finally:
        other.rollback()
        other.close()
    return False


@pytest.mark.parametrize("lock", [True, False])
def test_select_in_locks_the_rows_on_postgresql_when_asked(db, lock):
    with db.transaction() as s:
        summary_rows(s, 3)
    with db.transaction() as s:
        sql = "SELECT shard FROM ledger_summary WHERE shard {in_list} ORDER BY shard"
        assert list(driver.select_in(s, sql, [0, 1], lock=lock)) == [(0,), (1,)]
        if not db.is_sqlite:  # SQLite: the write lock is held since BEGIN IMMEDIATE
            update = "UPDATE ledger_summary SET points = 0 WHERE shard = {}"
            assert other_writer_waits(db, update.format(1)) is lock
            assert not other_writer_waits(db, update.format(2))


def test_timestamps_given_to_the_driver_are_stored_as_the_orm_stores_them(db):
    elsewhere = MOMENT.astimezone(timezone(timedelta(hours=-5)))
    with db.transaction() as s:
        changed = driver.run(
            s,
            "UPDATE job_lock SET holder = {p}, expires_at = {p} WHERE name = {p}",
            ("me", driver.stamp(s, elsewhere), "maintain"),
        )
        assert changed == 1
        assert driver.stamp(s, None) is None
        to_driver = driver.stamper(s)
        assert to_driver(None) is None
        # the database compares them with what it holds
        sql = "SELECT name FROM job_lock WHERE expires_at {in_list}"
        assert list(driver.select_in(s, sql, [to_driver(MOMENT)])) == [("maintain",)]
    with db.transaction() as s:
        assert s.execute(select(JobLock.expires_at)).scalar_one() == MOMENT


def test_timestamps_read_through_the_driver_become_aware_datetimes(db):
    with db.transaction() as s:
        s.execute(update(JobLock).where(JobLock.name == "maintain").values(expires_at=MOMENT))
        sql = "SELECT expires_at FROM job_lock WHERE name {in_list}"
        ((stored,),) = driver.select_in(s, sql, ["maintain"])
        read = driver.stamp_reader(s)
        assert isinstance(stored, str) is (read is not None)
        moment = stored if read is None else read(stored)
        assert moment == MOMENT and moment.utcoffset() == timedelta(0)


def test_insert_row_and_bulk_insert_convert_timestamps(db):
    with db.transaction() as s:
        campaign_id = campaign(s)
        driver.bulk_insert(
            s,
            "promo_code",
            ("campaign_id", "code_hash", "code_enc", "uses", "created_at"),
            [
                {
                    "campaign_id": campaign_id,
                    "code_hash": f"h{i}",
                    "code_enc": "e",
                    "uses": 0,
                    "created_at": MOMENT + timedelta(seconds=i),
                }
                for i in range(3)
            ],
        )
    with db.transaction() as s:
        assert s.execute(select(Campaign.created_at)).scalar_one() == MOMENT
        stamps = s.execute(select(PromoCode.created_at).order_by(PromoCode.code_hash)).scalars()
        assert list(stamps) == [MOMENT + timedelta(seconds=i) for i in range(3)]


def test_bulk_insert_new_skips_taken_keys_and_says_which(db):
    with db.transaction() as s:
        campaign_id = campaign(s)
        same = {
            "campaign_id": campaign_id,
            "batch_id": "B1",
            "uses_allowed": None,
            "uses": 0,
            "created_at": MOMENT,
        }
        first = driver.bulk_insert_new(
            s, "promo_code", ("code_hash", "code_enc"), [("a", "ea"), ("b", "eb")], same=same
        )
        assert first == set()
        # again in the same transaction (PostgreSQL reuses its temporary table)
        again = driver.bulk_insert_new(
            s,
            "promo_code",
            ("code_hash", "code_enc"),
            [("b", "x"), ("c", "ec"), ("a", "x")],
            same={**same, "uses_allowed": 3},
        )
        assert again == {"a", "b"}
        assert (
            driver.bulk_insert_new(s, "promo_code", ("code_hash", "code_enc"), [], same=same)
            == set()
        )
    with db.transaction() as s:
        rows = s.execute(
            select(
                PromoCode.code_hash,
                PromoCode.code_enc,
                PromoCode.batch_id,
                PromoCode.uses_allowed,
                PromoCode.created_at,
            ).order_by(PromoCode.code_hash)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("a", "ea", "B1", None, MOMENT),
            ("b", "eb", "B1", None, MOMENT),
            ("c", "ec", "B1", 3, MOMENT),
        ]


def test_bulk_insert_new_takes_values_copy_must_escape(db):
    awkward = [("k1", "tab\there"), ("k2", "back\\slash"), ("k3", "line\nbreak")]
    with db.transaction() as s:
        campaign_id = campaign(s)
        same = {
            "campaign_id": campaign_id,
            "batch_id": None,
            "uses_allowed": 1,
            "uses": 0,
            "created_at": MOMENT,
        }
        assert (
            driver.bulk_insert_new(s, "promo_code", ("code_hash", "code_enc"), awkward, same=same)
            == set()
        )
    with db.transaction() as s:
        rows = s.execute(
            select(PromoCode.code_hash, PromoCode.code_enc).order_by(PromoCode.code_hash)
        )
        assert [tuple(r) for r in rows] == awkward


def test_reserved_ids_are_never_handed_out_twice(db):
    with db.transaction() as s:
        first = driver.reserve_ids(s, "ledger_entry", 3)
        block = driver.IdBlock(s, "ledger_entry", size=2)
        taken = [block.take() for _ in range(5)]
        assert driver.reserve_ids(s, "ledger_entry", 0) == []
        ids = first + taken
        assert len(set(ids)) == len(ids) == 8
        assert first == sorted(first) and taken == sorted(taken)


def test_prepare_bulk_keeps_the_transaction_usable(db):
    with db.transaction() as s:
        driver.prepare_bulk(s)
        summary_rows(s, 1)
        if not db.is_sqlite:
            assert s.execute(text("SHOW enable_seqscan")).scalar_one() == "off"
    if not db.is_sqlite:
        with db.transaction() as s:  # for that transaction only
            assert s.execute(text("SHOW enable_seqscan")).scalar_one() == "on"
