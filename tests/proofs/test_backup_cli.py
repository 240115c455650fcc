"""`db backup FILE` while another process writes, and the documented restores (SQLite:
the copy; PostgreSQL: pg_dump and pg_restore) ending in `audit verify --checkpoint`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid

import pytest

from tests.cli.helpers import add_member, credit, flat
from tests.conftest import PG_ADMIN_URL

WRITER = """
import sys
from typer.testing import CliRunner
from loyaltyctl.cli.main import app
runner = CliRunner()
for n in range(int(sys.argv[2])):
    result = runner.invoke(app, ["--database-url", sys.argv[1], "points", "credit", "C-1", "1",
                                 "--reason", f"during the backup {n}"])
    assert result.exit_code == 0, result.output
"""


def test_a_backup_taken_while_another_process_writes_restores_and_verifies(cli, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        refused = cli("db", "backup", str(tmp_path / "x.db"))
        assert refused.exit_code == 2
        assert "pg_dump" in flat(refused.stderr)
        return
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 100, "before")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, db_url, "40"], env=os.environ.copy(), text=True
    )
    try:
        target = tmp_path / "backups" / "club.db"
        made = cli("db", "backup", str(target), "--json")
        assert made.exit_code == 0, made.stderr
    finally:
        assert writer.wait(timeout=300) == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    checkpoint = made.json["checkpoint"]
    assert checkpoint == str(target) + ".checkpoint.json"
    again = cli("db", "backup", str(target))
    assert again.exit_code == 2  # never overwritten

    # the restore (README "Backups"): the copy put in place, then verified
    restored = tmp_path / "restored" / "club.db"
    restored.parent.mkdir()
    shutil.copy(target, restored)
    url = f"sqlite:///{restored}"
    verified = cli("audit", "verify", "--checkpoint", checkpoint, url=url)
    assert verified.exit_code == 0, verified.stderr
    # the original went on past the copy; it verifies against the same checkpoint too
    assert cli("audit", "verify", "--checkpoint", checkpoint).exit_code == 0
    balance = cli("points", "balance", "C-1", "--json", url=url).json["balance"]
    assert 100 <= balance <= 140


@pytest.mark.slow
def test_the_postgresql_recipe_restores_and_verifies(cli, db_url, tmp_path):
    if not db_url.startswith("postgresql") or shutil.which("pg_dump") is None:
        pytest.skip("the pg_dump recipe is for PostgreSQL")
    import psycopg

    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 100, "before")
    checkpoint = tmp_path / "club.checkpoint.json"
    assert cli("audit", "checkpoint", "--out", str(checkpoint)).exit_code == 0
    dump = tmp_path / "club.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), db_url], check=True)
    credit(cli, "C-1", 5, "after the dump")
    name = f"loyaltyctl_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    restored = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        subprocess.run(["pg_restore", "--no-owner", "--dbname", restored, str(dump)], check=True)
        verified = cli("audit", "verify", "--checkpoint", str(checkpoint), url=restored)
        assert verified.exit_code == 0, verified.stderr
        assert cli("points", "balance", "C-1", "--json", url=restored).json["balance"] == 100
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
