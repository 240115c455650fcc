"""The analyst's surface, on SQLite and PostgreSQL: the views' figures agree with `stats`,
they show no secret (ciphertext, keyed hashes), JSON columns are jsonb on PostgreSQL and
every table and column there has its COMMENT."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from loyaltyctl.store.comments import COLUMNS, TABLES
from tests.cli.helpers import add_member, credit, sql_engine, write

RULES = """
[[earning_rule]]
slug = "order-points"
kind = "order"
points_per_unit = 1
"""


def rows(url: str, sql: str) -> list:
    engine = sql_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


@pytest.fixture
def program(cli, tmp_path):
    assert cli("apply", str(write(tmp_path / "r.toml", RULES))).exit_code == 0
    add_member(cli, "C-1", "Ada")
    add_member(cli, "C-2", "Bob")
    assert credit(cli, "C-1", 500).exit_code == 0
    assert cli("points", "write-off", "C-1", "30", "--reason", "fix").exit_code == 0
    events = [
        {"id": "o1", "type": "order.paid", "at": "2026-11-02T10:00:00Z", "member": "C-2",
         "order_id": "1", "items": [{"sku": "P", "price": "40.00", "quantity": 2}],
         "discount": "5.50", "shipping": "4.90", "tax": "6.00"},
        {"id": "r1", "type": "order.refunded", "at": "2026-11-03T10:00:00Z", "order_id": "1",
         "items": [{"sku": "P", "quantity": 1}]},
        {"id": "r2", "type": "order.refunded", "at": "2026-11-03T10:00:00Z", "order_id": "2"},
    ]  # fmt: skip
    path = write(tmp_path / "e.jsonl", "".join(json.dumps(e) + "\n" for e in events))
    assert cli("events", "ingest", str(path)).exit_code == 0


def test_the_views_agree_with_stats(cli, program):
    stats = cli("stats", "overview", "--json").json
    url = cli.url
    ((members, outstanding),) = rows(url, "SELECT count(*), sum(total) FROM v_balances")
    assert members == stats["members"]
    assert outstanding == stats["points"]["outstanding"]
    by_kind = dict(
        rows(url, "SELECT kind, sum(amount + pending_amount) FROM v_ledger GROUP BY kind")
    )
    assert sum(by_kind.values()) == stats["points"]["outstanding"]
    assert -by_kind.get("write_off", 0) == stats["points"]["written_off"]
    assert -by_kind.get("reverse", 0) == stats["points"]["reversed"]
    (order,) = rows(
        url,
        "SELECT member, at, items_total, discount, paid_for_items, shipping, tax, points"
        " FROM v_orders",
    )
    assert order[0] == "C-2" and order[1] == "2026-11-02T10:00:00Z"
    assert [Decimal(str(v)) for v in order[2:7]] == [
        Decimal("80.00"), Decimal("5.50"), Decimal("74.50"), Decimal("4.90"), Decimal("6.00")
    ]  # fmt: skip
    assert order[7] == 74
    (refund,) = rows(url, "SELECT member, points FROM v_refunds")
    assert refund == ("C-2", -37)
    assert rows(url, "SELECT order_id FROM v_held_refunds") == [("2",)]
    entry = rows(url, "SELECT member, at FROM v_ledger WHERE kind = 'earn'")[0]
    assert entry[0] == "C-2" and entry[1] == "2026-11-02T10:00:00Z"


def test_the_views_show_no_secret_column(cli, program):
    for view in ("v_ledger", "v_balances", "v_orders", "v_refunds", "v_claims", "v_coupons",
                 "v_redemptions", "v_held_refunds"):  # fmt: skip
        engine = sql_engine(cli.url)
        try:
            with engine.connect() as conn:
                names = list(conn.execute(text(f"SELECT * FROM {view} WHERE 1 = 0")).keys())
        finally:
            engine.dispose()
        assert not [n for n in names if n.endswith(("_enc", "_hash", "hash", "head"))], view


def test_postgresql_has_jsonb_and_a_comment_on_every_table_and_column(cli, program):
    if not cli.url.startswith("postgresql"):
        pytest.skip("COMMENT ON and jsonb are PostgreSQL's")
    types = dict(
        rows(
            cli.url,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name IN ('details', 'event')",
        )
    )
    assert types["ingested_event.details"] == types["held_refund.event"] == "jsonb"
    tables = rows(
        cli.url,
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v')"
        " AND c.relname <> 'alembic_version'",
    )
    assert [name for name, comment in tables if not comment] == []
    columns = rows(
        cli.url,
        "SELECT c.relname || '.' || a.attname, col_description(c.oid, a.attnum) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0"
        " AND NOT a.attisdropped AND c.relname <> 'alembic_version'",
    )
    assert [name for name, comment in columns if not comment] == []
    assert len(columns) == sum(len(c) for c in COLUMNS.values())
    assert {name for name, _ in tables if not name.startswith("v_")} == set(TABLES)


def test_the_datasette_recipe_serves_no_table_with_a_secret_or_a_hash():
    from pathlib import Path

    from sqlmodel import SQLModel

    import loyaltyctl.store.tables  # noqa: F401 - the tables' metadata

    config = json.loads(
        (Path(__file__).resolve().parents[2] / "config" / "datasette.json").read_text()
    )
    assert config["allow_sql"] is False
    database = config["databases"]["loyalty"]
    denied = {name for name, rules in database["tables"].items() if rules == {"allow": False}}
    secret = {
        name
        for name, table in SQLModel.metadata.tables.items()
        if any(c.name.endswith(("_enc", "_hash", "hash", "head")) for c in table.columns)
    }
    assert secret and secret <= denied
