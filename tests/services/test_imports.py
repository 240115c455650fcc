from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.services import imports, ledger
from loyaltyctl.services.imports import import_members, import_points
from loyaltyctl.services.members import find_members, list_members

UTC = ZoneInfo("UTC")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def points(run, path, **kw):
    return run(import_points, path=path, operator="bulk", tz=UTC, **kw)


def balances(run, *ids):
    return [run(ledger.balance, member=i).balance for i in ids]


def test_points_file_applies_credits_and_write_offs_in_order(run, member, tmp_path):
    member("A")
    member("B")
    f = write(tmp_path, "p.csv", "member,amount,reason\nA,100,x\nA,-30,y\nB,5,z\n")
    result = points(run, f)
    assert (result.rows, result.applied, result.replayed, result.derived_keys) == (3, 3, 0, True)
    assert balances(run, "A", "B") == [70, 5]


def test_rerunning_a_file_applies_nothing_and_appended_rows_apply_once(run, member, tmp_path):
    member("A")
    body = "member,amount,reason\nA,10,same\nA,10,same\n"
    f = write(tmp_path, "p.csv", body)
    assert points(run, f).applied == 2  # identical rows in one file each count
    again = points(run, f)
    assert (again.applied, again.replayed) == (0, 2)
    f.write_text(body + "A,10,same\nA,1,new\n")
    more = points(run, f)
    assert (more.applied, more.replayed) == (2, 2)
    assert balances(run, "A") == [31]


def test_a_bad_file_names_every_bad_row_and_changes_nothing(run, member, tmp_path):
    member("A", phone="555 0100")
    f = write(
        tmp_path,
        "p.csv",
        "member,amount,reason,expires_at\n"
        "A,100,fine,\n"
        "A,1.5,decimal,\n"
        "NOPE,5,unknown member,\n"
        "A,5,,\n"
        "A,5,bad date,2026-13-01\n"
        "A,-500,too much,\n"
        "A,0,zero,\n",
    )
    with pytest.raises(BadInputFile) as info:
        points(run, f)
    found = {(p.line, p.field) for p in info.value.problems}
    assert found == {
        (3, "amount"),
        (4, "member"),
        (5, "reason"),
        (6, "expires_at"),
        (7, "amount"),
        (8, "amount"),
    }
    assert balances(run, "A") == [0]
    assert run(ledger.history, member="A") == []


def test_header_problems_are_reported_at_once(run, tmp_path):
    f = write(tmp_path, "p.csv", "member,amout,reason\nA,1,x\n")
    with pytest.raises(BadInputFile) as info:
        points(run, f)
    assert {(p.line, p.field) for p in info.value.problems} == {(1, "amount"), (1, "amout")}


def test_explicit_keys_replay_and_conflict(run, member, tmp_path):
    member("A")
    run(ledger.change_points, member="A", amount=10, reason="x", operator="o", key="k1")
    ok = write(tmp_path, "ok.csv", "member,amount,reason,key\nA,10,x,k1\nA,5,y,k2\nA,5,y,k2\n")
    result = points(run, ok)
    assert (result.applied, result.replayed) == (1, 2)
    bad = write(tmp_path, "bad.csv", "member,amount,reason,key\nA,11,x,k1\nA,1,z,k3\nA,2,z,k3\n")
    with pytest.raises(BadInputFile) as info:
        points(run, bad)
    assert {(p.line, p.field) for p in info.value.problems} == {(2, "key"), (4, "key")}
    assert [p.message for p in info.value.problems] == [
        "the key 'k1' was used for a different change",  # by an earlier command
        "the key 'k3' was used for a different change",  # by an earlier row of the file
    ]
    assert balances(run, "A") == [15]


def test_keys_of_a_file_are_checked_across_chunks(run, member, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    member("A")
    f = write(
        tmp_path,
        "p.csv",
        "member,amount,reason,key\nA,1,x,k1\nA,2,x,k2\nA,1,x,k1\nA,3,x,k3\nA,9,x,k2\n",
    )
    with pytest.raises(BadInputFile) as info:
        points(run, f)
    assert [(p.line, p.message) for p in info.value.problems] == [
        (6, "the key 'k2' was used for a different change")
    ]
    f.write_text("member,amount,reason,key\nA,1,x,k1\nA,2,x,k2\nA,1,x,k1\nA,3,x,k3\n")
    result = points(run, f)
    assert (result.applied, result.replayed) == (3, 1)
    assert balances(run, "A") == [6]


def test_members_forgotten_to_bound_memory_are_read_again_as_left(
    run, member, tmp_path, monkeypatch
):
    """With room for one member at a time, every chunk forgets the members it moved
    (written back first); a member met again is read back with its figures, its chain
    and its expiring lots, and a write-off still spends the soonest-expiring lot."""
    from loyaltyctl.services.audit import verify

    monkeypatch.setattr(imports, "CHUNK", 2)
    monkeypatch.setattr(imports, "MAX_MEMBERS_HELD", 1)
    member("A")
    member("B")
    f = write(
        tmp_path,
        "p.csv",
        "member,amount,reason,expires_at\n"
        "A,100,soon,2099-01-01\n"
        "B,50,x,\n"
        "A,40,later,2099-06-01\n"
        "B,-20,y,\n"
        "A,-120,spend,\n"
        "B,7,z,\n"
        "A,5,again,\n",
    )
    result = points(run, f)
    assert (result.applied, result.replayed) == (7, 0)
    assert balances(run, "A", "B") == [25, 37]
    assert [e.balance_after for e in reversed(run(ledger.history, member="A"))] == [
        100,
        140,
        20,
        25,
    ]
    expiring = run(ledger.balance, member="A", soon_days=365 * 100).expiring
    assert [(p.amount, p.expires_at.year) for p in expiring] == [(20, 2099)]  # of the later lot
    assert run(verify).ok
    assert points(run, f).replayed == 7


def test_write_offs_spend_lots_made_earlier_in_the_file_whether_held_or_not(
    run, member, tmp_path, monkeypatch
):
    """A member's lots are held in memory only once it writes off: A's expiring credits
    of the first chunk are written, not held, and its write-off in the second chunk
    reads them back; B's credit joins the lots B holds since its write-off in the same
    chunk. Both spend the soonest-expiring lot first."""
    from loyaltyctl.services.audit import verify

    monkeypatch.setattr(imports, "CHUNK", 3)
    member("A")
    member("B")
    f = write(
        tmp_path,
        "p.csv",
        "member,amount,reason,expires_at\n"
        "A,100,later,2099-06-01\n"
        "A,40,soon,2099-01-01\n"
        "B,10,x,\n"
        "B,-5,y,\n"
        "B,30,soon,2098-01-01\n"
        "A,-50,spend,\n"
        "B,-20,spend,\n",
    )
    assert points(run, f).applied == 7
    assert balances(run, "A", "B") == [90, 15]

    def lots(who):
        expiring = run(ledger.balance, member=who, soon_days=365 * 100).expiring
        return [(p.amount, p.expires_at.year) for p in expiring]

    assert lots("A") == [(90, 2099)]  # the soon lot (40) spent first, then 10 of the later
    assert lots("B") == [(10, 2098)]  # 20 of its expiring 30 spent before the lasting 5
    assert run(verify).ok


def test_dry_run_reports_the_outcome_and_rolls_back(db, member, tmp_path):
    member("A")
    f = write(tmp_path, "p.csv", "member,amount,reason\nA,10,x\n")
    result = db.run(
        lambda s: import_points(session=s, path=f, operator="o", tz=UTC, dry_run=True),
        rollback=True,
    )
    assert (result.applied, result.dry_run) == (1, True)
    assert db.run(lambda s: ledger.balance(session=s, member="A")).balance == 0


def test_expiring_and_pending_rows_make_lots(run, member, tmp_path):
    member("A")
    f = write(
        tmp_path,
        "p.csv",
        "member,amount,reason,expires_at,pending_until\nA,10,x,2099-01-01,\nA,7,y,,2099-01-01\n",
    )
    points(run, f)
    bal = run(ledger.balance, member="A", soon_days=365 * 100)
    assert (bal.balance, bal.pending) == (10, 7)
    assert [e.amount for e in bal.expiring] == [10]


def test_member_import_creates_updates_and_reports_unchanged(run, tmp_path):
    header = "external_id,name,phone,email,birthday,tier,groups,tags\n"
    f = write(
        tmp_path,
        "m.csv",
        header + "C-1,Ada,+44 20 7946 0321,ADA@example.org,1815-12-10,gold,chess;students,vip\n"
        "C-2,Alan,,,06-23,,,\n",
    )
    first = run(import_members, path=f, operator="o")
    assert (first.created, first.updated, first.replayed) == (2, 0, 0)
    again = run(import_members, path=f, operator="o")
    assert (again.applied, again.replayed) == (0, 2)
    f.write_text(header + "C-1,Ada King,,,,,chess,\nC-2,Alan,,,,,,\n")
    third = run(import_members, path=f, operator="o")
    assert (third.updated, third.replayed) == (1, 1)
    ada = run(find_members, query="0321")[0]
    assert (ada.name, ada.email, ada.groups, ada.tags) == (
        "Ada King",
        "ada@example.org",
        ("chess",),
        ("vip",),
    )
    assert [m.external_id for m in run(list_members, group="chess")] == ["C-1"]


def test_member_import_bad_rows_are_all_named(run, tmp_path):
    f = write(
        tmp_path,
        "m.csv",
        "external_id,name,email,birthday\nC-1,Ada,not-an-email,\nC-2,,,\nC-3,X,,1990-02-30\n"
        "C-1,Again,,\n",
    )
    with pytest.raises(BadInputFile) as info:
        run(import_members, path=f, operator="o")
    assert {(p.line, p.field) for p in info.value.problems} == {
        (2, "email"),
        (3, "name"),
        (4, "birthday"),
        (5, "external_id"),
    }
    assert run(list_members) == []


def test_a_write_off_in_a_file_spends_lots_credited_earlier_in_the_same_file(
    run, member, db, tmp_path
):
    from datetime import UTC, datetime

    from loyaltyctl.services.maintenance import maintain

    member("A")
    run(
        ledger.change_points,
        member="A",
        amount=20,
        reason="old",
        operator="o",
        expires_at=datetime(2099, 6, 1, tzinfo=UTC),
    )
    f = write(
        tmp_path,
        "p.csv",
        "member,amount,reason,expires_at\nA,100,x,2099-01-01\nA,30,never,\nA,-50,y,\n"
        "A,40,z,2098-01-01\nA,-45,w,\n",
    )
    points(run, f)
    bal = run(ledger.balance, member="A", soon_days=365 * 100)
    # -50 took 50 of the 2099-01-01 lot; -45 took the 40 of 2098 first, then 5 more
    assert [(e.amount, e.expires_at.year) for e in bal.expiring] == [(45, 2099), (20, 2099)]
    assert bal.balance == 95
    result = maintain(db=db, now=datetime(2100, 1, 1, tzinfo=UTC), operator="cron")
    assert result.expired_points == 65
    assert run(ledger.balance, member="A").balance == 30
