import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from loyaltyctl.services import ledger
from loyaltyctl.services.audit import audit_log, verify
from loyaltyctl.services.members import MemberFields, update_member
from loyaltyctl.store.tables import AuditEvent, LedgerEntry, Member


def program(run, member):
    member("C-1")
    member("C-2")
    for who, amount in (("C-1", 100), ("C-2", 50), ("C-1", -30), ("C-2", 20)):
        run(ledger.change_points, member=who, amount=amount, reason="r", operator="op")
    run(update_member, external_id="C-1", fields=MemberFields(email="a@example.org"), operator="op")


def check(run):
    return run(verify)


def test_an_untouched_program_verifies(run, member):
    program(run, member)
    result = check(run)
    assert result.ok, result.problems
    assert (result.ledger_entries, result.members) == (4, 2)
    assert result.audit_events == 3  # two adds and one update


def test_the_database_refuses_to_change_ledger_entries_and_audit_events(run, member, db):
    program(run, member)
    for statement in (
        update(LedgerEntry).values(amount=1),
        delete(LedgerEntry),
        update(AuditEvent).values(operator="x"),
        delete(AuditEvent),
    ):
        with pytest.raises(DBAPIError), db.transaction() as s:
            s.execute(statement)
    assert check(run).ok


def test_an_altered_amount_is_named(run, member, tamper):
    program(run, member)
    tamper("UPDATE ledger_entry SET amount = -3 WHERE id = 3")
    result = check(run)
    assert not result.ok
    assert result.problems[0].startswith("ledger entry 3 ")
    assert "altered" in result.problems[0]


def test_a_removed_last_entry_is_noticed(run, member, tamper):
    program(run, member)
    tamper("DELETE FROM ledger_entry WHERE id = 4")
    result = check(run)
    assert not result.ok
    assert any("member C-2" in p for p in result.problems)


def test_a_balance_changed_behind_the_tools_back_is_noticed(run, member, db):
    program(run, member)
    with db.transaction() as s:
        s.execute(update(Member).where(Member.external_id == "C-1").values(balance=1000))
    problems = check(run).problems
    assert any("member C-1: balance is 1000, its ledger sums to 70" in p for p in problems)


def test_an_altered_audit_event_is_noticed(run, member, tamper):
    program(run, member)
    tamper("UPDATE audit_event SET operator = 'mallory' WHERE seq = 2")
    problems = check(run).problems
    assert problems and "audit event" in problems[0] and "member:C-1" in problems[0]


def test_a_removed_audit_event_is_noticed(run, member, tamper):
    program(run, member)
    tamper("DELETE FROM audit_event WHERE seq = 2")
    assert any("audit chain member:C-1" in p for p in check(run).problems)


def test_log_lists_changes_with_operator_and_reason(run, member):
    program(run, member)
    records = run(audit_log, operator="op")
    actions = [r.action for r in records]
    assert "member.update" in actions and actions.count("points.credit") == 3
    assert all(r.operator == "op" for r in records)
    write_off = next(r for r in records if r.action == "points.write_off")
    assert (write_off.subject, write_off.amount, write_off.reason) == ("member:C-1", -30, "r")
