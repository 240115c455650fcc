"""Set-up and environment: init, db current/upgrade, schema checks, configuration, demo.

Environment problems exit 4 with a sentence that says what to do.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.cli.helpers import add_member, credit, execute, flat, history, write


def fresh_sqlite(tmp_path, name: str = "new.db") -> str:
    return "sqlite:///" + str(tmp_path / name)


# --- schema missing, init, db current -----------------------------------------------


def test_a_database_without_the_schema_says_to_run_init(cli, tmp_path):
    url = fresh_sqlite(tmp_path)
    result = cli("points", "balance", "C-1", url=url)
    assert result.exit_code == 4
    assert "loyaltyctl init" in flat(result.stderr)
    assert "Traceback" not in result.stderr
    as_json = cli("member", "list", "--json", url=url)
    assert as_json.exit_code == 4
    assert as_json.json["error"]["code"] == "schema_missing"


def test_init_creates_the_schema_and_is_idempotent(cli, tmp_path):
    url = fresh_sqlite(tmp_path)
    first = cli("init", "--json", url=url)
    assert first.exit_code == 0, first.stderr
    assert first.json["upgraded"] is True
    assert first.json["before"] is None

    added = cli("member", "add", "C-1", "--name", "Ada", url=url)
    assert added.exit_code == 0, added.stderr

    second = cli("init", "--json", url=url)
    assert second.exit_code == 0, second.stderr
    assert second.json["upgraded"] is False
    assert second.json["after"] == first.json["after"]
    human = cli("init", url=url)
    assert human.exit_code == 0
    assert "up to date" in flat(human.stdout)

    current = cli("db", "current", "--json", url=url)
    assert current.exit_code == 0, current.stderr
    assert current.json["up_to_date"] is True
    assert current.json["current"] == current.json["head"] == first.json["after"]
    shown = cli("member", "show", "C-1", "--json", url=url)
    assert shown.json["member"]["name"] == "Ada"


def test_db_current_on_the_test_database(cli):
    result = cli("db", "current", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert {"database", "current", "head", "up_to_date"} <= set(doc)
    assert doc["up_to_date"] is True
    upgrade = cli("db", "upgrade", "--json")
    assert upgrade.exit_code == 0, upgrade.stderr
    assert upgrade.json["upgraded"] is False


def _set_revision(url: str, revision: str) -> None:
    execute(url, "UPDATE alembic_version SET version_num = :v", {"v": revision})


@pytest.fixture
def other_revision(cli):
    """The test database's alembic_version set to another revision, restored afterwards."""
    head = cli("db", "current", "--json").json["head"]
    _set_revision(cli.url, "0000")
    yield
    _set_revision(cli.url, head)


def test_another_schema_revision_says_to_run_db_upgrade(cli, other_revision):
    result = cli("points", "balance", "C-1", "--json")
    assert result.exit_code == 4
    assert result.json["error"]["code"] == "schema_outdated"
    assert "db upgrade" in flat(result.stderr)
    human = cli("member", "list")
    assert human.exit_code == 4
    assert "loyaltyctl db upgrade" in flat(human.stderr)
    assert human.stdout == ""
    current = cli("db", "current", "--json")
    assert current.exit_code == 0
    assert (current.json["current"], current.json["up_to_date"]) == ("0000", False)


def test_the_schema_message_says_what_to_do_once(cli, other_revision):
    result = cli("member", "list")
    assert result.exit_code == 4
    assert flat(result.stderr).lower().count("loyaltyctl db upgrade") == 1


def test_an_unreachable_postgresql_server_exits_4(cli):
    url = "postgresql://postgres@127.0.0.1:1/x"
    for args in (("points", "balance", "C-1"), ("db", "current"), ("init",)):
        result = cli(*args, "--json", url=url)
        assert result.exit_code == 4, args
        assert result.json["error"]["code"] == "database_unavailable", args
        message = flat(result.stderr)
        assert "127.0.0.1" in message and "Traceback" not in message, args


def test_debug_shows_the_traceback(cli, monkeypatch):
    """LOYALTYCTL_DEBUG=1 lets the error through (the runner raises it in-process)."""
    from loyaltyctl.domain.errors import DatabaseUnavailable

    monkeypatch.setenv("LOYALTYCTL_DEBUG", "1")
    with pytest.raises(DatabaseUnavailable):
        cli("points", "balance", "C-1", url="postgresql://postgres@127.0.0.1:1/x")


# --- configuration precedence -------------------------------------------------------


def database_in_use(cli, *flags: str) -> str:
    result = cli(*flags, "db", "current", "--json", url=None)
    assert result.exit_code == 0, result.stderr
    return result.json["database"]


def test_database_url_precedence(cli, tmp_path, monkeypatch):
    assert database_in_use(cli) == fresh_sqlite(tmp_path / "xdg-data" / "loyaltyctl", "loyalty.db")

    write(tmp_path / "loyaltyctl.toml", f'database_url = "{fresh_sqlite(tmp_path, "file.db")}"\n')
    assert database_in_use(cli) == fresh_sqlite(tmp_path, "file.db")

    monkeypatch.setenv("LOYALTYCTL_DATABASE_URL", fresh_sqlite(tmp_path, "env.db"))
    assert database_in_use(cli) == fresh_sqlite(tmp_path, "env.db")

    flag = fresh_sqlite(tmp_path, "flag.db")
    assert database_in_use(cli, "--database-url", flag) == flag


def test_config_file_precedence(cli, tmp_path, monkeypatch):
    write(
        tmp_path / "xdg-config" / "loyaltyctl" / "config.toml",
        'database_url = "sqlite:///xdg.db"\n',
    )
    assert database_in_use(cli) == "sqlite:///xdg.db"

    write(tmp_path / "loyaltyctl.toml", 'database_url = "sqlite:///local.db"\n')
    assert database_in_use(cli) == "sqlite:///local.db"

    write(tmp_path / "env.toml", 'database_url = "sqlite:///env-config.db"\n')
    monkeypatch.setenv("LOYALTYCTL_CONFIG", str(tmp_path / "env.toml"))
    assert database_in_use(cli) == "sqlite:///env-config.db"

    write(tmp_path / "flag.toml", 'database_url = "sqlite:///flag-config.db"\n')
    assert database_in_use(cli, "--config", "flag.toml") == "sqlite:///flag-config.db"


def test_operator_precedence(cli, tmp_path, monkeypatch):
    add_member(cli, "C-1", "Ada")
    write(tmp_path / "loyaltyctl.toml", 'operator = "front-desk"\n')
    credit(cli, "C-1", 1, "env wins over the file")
    assert history(cli, "C-1")[0]["operator"] == "tester"
    monkeypatch.delenv("LOYALTYCTL_OPERATOR")
    credit(cli, "C-1", 1, "the file")
    assert history(cli, "C-1")[0]["operator"] == "front-desk"
    result = cli("--operator", "alice", "points", "credit", "C-1", "1", "--reason", "flag")
    assert result.exit_code == 0, result.stderr
    assert history(cli, "C-1")[0]["operator"] == "alice"


def test_timezone_from_the_config_file_and_the_environment(cli, tmp_path, monkeypatch):
    add_member(cli, "C-1", "Ada")
    write(tmp_path / "loyaltyctl.toml", 'timezone = "Europe/Berlin"\n')
    credit(cli, "C-1", 1, "file", "--expires", "2099-01-01")
    assert history(cli, "C-1")[0]["expires_at"] == "2099-01-01T22:59:59Z"
    monkeypatch.setenv("LOYALTYCTL_TIMEZONE", "UTC")
    credit(cli, "C-1", 1, "env", "--expires", "2099-01-01")
    assert history(cli, "C-1")[0]["expires_at"] == "2099-01-01T23:59:59Z"


@pytest.mark.parametrize(
    "content",
    [
        'database_url = "sqlite:///x.db"\nbogus = 1\n',
        "database_url = \n",
        'timezone = "Mars/Base"\n',
    ],
    ids=["unknown-key", "not-toml", "unknown-timezone"],
)
def test_a_bad_config_file_exits_4(cli, tmp_path, content):
    write(tmp_path / "loyaltyctl.toml", content)
    result = cli("points", "balance", "C-1", "--json")
    assert result.exit_code == 4, result.stderr
    assert result.json["error"]["code"] == "config"
    message = flat(result.stderr)
    assert "loyaltyctl.toml" in message or "Mars/Base" in message
    if "bogus" in content:
        assert "bogus" in message


def test_a_missing_config_file_named_by_flag_exits_4(cli):
    result = cli("--config", "nope.toml", "db", "current", "--json")
    assert result.exit_code == 4
    assert result.json["error"]["code"] == "config"
    assert "nope.toml" in flat(result.stderr)


def test_a_bad_environment_value_exits_4(cli, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_EXPIRING_SOON_DAYS", "soon")
    result = cli("db", "current", "--json")
    assert result.exit_code == 4
    assert "LOYALTYCTL_EXPIRING_SOON_DAYS" in flat(result.stderr)


# --- demo ---------------------------------------------------------------------------


def test_demo_on_a_fresh_database_then_again_applies_nothing(cli, tmp_path):
    # SQLite: a brand-new file the demo must create; PostgreSQL: the empty test database
    url = fresh_sqlite(tmp_path, "demo.db") if cli.url.startswith("sqlite") else cli.url
    first = cli("demo", "--json", url=url)
    assert first.exit_code == 0, first.stderr
    doc = first.json
    assert doc["members"]["applied"] > 0 and doc["points"]["applied"] > 0
    assert doc["credit"]["replayed"] is False and doc["write_off"]["replayed"] is False
    actions = [c["action"] for c in doc["program"]["changes"]]
    # fifteen perks (five of them coupons), two campaigns, six rules, three tiers, three
    # discounts
    assert actions == ["create"] * 29
    events = doc["events"]
    assert (events["events"], events["applied"], events["errors"]) == (14, 14, [])
    assert events["members_created"] == 2 and events["points_reversed"] > 0
    assert [c["perk"] for c in doc["claims"]] == ["free-coffee", "ten-percent-off", "vip-discord"]
    assert [r["campaign"] for r in doc["redemptions"]] == ["winter-2026", "students-welcome"]
    assert doc["generated"]["count"] == 100
    assert doc["generated_redemption"]["campaign"] == "winter-2026"
    points = doc["overview"]["points"]
    assert (
        points["outstanding"]
        == points["issued"]
        - points["spent"]
        - points["written_off"]
        - points["reversed"]
        - points["expired"]
    )
    claimed = {p["slug"]: p["claims"] for p in doc["claims_stats"]["perks"]}
    assert claimed["free-coffee"] == 3  # one claim and two promo prizes
    coupons = {c["perk"]: c["redemption"]["coupon"] for c in doc["coupons"]}
    assert {k: v["kind"] for k, v in coupons.items()} == {
        "ten-dollars-off": "fixed",
        "ten-percent-coupon": "percent",
        "convert-points": "convert",
        "free-shipping-coupon": "free_shipping",
        "free-lipstick": "free_product",
    }
    # the seed's numbers: 200 points converted give $20 off orders of $50 or more
    assert (coupons["convert-points"]["amount"], coupons["convert-points"]["min_purchase"]) == (
        "20.00",
        "50.00",
    )
    check = doc["coupon_check"]
    assert (check["applies"], check["amount"]) == (True, "20.00")
    assert sum(Decimal(line["amount"]) for line in check["lines"]) == Decimal("20.00")
    assert doc["overview"]["coupons"]["issued"] == 5
    # the sample events grant C-1001 both subscription discounts (one group) and coffee-club
    quote = doc["quote"]
    beans = quote["lines"][0]
    assert [(d["slug"], d["amount"]) for d in beans["discounts"]] == [
        ("emerald-15", "5.55"),
        ("coffee-club", "1.85"),
    ]
    assert [n["reason"] for n in beans["not_applied"]] == ["exclusive_group"]
    assert [n["reason"] for n in quote["lines"][2]["not_applied"]] == [
        "not_in_scope",  # coffee-club: the mug is not coffee
        "does_not_stack_with_sale",
        "does_not_stack_with_sale",
    ]

    again = cli("demo", "--json", url=url)
    assert again.exit_code == 0, again.stderr
    doc2 = again.json
    assert (doc2["members"]["applied"], doc2["points"]["applied"]) == (0, 0)
    assert doc2["members"]["replayed"] == doc["members"]["rows"]
    assert doc2["points"]["replayed"] == doc["points"]["rows"]
    assert doc2["credit"]["replayed"] is True and doc2["write_off"]["replayed"] is True
    assert doc2["credit"]["entry_id"] == doc["credit"]["entry_id"]
    assert [c["action"] for c in doc2["program"]["changes"]] == ["unchanged"] * 29
    assert (doc2["events"]["applied"], doc2["events"]["replayed"]) == (0, 14)
    assert doc2["quote"]["totals"] == doc["quote"]["totals"]
    assert doc2["generated"] is None
    assert [c["claim_id"] for c in doc2["claims"]] == [c["claim_id"] for c in doc["claims"]]
    assert [c["redemption"]["value"] for c in doc2["coupons"]] == [
        c["redemption"]["value"] for c in doc["coupons"]
    ]

    verified = cli("audit", "verify", "--json", url=url)
    assert verified.exit_code == 0, verified.stderr
    found = cli("member", "find", "0321", "--json", url=url)
    assert [m["external_id"] for m in found.json] == ["C-1001"]


def test_demo_human_output(cli, tmp_path):
    result = cli("demo", url=fresh_sqlite(tmp_path, "demo.db"))
    assert result.exit_code == 0, result.stderr
    assert "C-1001" in result.stdout


def test_demo_runs_on_its_own_database_whatever_the_environment_says(cli, tmp_path, monkeypatch):
    """A club's real database (LOYALTYCTL_DATABASE_URL, the config file) never gets the
    sample members; only --database-url on the command line picks another database."""
    club = tmp_path / "club.db"
    monkeypatch.setenv("LOYALTYCTL_DATABASE_URL", f"sqlite:///{club}")
    (tmp_path / "loyaltyctl.toml").write_text(f'database_url = "sqlite:///{tmp_path / "x.db"}"\n')
    result = cli("demo", "--json", url=None)
    assert result.exit_code == 0, result.stderr
    doc = result.json
    own = tmp_path / "xdg-data" / "loyaltyctl" / "demo.db"
    assert doc["demo_database_file"] == str(own) and own.is_file()
    assert doc["database"] == f"sqlite:///{own}"
    assert not club.exists() and not (tmp_path / "x.db").exists()
    assert doc["keys_file"] == str(tmp_path / "xdg-config" / "loyaltyctl" / "keys.toml")
    assert doc["keys_created"] is True
    explore = cli("member", "list", "--json", url=f"sqlite:///{own}")
    assert len(explore.json) == doc["summary"]["members"]


def test_demo_figures_are_read_at_the_same_moment(cli, tmp_path):
    doc = cli("demo", "--json", url=fresh_sqlite(tmp_path, "demo.db")).json
    summary, overview = doc["summary"], doc["overview"]
    assert summary["members"] == overview["members"] == 14  # 12 imported, 2 joined by events
    assert summary["balance"] + summary["pending"] == overview["points"]["outstanding"]
    assert summary["pending"] == overview["points"]["pending"]


def test_demo_says_where_its_database_and_key_file_are(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("demo", url=None)
    assert result.exit_code == 0, result.stderr
    own = tmp_path / "xdg-data" / "loyaltyctl" / "demo.db"
    lines = result.stdout.splitlines()
    assert f"  rm {own}" in lines  # whole, on a line of its own: ready to copy
    assert f"  export LOYALTYCTL_DATABASE_URL=sqlite:///{own}" in lines
    assert any(str(tmp_path / "xdg-config" / "loyaltyctl" / "keys.toml") in line for line in lines)
    assert "back it up" in flat(result.stdout).lower()
