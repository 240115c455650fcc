from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from loyaltyctl.domain.values import utcnow
from loyaltyctl.services import audit, ledger
from loyaltyctl.services.audit import MAX_PROBLEMS, audit_chains, audit_log, ledger_chains, verify
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


def test_each_check_names_every_problem_it_finds(run, member, tamper, db):
    program(run, member)
    tamper(
        "UPDATE ledger_entry SET reason = 'x' WHERE id IN (1, 2)",
        "UPDATE audit_event SET operator = 'mallory'",
    )
    with db.transaction() as s:
        ledger = list(ledger_chains(s))
        events = list(audit_chains(s))
    assert [p.split(":")[0] for p in ledger] == [
        "ledger entry 1 (member C-1, #1)",
        "ledger entry 2 (member C-2, #1)",
    ]
    assert len(events) == 3 and all("(altered)" in p for p in events)
    result = check(run)
    assert result.problems == tuple(ledger + events)  # in the order of CHECKS


def test_lots_holding_other_points_than_the_member_row_are_named(run, member, tamper):
    member("C-1")
    soon = utcnow() + timedelta(days=30)
    run(ledger.change_points, member="C-1", amount=40, reason="r", operator="op", expires_at=soon)
    run(
        ledger.change_points,
        member="C-1",
        amount=25,
        reason="r",
        operator="op",
        pending_until=soon,
    )
    assert check(run).ok
    tamper("UPDATE point_lot SET amount = amount + 100, remaining = remaining + 100")
    assert check(run).problems == (
        "member C-1: its expiring lots hold 140 points, more than its balance 40",
        "member C-1: its pending lots hold 125 points, pending is 25",
        # and each lot no longer matches the ledger entry it came from
        "member C-1: point lot 1 does not match its ledger entry 1 (its expiry, amount or "
        "member was changed)",
        "member C-1: point lot 2 does not match its ledger entry 2 (its expiry, amount or "
        "member was changed)",
    )


def test_counters_that_disagree_with_a_recount_are_named(run, member, tamper):
    program(run, member)
    tamper("UPDATE ledger_summary SET points = points + 1 WHERE kind = 'credit' AND shard = 1")
    problems = check(run).problems
    assert problems == ("ledger summary of credit: 171 points kept, the ledger sums to 170",)


def test_a_result_names_the_first_problems_and_still_counts_everything(run, member, tamper):
    for n in range(MAX_PROBLEMS + 5):
        member(f"C-{n:02}")
        run(ledger.change_points, member=f"C-{n:02}", amount=5, reason="r", operator="op")
    tamper("UPDATE ledger_entry SET amount = 6")
    result = check(run)
    assert not result.ok and len(result.problems) == MAX_PROBLEMS
    assert result.problems[0].startswith("ledger entry 1 (member C-00, #1)")
    entries, members = MAX_PROBLEMS + 5, MAX_PROBLEMS + 5
    assert (result.ledger_entries, result.members, result.audit_events) == (
        entries,
        members,
        members,
    )


def test_verify_runs_every_registered_check(run, member, db, monkeypatch):
    program(run, member)
    seen = []

    def extra(session):
        seen.append(session)
        return ["coupon X: issued is 3, its rows number 2"]

    monkeypatch.setattr(audit, "CHECKS", (*audit.CHECKS, extra))
    result = check(run)
    assert result.problems == ("coupon X: issued is 3, its rows number 2",) and len(seen) == 1
