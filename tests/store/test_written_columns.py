"""Column names the bulk paths write by name, without loading the table definitions
(`points import` and `events ingest` run on the driver alone): they must be the tables'."""

from __future__ import annotations

from loyaltyctl.store import driver, ledger
from loyaltyctl.store.tables import LedgerEntry, Member, PointLot, SQLModel, UtcDateTime


def test_entry_and_lot_columns_are_the_tables_in_their_order():
    assert tuple(c.name for c in LedgerEntry.__table__.columns) == ledger.ENTRY_COLUMNS
    assert tuple(c.name for c in PointLot.__table__.columns) == ledger.LOT_COLUMNS


def test_state_columns_are_member_columns():
    assert set(ledger.STATE_COLUMNS) <= set(Member.__table__.columns.keys())


def test_timestamp_columns_are_every_table_timestamp_column():
    in_tables = {
        c.name
        for t in SQLModel.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, UtcDateTime)
    }
    assert in_tables == driver.TIMESTAMP_COLUMNS
