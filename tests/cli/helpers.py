"""Small helpers shared by the CLI tests: they only drive the CLI or read the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

SPEC_ENTRY_FIELDS = {
    "id",
    "at",
    "kind",
    "amount",
    "reason",
    "operator",
    "key",
    "expires_at",
    "rule",
    "event_id",
    "order_id",
    "claim_id",
}


def flat(text: str) -> str:
    """Messages with Rich's line wrapping undone (whitespace runs become one space)."""
    return " ".join(text.split())


def add_member(cli, external_id: str = "C-1", name: str = "Ada Lovelace", *extra: str) -> None:
    result = cli("member", "add", external_id, "--name", name, *extra)
    assert result.exit_code == 0, result.stderr


def credit(cli, member: str, amount, reason: str = "test credit", *extra: str):
    return cli("points", "credit", member, str(amount), "--reason", reason, *extra, "--json")


def balance(cli, member: str = "C-1") -> dict:
    result = cli("points", "balance", member, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json


def history(cli, member: str = "C-1") -> list[dict]:
    result = cli("points", "history", member, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json["entries"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def day(offset: int) -> str:
    """Today plus ``offset`` days as YYYY-MM-DD (UTC), so tests do not rot."""
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def maintain_at(cli, monkeypatch, moment: str, *extra: str):
    """`maintain run` with the program's clock moved to ``moment`` by LOYALTYCTL_CLOCK
    (how tests move time; a --now after the clock is refused). The clock stays there
    for the test's later commands."""
    monkeypatch.setenv("LOYALTYCTL_CLOCK", moment)
    return cli("maintain", "run", *extra)


def sql_engine(url: str):
    """A plain SQLAlchemy engine on the test database (to change it behind the tool's back)."""
    from sqlalchemy import create_engine

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url)


def execute(url: str, statement, params: dict | None = None) -> None:
    from sqlalchemy import text

    engine = sql_engine(url)
    try:
        with engine.begin() as conn:
            if isinstance(statement, str):
                statement = text(statement)
            conn.execute(statement, params or {})
    finally:
        engine.dispose()


def tamper(url: str, statement: str, params: dict | None = None) -> None:
    """Change ledger or audit rows directly, as someone with database access could.

    The database refuses updates and deletes of those tables (append-only triggers), so
    this does what such a person would do: PostgreSQL skips user triggers for the one
    transaction (session_replication_role), SQLite drops the triggers around the change
    and puts them back.
    """
    from sqlalchemy import text

    engine = sql_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(statement), params or {})
                return
            triggers = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _sql in triggers:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            conn.execute(text(statement), params or {})
            for _name, sql in triggers:
                conn.execute(text(sql))
    finally:
        engine.dispose()
