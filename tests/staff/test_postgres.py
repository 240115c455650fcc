"""PostgreSQL enforces the roles itself (spec §8): a staff member who connects with psql
(here: plain psycopg as their login) gets exactly their role's writes.

Every forbidden write is attempted with plain SQL over the login's own connection and
must be refused by PostgreSQL (SQLSTATE 42501: a missing privilege, a row policy, or
the counters' guard), leaving the database as it was; the writes the role's commands
make succeed, by hand too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.staff.clubs import _admin, pg_url_admin, program, staffed

ROOT = Path(__file__).resolve().parents[2]


def _refused_by_postgresql(club, login: str, statements: list[str]) -> None:
    before = club.snapshot()
    for statement in statements:
        with pytest.raises(psycopg.Error) as info:
            club.sql(login, statement)
        assert info.value.sqlstate == "42501", (statement, info.value)
    assert club.snapshot() == before


def _member(club, external_id: str) -> tuple:
    (row,) = club.sql(
        club.owner,
        "SELECT id, balance, ledger_seq, ledger_head FROM member WHERE external_id = %s",
        (external_id,),
    )
    return row


def _entry_sql(club, external_id: str, *, kind: str, amount: int, operator: str) -> str:
    """An INSERT of the next entry of the member's chain, as the tool would write it."""
    from loyaltyctl.domain.chain import ledger_hash

    member_id, balance, seq, head = _member(club, external_id)
    row = {
        "id": None,
        "member_id": member_id,
        "seq": seq + 1,
        "at": datetime.now(UTC),
        "kind": kind,
        "amount": amount,
        "pending_amount": 0,
        "balance_after": balance + amount,
        "reason": "by hand",
        "operator": operator,
        "idem_key": None,
        "request_hash": None,
        "expires_at": None,
        "pending_until": None,
        "rule": None,
        "event_id": None,
        "order_id": None,
        "claim_id": None,
        "prev_hash": head,
    }
    digest = ledger_hash(head, row)
    return (
        "INSERT INTO ledger_entry (member_id, seq, at, kind, amount, pending_amount, "
        "balance_after, reason, operator, prev_hash, hash) VALUES "
        f"({member_id}, {seq + 1}, '{row['at'].isoformat()}', '{kind}', {amount}, 0, "
        f"{balance + amount}, 'by hand', '{operator}', '{head}', '{digest}')"
    )


HOOKED = """
[[perk]]
slug = "hooked"
name = "Hooked"
price = 10
category = "general"

[perk.redemption]
type = "webhook"
webhook_url = "https://hooks.example.org/claims"
webhook_secret = "s3cret"
"""


def test_an_administrators_connection_gets_only_the_counters_writes(pg_club, tmp_path):
    club = pg_club
    program(club)
    (tmp_path / "hooked.toml").write_text(HOOKED)
    club.ok(None, "apply", tmp_path / "hooked.toml")
    logins = staffed(club, bob="administrator", mia="manager")
    bob = logins["bob"]
    # a lot that expires (spent first by the claim), a claim, a code used
    club.ok(bob, "points", "credit", "C-1", 100, "--reason", "counter", "--expires-in", "30d")
    claim = club.json(bob, "perk", "claim", "free-coffee", "--member", "C-1")["claim_id"]
    club.ok(bob, "promo", "redeem", "WINTER50", "--member", "C-2")
    hooked = club.json(bob, "perk", "claim", "hooked", "--member", "C-2")["claim_id"]
    queued = (
        "SELECT event_id || 'x', claim_id, perk_id, event, {url}, {payload}, status, "
        f"attempts, next_attempt_at, created_at FROM webhook_delivery WHERE claim_id = '{hooked}'"
    )
    forge = (
        "INSERT INTO webhook_delivery (event_id, claim_id, perk_id, event, url, payload, "
        "status, attempts, next_attempt_at, created_at) "
    )
    _refused_by_postgresql(
        club,
        bob,
        [
            # apply: the program is a manager's
            "INSERT INTO perk (slug, name, price, category, active, audience, redemption_type,"
            " single_use, iframe, created_at, updated_at, claimed, members, points_spent) "
            "VALUES ('x', 'x', 1, 'general', true, '{}', 'none', false, false, now(), now(),"
            " 0, 0, 0)",
            "UPDATE perk SET price = 0",
            "UPDATE campaign SET points = 100000",
            "INSERT INTO earning_rule (slug, kind, active, tiers, settings, created_at, "
            "updated_at) VALUES ('x', 'join', true, '[]', '{}', now(), now())",
            # keys rotate: the secrets are re-encrypted by an owner only
            "UPDATE perk SET value_enc = 'forged'",
            f"UPDATE claim SET redemption_enc = 'forged' WHERE id = '{claim}'",
            "UPDATE promo_code SET code_enc = 'forged'",
            # staff add, staff cap
            f"INSERT INTO staff VALUES ('{bob}', 'owner', now(), 'x', now(), NULL, false)",
            f"UPDATE staff SET role = 'owner' WHERE login = '{bob}'",
            "UPDATE program_setting SET value = '1000000'",
            f'CREATE ROLE "{bob}x" LOGIN',
            f'GRANT loyalty_owner TO "{bob}"',
            f'GRANT loyalty_manager TO "{bob}"',
            # a credit over the cap, however well formed; someone else's name on a credit
            _entry_sql(club, "C-1", kind="credit", amount=1001, operator=bob),
            _entry_sql(club, "C-1", kind="credit", amount=10, operator=logins["mia"]),
            _entry_sql(club, "C-1", kind="write_off", amount=-1001, operator=bob),
            _entry_sql(club, "C-1", kind="earn", amount=10, operator=bob),
            # points out of nothing, the ledger rewritten
            "UPDATE member SET balance = balance + 5000",
            "UPDATE member SET earned = 100000",
            "UPDATE ledger_entry SET amount = 5000",
            "DELETE FROM ledger_entry",
            "DELETE FROM audit_event",
            "INSERT INTO point_lot (member_id, entry_id, amount, remaining, matured) "
            "SELECT member_id, id, 100000, 100000, true FROM ledger_entry "
            "WHERE kind = 'credit' LIMIT 1",
            # limits and counters moved back: supply, uses, spent lots, the audit chain
            "UPDATE perk SET claimed = 0",
            "UPDATE promo_code SET uses = 0",
            "UPDATE point_lot SET remaining = amount",
            "UPDATE perk_member SET claims = 0",
            "UPDATE audit_chain SET head = 'forged'",
            "INSERT INTO audit_event (subject, seq, at, operator, action, details, prev_hash,"
            f" hash) VALUES ('x', 1, now(), '{club.owner}', 'x', '{{}}', 'x', 'x')",
            # a signed webhook to anywhere; maintenance's lock; the schema
            forge + queued.format(url="'https://attacker.example'", payload="payload"),
            forge + queued.format(url="url", payload="replace(payload, '\"C-2\"', '\"C-1\"')"),
            forge + queued.format(url="url", payload="payload"),  # a second one of the claim
            "UPDATE job_lock SET holder = 'x'",
            "UPDATE alembic_version SET version_num = '0001'",
            "ALTER TABLE member ADD COLUMN x int",
        ],
    )
    # the same writes the counter's commands make are allowed by hand: a credit within
    # the cap, signed by the login and continuing the member's chain, and the member row
    club.sql(bob, _entry_sql(club, "C-2", kind="credit", amount=1000, operator=bob))
    member_id, balance, seq, _head = _member(club, "C-2")
    (entry_hash,) = club.sql(
        bob, "SELECT hash FROM ledger_entry WHERE member_id = %s AND seq = %s", (member_id, seq + 1)
    )[0]
    club.sql(
        bob,
        "UPDATE member SET balance = %s, ledger_seq = %s, ledger_head = %s WHERE id = %s",
        (balance + 1000, seq + 1, entry_hash, member_id),
    )
    club.sql(
        bob,
        "INSERT INTO ledger_summary (shard, kind, points, entries) VALUES (%s, 'credit', 1000, 1) "
        "ON CONFLICT (shard, kind) DO UPDATE SET points = ledger_summary.points + 1000, "
        "entries = ledger_summary.entries + 1",
        (member_id % 16,),
    )
    assert club.json(bob, "points", "balance", "C-2")["balance"] == 4090
    assert club.json(bob, "audit", "verify")["ok"] is True


def test_a_managers_connection_cannot_touch_the_keys_the_staff_or_the_ledgers_names(pg_club):
    club = pg_club
    program(club)
    logins = staffed(club, mia="manager")
    mia = logins["mia"]
    club.ok(mia, "member", "import", ROOT / "fixtures" / "members.csv")
    claim = club.json(mia, "perk", "claim", "free-coffee", "--member", "C-1")["claim_id"]
    _refused_by_postgresql(
        club,
        mia,
        [
            f"UPDATE claim SET redemption_enc = 'forged' WHERE id = '{claim}'",
            "UPDATE promo_code SET code_enc = 'forged'",
            f"INSERT INTO staff VALUES ('{mia}', 'owner', now(), 'x', now(), NULL, false)",
            "UPDATE program_setting SET value = '1'",
            f'GRANT loyalty_owner TO "{mia}"',
            _entry_sql(club, "C-1", kind="credit", amount=10, operator=club.owner),
            "UPDATE ledger_entry SET reason = 'x'",
            "DELETE FROM audit_event",
            "ALTER TABLE member ADD COLUMN x int",
        ],
    )
    # the bulk paths (COPY) go through the row policies: imports, events, maintenance
    points = club.keys_file.parent / "points.csv"
    points.write_text("member,amount,reason\nC-1,5000,bulk\nC-1001,7,bulk\n")
    club.ok(mia, "points", "import", points)
    club.ok(mia, "events", "ingest", ROOT / "fixtures" / "events.jsonl")
    club.ok(mia, "maintain", "run", "--now", datetime.now(UTC).isoformat())
    club.ok(mia, "claim", "cancel", claim, "--reason", "changed their mind")
    operators = {
        row[0] for row in club.sql(club.owner, "SELECT DISTINCT operator FROM ledger_entry")
    }
    assert mia in operators
    assert club.json(mia, "audit", "verify")["ok"] is True


def test_the_ledger_names_the_session_login_even_after_set_role(pg_club):
    club = pg_club
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    statement = _entry_sql(club, "C-1", kind="credit", amount=10, operator="loyalty_administrator")
    with psycopg.connect(club.url(bob), autocommit=True) as conn:
        conn.execute("SET ROLE loyalty_administrator")
        with pytest.raises(psycopg.Error) as info:
            conn.execute(statement)
        assert info.value.sqlstate == "42501"
    # the tool, told to connect under another role, is refused before it reads anything
    acting = club.url(bob) + "?options=-crole%3Dloyalty_administrator"
    result = club.cli(bob, "points", "balance", "C-1", "--json", url=acting)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "not_permitted"
    assert club.cli(bob, "points", "balance", "C-1").exit_code == 0


def test_a_write_postgresql_refuses_is_a_refusal_not_a_crash(pg_club):
    """A privilege taken away behind the tool's back (by hand, or a role changed while a
    command ran): the command is refused with not_permitted and nothing changes."""
    club = pg_club
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    club.sql(club.owner, "REVOKE INSERT ON ledger_entry FROM loyalty_administrator")
    before = club.snapshot()
    result = club.cli(bob, "points", "credit", "C-1", 10, "--reason", "x", "--json")
    assert result.exit_code == 1, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "not_permitted" and "ledger_entry" in error["message"]
    assert "Unexpected" not in result.stderr
    assert club.snapshot() == before


def test_a_removed_login_no_longer_connects_and_its_history_stays(pg_club):
    club = pg_club
    program(club)
    bob = staffed(club, bob="administrator")["bob"]
    club.ok(bob, "points", "credit", "C-1", 10, "--reason", "counter")
    club.ok(None, "staff", "remove", bob)
    with pytest.raises(psycopg.OperationalError):
        club.sql(bob, "SELECT 1")
    result = club.cli(bob, "points", "balance", "C-1", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "not_permitted"
    me = club.json(bob, "whoami")
    assert me["role"] is None and me["refused"] and me["may"] == []
    (rolcanlogin,) = club.sql(
        club.owner, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (bob,)
    )[0]
    assert rolcanlogin is False  # staff add created it, staff remove disabled it
    (groups,) = club.sql(
        club.owner,
        "SELECT count(*) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member "
        "WHERE r.rolname = %s",
        (bob,),
    )[0]
    assert groups == 0
    entries = club.sql(club.owner, "SELECT operator FROM ledger_entry WHERE operator = %s", (bob,))
    assert entries == [(bob,)]


def test_a_login_not_on_the_staff_cannot_connect(pg_club):
    club = pg_club
    staffed(club, bob="administrator")
    eve = club.login("eve")
    club.sql(club.owner, f'CREATE ROLE "{eve}" LOGIN')
    with pytest.raises(psycopg.OperationalError, match="CONNECT"):
        club.sql(eve, "SELECT 1")
    result = club.cli(eve, "member", "list", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "not_permitted"
    assert "CONNECT" in " ".join(result.stderr.split())


def test_an_existing_login_is_adopted_not_created_nor_disabled(pg_club):
    club = pg_club
    staffed(club, bob="administrator")
    carl = club.login("carl")
    club.sql(club.owner, f'CREATE ROLE "{carl}" LOGIN')
    change = club.json(None, "staff", "add", carl, "--role", "manager")
    assert change["login_created"] is False
    assert club.json(carl, "whoami")["role"] == "manager"
    removed = club.json(None, "staff", "remove", carl)
    assert removed["login_disabled"] is False  # not ours to disable: it only loses this club
    with psycopg.connect(club.url(carl).rsplit("/", 1)[0] + "/postgres") as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == carl
    with pytest.raises(psycopg.OperationalError, match="CONNECT"):
        club.sql(carl, "SELECT 1")


def test_a_login_of_another_clubs_staff_is_refused(pg_club, request, tmp_path, monkeypatch):
    from tests.staff.clubs import new_club

    (tmp_path / "other").mkdir()
    other = next(new_club(request, "postgresql", tmp_path / "other", monkeypatch))
    bob = staffed(other, bob="manager")["bob"]
    before = pg_club.snapshot()
    result = pg_club.cli(None, "staff", "add", bob, "--role", "administrator", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "login_in_use"
    assert pg_club.snapshot() == before
    assert pg_club.json(None, "staff", "list") == []  # nothing at all: not even enforcement


def test_any_owner_manages_the_staff_and_upgrades_the_schema(pg_club):
    """A second owner has neither CREATEROLE nor the database: it adds an existing login,
    changes roles, removes staff, and a migration it runs gets the roles' privileges."""
    club = pg_club
    program(club)
    logins = staffed(club, ann="owner", bob="administrator")
    ann, bob = logins["ann"], logins["bob"]
    carl = club.login("carl")
    club.sql(club.owner, f'CREATE ROLE "{carl}" LOGIN')
    club.ok(ann, "staff", "add", carl, "--role", "administrator")
    club.ok(ann, "staff", "set-role", bob, "manager")
    club.ok(ann, "staff", "remove", carl)
    club.ok(ann, "staff", "cap", 500)
    club.ok(ann, "keys", "rotate")
    nobody = club.login("nobody")
    created = club.cli(ann, "staff", "add", nobody, "--role", "administrator", "--json")
    assert created.exit_code == 4  # creating a login needs CREATEROLE: said so, nothing done
    assert "CREATEROLE" in json.loads(created.stdout)["error"]["message"]
    # a table a migration of ann's made: hers, until the upgrade hands it over
    club.sql(ann, "ALTER TABLE claim_day OWNER TO " + f'"{ann}"')
    club.sql(ann, "REVOKE ALL ON claim_day FROM loyalty_manager")
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    db = Database(club.url(ann), check_schema=False)
    with db.connect() as conn, conn.begin():
        migrate._grant_new_tables(conn)
    db.dispose()
    (owner,) = club.sql(
        club.owner, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'claim_day'"
    )[0]
    assert owner == "loyalty_owner"
    club.ok(bob, "perk", "claim", "free-coffee", "--member", "C-1")  # claim_day written


def test_the_group_roles_are_made_once_for_the_cluster(pg_club):
    """The migration and `staff add` make them only when missing: running either again,
    on this database or another, leaves exactly one of each."""
    club = pg_club
    staffed(club, bob="administrator")
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    db = Database(club.url(), check_schema=False)
    assert migrate.upgrade(db)[1] == migrate.head_revision()
    db.dispose()
    with _admin() as conn:
        rows = conn.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'loyalty\\_%' "
            "ORDER BY rolname"
        ).fetchall()
    assert rows == [
        ("loyalty_administrator", False),
        ("loyalty_manager", False),
        ("loyalty_owner", False),
    ]


def test_downgrading_below_the_roles_undoes_what_postgresql_enforced(pg_club):
    """`alembic downgrade 0007` on an enforced database (by an owner): the policies, the
    guards and the CONNECT function go with the staff table; upgrading and adding staff
    again turns it all back on."""
    from alembic import command

    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    club = pg_club
    program(club)
    staffed(club, bob="administrator")
    db = Database(club.url(), check_schema=False)
    with db.connect() as conn, conn.begin():
        command.downgrade(migrate._config(conn), "0007")
    policies = club.sql(club.owner, "SELECT count(*) FROM pg_policies")[0][0]
    guards = club.sql(
        club.owner, "SELECT count(*) FROM pg_trigger WHERE tgname = 'loyaltyctl_counter_guard'"
    )[0][0]
    assert (policies, guards) == (0, 0)
    assert migrate.upgrade(db) == ("0007", migrate.head_revision())
    db.dispose()
    assert club.json(None, "whoami")["enforced"] is False
    bob = staffed(club, bob="administrator")["bob"]
    assert club.json(bob, "whoami")["role"] == "administrator"
    club.ok(bob, "points", "credit", "C-1", 10, "--reason", "again")


def test_staff_read_the_analysts_views(pg_club):
    """Managers and administrators read every table, and the analysts' views too (owned
    by loyalty_owner, like the tables); they cannot change a view."""
    from loyaltyctl.store.staff_privileges import ANALYST_VIEWS

    club = pg_club
    program(club)
    logins = staffed(club, bob="administrator", mia="manager")
    club.ok(logins["mia"], "member", "import", ROOT / "fixtures" / "members.csv")
    views = club.sql(
        club.owner,
        "SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
        "WHERE relkind = 'v' AND relnamespace = current_schema()::regnamespace ORDER BY 1",
    )
    assert [name for name, _ in views] == list(ANALYST_VIEWS)  # every view, no other
    assert {owner for _, owner in views} == {"loyalty_owner"}
    for login in logins.values():
        for view in ANALYST_VIEWS:
            club.sql(login, f"SELECT * FROM {view} LIMIT 1")
        assert club.sql(login, "SELECT count(*) FROM v_balances")[0][0] >= 1
    _refused_by_postgresql(
        club, logins["mia"], ["CREATE OR REPLACE VIEW v_balances AS SELECT 1 AS x"]
    )


def test_a_view_another_login_owns_does_not_stop_an_upgrade(pg_club):
    """A view made by a login the running owner cannot act for stays that login's: the
    privileges step hands over what it may and does not fail on the rest."""
    from loyaltyctl.store import migrate
    from loyaltyctl.store.db import Database

    club = pg_club
    program(club)
    ann = staffed(club, ann="owner")["ann"]
    carl = club.login("carl")
    with _admin() as conn:
        conn.execute(f'CREATE ROLE "{carl}" NOLOGIN')
    with psycopg.connect(pg_url_admin(club.database), autocommit=True) as conn:
        conn.execute(f'ALTER VIEW v_orders OWNER TO "{carl}"')
    db = Database(club.url(ann), check_schema=False)
    with db.connect() as conn, conn.begin():
        migrate._grant_new_tables(conn)
    db.dispose()
    owners = dict(
        club.sql(
            club.owner,
            "SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname IN ('v_orders', 'v_ledger')",
        )
    )
    assert owners == {"v_orders": carl, "v_ledger": "loyalty_owner"}


def test_member_forget_is_a_managers_and_postgresql_refuses_an_administrators_redaction(
    pg_club,
):
    """`member forget`: a manager may (it rewrites audit events); an administrator is
    refused by the tool and, over its own connection, by PostgreSQL for the UPDATE of
    audit_event (no privilege); a manager's UPDATE that is not a recorded redaction is
    refused by the append-only trigger."""
    club = pg_club
    program(club)
    logins = staffed(club, mia="manager", bob="administrator")
    bob, mia = logins["bob"], logins["mia"]
    club.ok(None, "member", "update", "C-2", "--phone", "+44 20 7946 0321")
    before = club.snapshot()
    refused = club.cli(bob, "member", "forget", "C-2", "--reason", "erasure", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "not_permitted"
    add = club.sql(
        club.owner,
        "SELECT id FROM audit_event WHERE subject = 'member:C-2' AND action = 'member.add'",
    )[0][0]
    _refused_by_postgresql(
        club,
        bob,
        [
            f"UPDATE audit_event SET details = '{{}}' WHERE id = {add}",
            "UPDATE member SET forgotten_at = now() WHERE external_id = 'C-2'",
        ],
    )
    with pytest.raises(psycopg.Error) as info:  # a manager: not a recorded redaction
        club.sql(mia, f"UPDATE audit_event SET details = '{{}}' WHERE id = {add}")
    assert "append-only" in str(info.value)
    assert club.snapshot() == before

    done = club.json(mia, "member", "forget", "C-2", "--reason", "erasure request")
    assert done["member"] == "C-2" and len(done["redacted_events"]) == 2
    (operator,) = club.sql(
        club.owner, "SELECT operator FROM audit_event WHERE action = 'member.forget'"
    )[0]
    assert operator == mia
    assert club.json(bob, "member", "show", "C-2")["member"]["name"] == ""
    club.ok(bob, "audit", "verify")
