"""The eleven defects of the adversarial run (issue 17), the SQLite file's mode and the
read-only file system, each driven through the CLI on both databases where it applies.
Every test here failed before its fix."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest
from sqlalchemy import text

from tests.cli.helpers import add_member, credit, execute, flat, history, sql_engine, write
from tests.proofs.program import build


def _count(url: str, sql: str) -> int:
    engine = sql_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _no_crash(result) -> None:
    assert "Unexpected" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


# 1. deeply nested TOML ----------------------------------------------------------------


def test_deeply_nested_toml_is_a_bad_file_with_its_position(cli, tmp_path):
    nested = "{a = " * 500 + "1" + " }" * 500
    path = write(
        tmp_path / "deep.toml",
        f'[[perk]]\nslug = "x"\nname = "X"\nprice = 10\naudience = {nested}\n',
    )
    result = cli("apply", str(path))
    _no_crash(result)
    assert result.exit_code == 3
    assert "deep.toml:5:" in result.stderr
    assert "nested deeper than 32 levels" in flat(result.stderr)
    assert _count(cli.url, "SELECT COUNT(*) FROM perk") == 0


# 2, 3. deeply nested JSON and huge integers in events -----------------------------------


@pytest.mark.parametrize("strict", [False, True])
def test_a_deep_or_huge_event_line_is_bad_and_the_others_apply(cli, tmp_path, strict):
    deep = "[" * 5000 + "]" * 5000
    lines = [
        '{"id": "e1", "type": "member.joined", "at": "2026-01-01T00:00:00Z", '
        f'"member": "C-8", "name": "Deep", "x": {deep}}}',
        '{"id": "e2", "type": "member.joined", "at": "2026-01-01T00:00:00Z", '
        f'"member": "C-7", "name": "Huge", "n": {"9" * 5000}}}',
        '{"id": "e3", "type": "member.joined", "at": "2026-01-01T00:00:00Z", '
        '"member": "C-6", "name": "Good"}',
    ]
    path = write(tmp_path / "events.jsonl", "\n".join(lines) + "\n")
    result = cli("events", "ingest", str(path), *(["--strict"] if strict else []), "--json")
    _no_crash(result)
    assert result.exit_code == 3
    errors = {e["line"]: e["message"] for e in result.json["errors"]}
    assert "nested deeper than 32 levels" in errors[1]
    assert errors[2] == "n: a number of 5,000 digits is too large"
    added = _count(cli.url, "SELECT COUNT(*) FROM member WHERE external_id = 'C-6'")
    assert added == (0 if strict else 1)
    assert _count(cli.url, "SELECT COUNT(*) FROM member WHERE external_id IN ('C-7', 'C-8')") == 0


# 4, 5. option values past what a timedelta or a driver holds -------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("points", "credit", "C-1", "5", "--reason", "x", "--expires-in", "99999999999d"), None),
        (("points", "credit", "C-1", "5", "--reason", "x", "--expires-in", "9" * 5000 + "d"), None),
        (("points", "history", "C-1", "--limit", "99999999999999999999"), "--limit"),
        (("member", "list", "--limit", "9" * 30), "--limit"),
        (("points", "credit", "C-1", "9" * 5000, "--reason", "x"), None),
    ],
)
def test_option_values_out_of_range_are_usage_errors(cli, args, option):
    add_member(cli, "C-1")
    result = cli(*args)
    _no_crash(result)
    assert result.exit_code == 2, result.stderr
    assert (option or "") in result.stderr
    assert history(cli) == []


def test_the_longest_duration_still_works(cli):
    add_member(cli, "C-1")
    assert credit(cli, "C-1", 5, "x", "--expires-in", "36500d").exit_code == 0
    refused = credit(cli, "C-1", 5, "x", "--expires-in", "36501d")
    assert refused.exit_code == 2
    assert "--expires-in" in refused.stderr


# 6. a full disk -------------------------------------------------------------------------


@pytest.fixture
def full_disk(db_url):
    """SQLite reports a full disk (SQLITE_FULL, "database or disk is full") when a file
    reaches its max_page_count: every connection the tool opens gets one a few pages
    above the file's size, as a 2 MB tmpfs would."""
    if not db_url.startswith("sqlite"):
        pytest.skip("a full disk is simulated through SQLite's max_page_count")
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def limit(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages + 8}")
        cursor.close()

    def arm():
        event.listen(Engine, "connect", limit)

    yield arm
    if event.contains(Engine, "connect", limit):
        event.remove(Engine, "connect", limit)


def test_a_full_disk_is_an_environment_problem_and_leaves_nothing(cli, tmp_path, full_disk):
    assert cli("apply", str(write(tmp_path / "c.toml", CAMPAIGN))).exit_code == 0
    events = _count(cli.url, "SELECT COUNT(*) FROM audit_event")
    full_disk()
    result = cli("promo", "generate", "spring", "--count", "20000", "--json")
    _no_crash(result)
    assert result.exit_code == 4, result.stderr
    assert "The disk is full" in flat(result.stderr)
    assert result.json["error"]["code"] == "disk_full"
    assert _count(cli.url, "SELECT COUNT(*) FROM promo_batch") == 0
    assert _count(cli.url, "SELECT COUNT(*) FROM promo_code") == 0
    assert _count(cli.url, "SELECT COUNT(*) FROM audit_event") == events


def test_a_full_disk_on_postgresql_is_named_too():
    from loyaltyctl.domain.errors import DiskFull
    from loyaltyctl.store.db import Database

    class NoSpace(Exception):
        sqlstate = "53100"

    problem = Database("postgresql://u@h/db").storage_problem(NoSpace("could not extend file"))
    assert isinstance(problem, DiskFull)


CAMPAIGN = '[[campaign]]\nslug = "spring"\nname = "Spring"\npoints = 5\n'


# 7. a database written by a newer loyaltyctl ------------------------------------------------


def test_a_newer_schema_asks_to_upgrade_loyaltyctl(cli):
    add_member(cli, "C-1")
    execute(cli.url, "UPDATE alembic_version SET version_num = '0099'")
    for args in (("member", "list"), ("db", "upgrade"), ("points", "credit", "C-1", "5")):
        result = cli(*args, *(["--reason", "x"] if args[0] == "points" else []))
        _no_crash(result)
        assert result.exit_code == 4, result.stderr
        message = flat(result.stderr)
        assert "written by a newer loyaltyctl" in message
        assert "Upgrade loyaltyctl" in message
        assert "db upgrade`." not in message  # not the advice for an older schema
    assert _count(cli.url, "SELECT version_num FROM alembic_version") == "0099"


# 8. control characters in names ---------------------------------------------------------


@pytest.mark.parametrize("name", ["A\x1b[31mB", "Bob\u202eevil", "Tab\there", "C1\x9bx"])
def test_names_with_control_characters_are_refused_everywhere(cli, tmp_path, name):
    add_member(cli, "C-1", "Ada")
    added = cli("member", "add", "C-2", "--name", name)
    assert added.exit_code == 2
    assert "--name" in added.stderr
    updated = cli("member", "update", "C-1", "--name", name)
    assert updated.exit_code == 2
    rows = write(tmp_path / "m.csv", f'external_id,name\nC-3,"{name}"\nC-4,Fine\n')
    imported = cli("member", "import", str(rows))
    assert imported.exit_code == 3
    assert "m.csv:2: name:" in flat(imported.stderr)
    listed = cli("member", "list", "--json")
    assert [(m["external_id"], m["name"]) for m in listed.json] == [("C-1", "Ada")]


# 9. a link perk is https only --------------------------------------------------------------


def test_a_link_perk_must_be_https(cli, tmp_path):
    perk = (
        '[[perk]]\nslug = "gift"\nname = "Gift"\nprice = 5\n\n[perk.redemption]\n'
        'type = "link"\nvalue = "http://example.org/gift"\n'
    )
    result = cli("apply", str(write(tmp_path / "p.toml", perk)))
    assert result.exit_code == 3
    assert "must be an https URL" in flat(result.stderr)


# 10, 11. audit verify: cut chains and edited money or promise columns ----------------------


def _verify_names(cli, *words: str) -> None:
    result = cli("audit", "verify", "--json")
    assert result.exit_code == 1, result.stdout
    error = result.json["error"]
    assert error["code"] == "audit_failed"
    problems = " | ".join(error.get("problems") or [error["message"]])
    for word in words:
        assert word in problems, problems


def test_a_cut_audit_tail_with_its_head_rolled_back_is_found(cli, tamper):
    add_member(cli, "C-1", "Ada")
    assert cli("member", "update", "C-1", "--email", "ada@example.org").exit_code == 0
    tamper(
        "DELETE FROM audit_event WHERE subject = 'member:C-1' AND seq = 2",
        "UPDATE audit_chain SET seq = 1, head = (SELECT hash FROM audit_event "
        "WHERE subject = 'member:C-1' AND seq = 1) WHERE subject = 'member:C-1'",
    )
    _verify_names(cli, "member C-1: email is 'ada@example.org'")


def test_a_whole_chain_removed_with_its_head_row_is_found(cli, tmp_path, tamper):
    build(cli, tmp_path)
    tamper(
        "DELETE FROM audit_event WHERE subject = 'perk:mug'",
        "DELETE FROM audit_chain WHERE subject = 'perk:mug'",
    )
    _verify_names(cli, "perk mug: it has no audit events")


TAMPERS = {
    "uses_allowed": (
        "UPDATE promo_code SET uses_allowed = 50 WHERE batch_id IS NOT NULL",
        "a code allows 50 uses",
    ),
    "lot_expiry": (
        "UPDATE point_lot SET expires_at = NULL",
        "does not match its ledger entry",
    ),
    "price": ("UPDATE perk SET price = 1", "perk mug: price is 1"),
    "max_supply": ("UPDATE perk SET max_supply = 1000", "perk mug: max_supply is 1000"),
    "certificate": ("UPDATE claim SET certificate_id = 'CT-FORGED'", "'CT-FORGED'"),
    "event_points": ("UPDATE ingested_event SET points = 999", "999 points are recorded"),
    "idempotency": (
        "DELETE FROM idempotency_key WHERE key = 'k-500'",
        "idempotency key 'k-500'",
    ),
    "name": ("UPDATE member SET name = 'Eve' WHERE external_id = 'C-1'", "name is 'Eve'"),
    "tier": (
        "UPDATE member SET tier = 'platinum' WHERE external_id = 'C-2'",
        "member C-2: tier is 'platinum'",
    ),
    "campaign_points": ("UPDATE campaign SET points = 9000", "campaign spring: points is 9000"),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_edits_of_money_and_promise_columns_are_found(cli, tmp_path, tamper, what):
    build(cli, tmp_path)
    statement, named = TAMPERS[what]
    tamper(statement)
    _verify_names(cli, named)


# the SQLite file and a read-only file system ---------------------------------------------------


def test_a_new_sqlite_file_is_readable_by_its_owner_only(cli, tmp_path):
    path = tmp_path / "new" / "club.db"
    result = cli("init", url=f"sqlite:///{path}")
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cli("member", "add", "C-1", "--name", "Ada", url=f"sqlite:///{path}").exit_code == 0
    for made in path.parent.iterdir():  # the WAL and shared-memory files too
        assert stat.S_IMODE(os.stat(made).st_mode) == 0o600, made


def test_an_unopenable_sqlite_file_is_not_told_about_a_server(cli, tmp_path):
    folder = tmp_path / "club.db"
    folder.mkdir()  # a folder where the file should be: SQLite cannot open it
    result = cli("member", "list", url=f"sqlite:///{folder}")
    assert result.exit_code == 4
    assert "server" not in result.stderr
    assert "file and its folder" in flat(result.stderr)


@pytest.fixture
def read_only_mount(db_url, tmp_path):
    """A small tmpfs that can be remounted read-only (root only; skipped otherwise)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("a file system matters to SQLite only")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "mount"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)]).returncode:
        pytest.skip("cannot mount a tmpfs here")

    def read_only():
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)

    yield where, read_only
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_file_system_is_named_as_such(cli, read_only_mount):
    where, read_only = read_only_mount
    url = f"sqlite:///{where}/club.db"
    assert cli("init", url=url).exit_code == 0
    read_only()
    result = cli("member", "add", "C-1", "--name", "Ada", "--json", url=url)
    assert result.exit_code == 4, result.stderr
    assert result.json["error"]["code"] == "database_read_only"
    assert "read-only" in flat(result.stderr)
    assert "server" not in result.stderr


def test_a_read_only_sqlite_database_is_named_as_such(cli, db_url):
    from loyaltyctl.domain.errors import DatabaseReadOnly
    from loyaltyctl.store.db import Database

    sqlite3 = pytest.importorskip("sqlite3")
    problem = Database("sqlite:////tmp/x.db").storage_problem(
        sqlite3.OperationalError("attempt to write a readonly database")
    )
    assert isinstance(problem, DatabaseReadOnly)
    from loyaltyctl.cli._errors import rendering

    assert "server" not in rendering(DatabaseReadOnly).hint_for(problem)
