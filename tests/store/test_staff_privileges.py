"""The map of what each staff role may write on PostgreSQL (store/staff_privileges.py):
every table of the schema has its entry, and every column, policy and guard it names
exists. A new table is one line in WRITES."""

from __future__ import annotations

from loyaltyctl.store.staff_privileges import (
    EVERY_COLUMN,
    MOVES_BACK,
    POLICIES,
    WRITES,
)
from loyaltyctl.store.tables import metadata


def test_every_table_has_an_entry():
    missing = sorted(set(metadata.tables) - set(WRITES))
    assert missing == [], f"add these tables to WRITES in store/staff_privileges.py: {missing}"


def test_every_named_column_policy_and_guard_is_of_a_real_table():
    tables = dict(metadata.tables)
    for name, (manager, administrator) in WRITES.items():
        if name == "alembic_version":
            continue
        columns = {c.name for c in tables[name].columns}
        for writes in (manager, administrator):
            if writes.update != EVERY_COLUMN:
                assert set(writes.update) <= columns, (name, set(writes.update) - columns)
    assert {p.table for p in POLICIES} <= set(tables)
    assert set(MOVES_BACK) <= set(tables)


def test_administrators_never_write_the_program_the_staff_or_the_settings():
    for name in ("perk", "campaign", "earning_rule", "tier", "staff", "program_setting"):
        administrator = WRITES[name][1]
        assert not administrator.insert and not administrator.delete, name
        assert "value_enc" not in administrator.update and "price" not in administrator.update
    for name in ("staff", "program_setting", "alembic_version"):
        manager = WRITES[name][0]
        assert not (manager.insert or manager.update or manager.delete), name


def test_the_ledger_and_the_audit_log_are_append_only_for_both():
    for name in ("ledger_entry", "audit_event"):
        for writes in WRITES[name]:
            assert writes.insert and not writes.delete, name
    assert not any(writes.update for writes in WRITES["ledger_entry"])
    # `member forget` (a manager's) redacts audit events' details: the trigger lets
    # exactly a recorded redaction through (tests/proofs/test_forget_cli.py)
    manager, administrator = WRITES["audit_event"]
    assert manager.update == ("details",) and not administrator.update
