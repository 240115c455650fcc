"""`member forget MEMBER --reason TEXT` (the right to erasure), on both databases: the
member's personal data is gone (also from the file's bytes and from a `pg_dump`), the
audit events that recorded it are redacted, and `audit verify` passes, also with a
checkpoint written before the forget; a redaction changed afterwards, or one that no
`member.forget` records, is named; the append-only trigger lets nothing else through."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cli.helpers import add_member, credit, execute, flat, sql_engine
from tests.proofs.program import state

NAME, NEW_NAME = "Zelda Quux", "Zelda Q. Quuxley"
PHONE, NEW_PHONE = "+44 20 7946 0321", "+44 20 7946 8765"
EMAIL = "zelda.quux@example.org"
BIRTHDAY = "1987-06-15"
TAG = "wheelchair-user"
PERSONAL = (NAME, NEW_NAME, "7946 0321", "79460321", "12306497", "7946 8765", "56789", EMAIL)
PERSONAL += (BIRTHDAY, TAG)
ZEROS = "0" * 64


def _zelda(cli) -> None:
    add_member(
        cli, "C-1", NAME, "--phone", PHONE, "--email", EMAIL, "--birthday", BIRTHDAY, "--tag", TAG
    )
    assert cli("member", "update", "C-1", "--name", NEW_NAME, "--phone", NEW_PHONE).exit_code == 0
    assert credit(cli, "C-1", 300, "welcome").exit_code == 0
    add_member(cli, "C-2", "Alan Turing", "--phone", "+44 161 496 0000")


def _checkpoint(cli, tmp_path) -> Path:
    path = tmp_path / "outside" / "before.json"
    path.parent.mkdir()
    assert cli("audit", "checkpoint", "--out", str(path)).exit_code == 0
    return path


def _forget(cli, member: str = "C-1", reason: str = "erasure request #17"):
    result = cli("member", "forget", member, "--reason", reason, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json


def _verify(cli, *extra: str):
    result = cli("audit", "verify", *extra, "--json")
    return result.exit_code, (result.json or {}).get("error", {}).get("problems", [])


def _rows(url: str, sql: str, params: dict | None = None) -> list:
    engine = sql_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params or {}).all()
    finally:
        engine.dispose()


def test_forget_erases_the_member_and_every_chain_still_verifies(cli, db_url, tmp_path):
    _zelda(cli)
    before = _checkpoint(cli, tmp_path)
    # what the member's events recorded carries a random salt (redacted with the values)
    salts = [
        json.loads(d)["salt"]
        for (d,) in _rows(db_url, "SELECT details FROM audit_event WHERE subject = 'member:C-1'")
    ]
    assert len(salts) == 2 and all(len(s) == 32 for s in salts)
    done = _forget(cli)
    assert done["member"] == "C-1" and len(done["redacted_events"]) == 2
    assert set(done["erased"]) == {"name", "phone", "email", "birthday", "tags"}

    assert _verify(cli) == (0, [])
    assert _verify(cli, "--checkpoint", str(before)) == (0, [])

    shown = cli("member", "show", "C-1", "--json").json
    member = shown["member"]
    assert (member["name"], member["phone"], member["email"], member["birthday"]) == (
        "", None, None, None,
    )  # fmt: skip
    assert member["tags"] == [] and member["forgotten_at"]
    assert "forgotten on" in flat(cli("member", "show", "C-1").stdout)
    # found by none of its old contacts; listings and the CSV hold nothing personal
    for query in ("0321", "8765", EMAIL, "Zelda"):
        assert cli("member", "find", query, "--json").json == [], query
    listed = cli("member", "list", "--csv").stdout
    assert "C-1,,,,,,,,,300,0" in listed and "Alan Turing" in listed
    log = cli("audit", "log", "--json").stdout
    for value in (*PERSONAL, *salts):
        assert value not in log, value

    # the points, the id and the ledger keep working
    assert credit(cli, "C-1", 20, "after the forget").json["balance"] == 320
    assert cli("points", "write-off", "C-1", "5", "--reason", "fix").exit_code == 0
    assert _verify(cli, "--checkpoint", str(before)) == (0, [])
    # a checkpoint after the forget verifies as well
    after = tmp_path / "outside" / "after.json"
    assert cli("audit", "checkpoint", "--out", str(after)).exit_code == 0
    assert _verify(cli, "--checkpoint", str(after)) == (0, [])


def test_the_old_values_are_gone_from_the_stored_bytes(cli, db_url, tmp_path):
    _zelda(cli)
    _forget(cli)
    if db_url.startswith("sqlite"):
        path = Path(db_url.split("///", 1)[1])
        wal = Path(str(path) + "-wal")
        # as the forget left it (freed space overwritten, the log emptied) ...
        stored = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        for value in PERSONAL:
            assert value.encode() not in stored, value
        # ... and after a VACUUM, the file and its log
        conn = sqlite3.connect(path)
        conn.execute("VACUUM")
        conn.close()
        stored = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert b"Alan Turing" in stored  # the check can see a name
    else:
        stored = subprocess.run(
            ["pg_dump", "--dbname", db_url], capture_output=True, check=True
        ).stdout
        assert b"Alan Turing" in stored
    for value in PERSONAL:
        assert value.encode() not in stored, value


def test_refusals_change_nothing(cli, db_url, tmp_path):
    _zelda(cli)
    _forget(cli)
    snapshot = state(db_url)
    again = cli("member", "forget", "C-1", "--reason", "again", "--json")
    assert again.exit_code == 1
    assert again.json["error"]["code"] == "member_forgotten"
    assert "already forgotten on" in again.json["error"]["message"]
    unknown = cli("member", "forget", "C-3", "--reason", "erasure")
    assert unknown.exit_code == 1 and "Did you mean" in flat(unknown.stderr)
    bad_reason = cli("member", "forget", "C-2", "--reason", "erase\x1b[2Jnow")
    assert bad_reason.exit_code == 2 and "--reason" in flat(bad_reason.stderr)
    assert cli("member", "forget", "C-2").exit_code == 2  # a reason is required
    update = cli("member", "update", "C-1", "--name", NAME, "--json")
    assert update.exit_code == 1 and update.json["error"]["code"] == "member_forgotten"
    assert state(db_url) == snapshot
    assert _rows(db_url, "SELECT name FROM member WHERE external_id = 'C-2'") == [("Alan Turing",)]
    # `member list --csv` imports back unchanged; a row that gives a name back is refused
    exported = tmp_path / "members.csv"
    exported.write_text(cli("member", "list", "--csv").stdout)
    replayed = cli("member", "import", str(exported), "--json")
    assert replayed.exit_code == 0, replayed.stderr
    assert (replayed.json["applied"], replayed.json["replayed"]) == (0, 2)
    named = tmp_path / "named.csv"
    named.write_text(f"external_id,name\nC-1,{NAME}\n")
    refused = cli("member", "import", str(named), "--json")
    assert refused.exit_code == 1 and refused.json["error"]["code"] == "member_forgotten"
    assert state(db_url) == snapshot
    assert _verify(cli) == (0, [])


def _redacted_event(url: str) -> int:
    ((event_id,),) = _rows(
        url, "SELECT id FROM audit_event WHERE subject = 'member:C-1' AND action = 'member.add'"
    )
    return event_id


def test_a_redacted_event_changed_afterwards_is_named(cli, db_url, tamper):
    _zelda(cli)
    _forget(cli)
    event_id = _redacted_event(db_url)
    tamper(f"UPDATE audit_event SET reason = 'rewritten' WHERE id = {event_id}")
    code, problems = _verify(cli)
    assert code == 1
    assert any(f"audit event {event_id} " in p and "redacted, but not as" in p for p in problems)


def test_a_redacted_events_other_details_changed_afterwards_are_named(cli, db_url, tamper):
    _zelda(cli)
    _forget(cli)
    event_id = _redacted_event(db_url)
    (details,) = _rows(db_url, f"SELECT details FROM audit_event WHERE id = {event_id}")[0]
    changed = json.dumps({**json.loads(details), "groups": ["staff"]}, sort_keys=True)
    tamper(f"UPDATE audit_event SET details = '{changed}' WHERE id = {event_id}")
    code, problems = _verify(cli)
    assert code == 1 and any("redacted, but not as" in p for p in problems), problems


def test_a_redaction_without_a_forget_record_is_named(cli, db_url, tamper):
    _zelda(cli)
    ((event_id, details),) = _rows(
        db_url,
        "SELECT id, details FROM audit_event WHERE subject = 'member:C-2' "
        "AND action = 'member.add'",
    )
    redacted = {
        k: ("[forgotten]" if k in ("name", "phone") else v) for k, v in json.loads(details).items()
    }
    tamper(
        f"UPDATE audit_event SET details = '{json.dumps(redacted, sort_keys=True)}' "
        f"WHERE id = {event_id}",
        "UPDATE member SET name = '', phone = NULL, phone_rev = NULL WHERE external_id = 'C-2'",
    )
    code, problems = _verify(cli)
    assert code == 1
    assert any(
        f"audit event {event_id} " in p and "no member.forget event records a redaction" in p
        for p in problems
    ), problems


def test_the_trigger_lets_only_a_recorded_redaction_through(cli, db_url):
    _zelda(cli)
    refused = []

    def attempt(statement: str) -> None:
        with pytest.raises(Exception) as info:
            execute(db_url, statement)
        refused.append(statement)
        assert "append-only" in str(info.value), info.value

    add = _redacted_event(db_url)
    # before any forget: no update of audit_event at all, no delete
    attempt(f"UPDATE audit_event SET details = '{{}}' WHERE id = {add}")
    attempt(f"DELETE FROM audit_event WHERE id = {add}")
    _forget(cli)
    (recorded,) = _rows(db_url, f"SELECT details FROM audit_event WHERE id = {add}")[0]
    # after it: neither another details, nor the recorded details with another field
    attempt(f'UPDATE audit_event SET details = \'{{"name":"Eve"}}\' WHERE id = {add}')
    attempt(f"UPDATE audit_event SET reason = 'x' WHERE id = {add}")
    attempt(f"UPDATE audit_event SET hash = '{ZEROS}' WHERE id = {add}")
    forget_id = _rows(db_url, "SELECT id FROM audit_event WHERE action = 'member.forget'")[0][0]
    attempt(f"UPDATE audit_event SET details = '{{}}' WHERE id = {forget_id}")
    # a member.add of another member, set to C-1's recorded redaction: refused
    other = _rows(
        db_url, "SELECT id FROM audit_event WHERE subject = 'member:C-2' AND action = 'member.add'"
    )[0][0]
    attempt(f"UPDATE audit_event SET details = '{recorded}' WHERE id = {other}")
    assert len(refused) == 7
    # the recorded redaction itself, written again, is what the trigger lets through
    execute(db_url, "UPDATE audit_event SET details = :d WHERE id = :i", {"d": recorded, "i": add})
    assert _verify(cli) == (0, [])


def _birthday_event(tmp_path, event_id: str, birthday: str) -> str:
    line = {
        "id": event_id,
        "type": "member.birthday_changed",
        "at": "2026-11-02T10:00:00Z",
        "member": "C-1",
        "birthday": birthday,
    }
    path = tmp_path / f"{event_id}.jsonl"
    path.write_text(json.dumps(line) + "\n")
    return str(path)


def test_birthdays_ingested_before_and_after_the_forget_are_not_kept(cli, db_url, tmp_path):
    _zelda(cli)
    assert cli("events", "ingest", _birthday_event(tmp_path, "b-1", "1987-06-16")).exit_code == 0
    _forget(cli)
    after = cli("events", "ingest", _birthday_event(tmp_path, "b-2", "1987-06-17"))
    assert after.exit_code == 0, after.stderr
    shown = cli("member", "show", "C-1", "--json").json["member"]
    assert (shown["name"], shown["birthday"]) == ("", None)
    stored = _rows(db_url, "SELECT CAST(details AS TEXT) FROM ingested_event ORDER BY id")
    assert len(stored) == 2
    for (details,) in stored:
        assert "1987" not in details and "[forgotten]" in details
    assert not _rows(db_url, "SELECT 1 FROM audit_event WHERE details LIKE '%1987%'")
    assert _verify(cli) == (0, [])
