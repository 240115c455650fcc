"""`member add | show | find | list | update` as staff and scripts use them."""

from __future__ import annotations

import csv
import io

import pytest

from tests.cli.helpers import add_member, credit, flat


@pytest.fixture
def club(cli):
    add_member(
        cli,
        "C-1001",
        "Ada Lovelace",
        "--phone",
        "+44 20 7946 0321",
        "--email",
        "Ada@Example.org",
        "--birthday",
        "1815-12-10",
        "--tier",
        "gold",
        "--group",
        "chess",
        "--group",
        "students",
        "--tag",
        "vip",
    )
    add_member(cli, "C-1002", "Alan Turing", "--phone", "+44 161 496 0718", "--group", "chess")
    add_member(cli, "C-1003", "Grace Hopper", "--email", "grace@example.org", "--tier", "silver")


def ids(result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [m["external_id"] for m in result.json]


def test_add_prints_the_member(cli):
    result = cli("member", "add", "C-1", "--name", "Ada Lovelace", "--tag", "vip", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert (doc["external_id"], doc["name"], doc["tags"], doc["balance"]) == (
        "C-1",
        "Ada Lovelace",
        ["vip"],
        0,
    )


def test_add_human_output(cli):
    result = cli("member", "add", "C-1", "--name", "Ada Lovelace")
    assert result.exit_code == 0, result.stderr
    assert "C-1" in result.stdout and "Ada Lovelace" in result.stdout


def test_show_has_member_balance_and_recent(cli, club):
    credit(cli, "C-1001", 500, "Tournament")
    result = cli("member", "show", "C-1001", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert {"member", "balance", "recent"} <= set(doc)
    member = doc["member"]
    assert (member["external_id"], member["name"], member["phone"]) == (
        "C-1001",
        "Ada Lovelace",
        "+44 20 7946 0321",
    )
    assert (member["email"], member["birthday"], member["tier"]) == (
        "ada@example.org",
        "1815-12-10",
        "gold",
    )
    assert (member["groups"], member["tags"]) == (["chess", "students"], ["vip"])
    assert (doc["balance"]["balance"], doc["balance"]["pending"]) == (500, 0)
    assert [(e["amount"], e["reason"]) for e in doc["recent"]] == [(500, "Tournament")]


def test_show_human_output(cli, club):
    result = cli("member", "show", "C-1001")
    assert result.exit_code == 0, result.stderr
    assert "Ada Lovelace" in result.stdout and "C-1001" in result.stdout


def test_show_unknown_member(cli, club):
    result = cli("member", "show", "C-1004", "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "unknown_member"


def test_find_by_phone_digits_email_or_part_of_the_name(cli, club):
    for query, expected in (
        ("0321", ["C-1001"]),  # last 4 phone digits
        ("460321", ["C-1001"]),  # last 6
        ("0718", ["C-1002"]),
        ("ada@example.org", ["C-1001"]),
        ("ADA@EXAMPLE.ORG", ["C-1001"]),
        ("love", ["C-1001"]),  # part of the name, any case
        ("LOVELACE", ["C-1001"]),
        ("turing", ["C-1002"]),
        ("9999", []),
        ("nobody", []),
    ):
        assert ids(cli("member", "find", query, "--json")) == expected, query


def test_find_needs_more_than_one_character(cli, club):
    result = cli("member", "find", "a", "--json")
    assert result.exit_code == 2
    assert result.json["error"]["code"] == "usage"


def test_find_human_output_shows_a_table_or_says_no_match(cli, club):
    found = cli("member", "find", "0321")
    assert found.exit_code == 0
    assert "Ada Lovelace" in found.stdout
    none = cli("member", "find", "nobody")
    assert none.exit_code == 0
    assert "No member" in flat(none.stdout + none.stderr)


def test_list_filters(cli, club):
    assert ids(cli("member", "list", "--json")) == ["C-1001", "C-1002", "C-1003"]
    assert ids(cli("member", "list", "--tag", "vip", "--json")) == ["C-1001"]
    assert ids(cli("member", "list", "--group", "chess", "--json")) == ["C-1001", "C-1002"]
    assert ids(cli("member", "list", "--tier", "silver", "--json")) == ["C-1003"]
    assert ids(cli("member", "list", "--group", "chess", "--tag", "vip", "--json")) == ["C-1001"]
    assert ids(cli("member", "list", "--group", "nobody", "--json")) == []
    assert ids(cli("member", "list", "--limit", "2", "--json")) == ["C-1001", "C-1002"]


def test_list_csv_has_a_header_and_neutralises_formulas(cli, club):
    hostile = {
        "X-1": '=HYPERLINK("http://evil.example","click")',
        "X-2": "+SUM(1,2)",
        "X-3": "-2+3",
        "X-4": "@cmd",
    }
    for external_id, name in hostile.items():
        add_member(cli, external_id, name, "--tag", "odd")
    result = cli("member", "list", "--csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header = rows[0]
    assert {"external_id", "name"} <= set(header)
    by_id = {
        row[header.index("external_id")]: dict(zip(header, row, strict=True)) for row in rows[1:]
    }
    assert set(by_id) == {"C-1001", "C-1002", "C-1003", *hostile}
    for external_id, name in hostile.items():
        assert by_id[external_id]["name"] == "'" + name
    assert by_id["C-1002"]["name"] == "Alan Turing"
    assert by_id["C-1001"]["tags"] == "vip"


def test_list_csv_with_a_filter(cli, club):
    result = cli("member", "list", "--group", "chess", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["external_id"] for r in rows] == ["C-1001", "C-1002"]


def test_json_and_csv_together_is_a_usage_error(cli, club):
    result = cli("member", "list", "--json", "--csv")
    assert result.exit_code == 2


def test_update_edits_tags_and_groups_and_reports_what_changed(cli, club):
    result = cli(
        "member",
        "update",
        "C-1001",
        "--add-group",
        "darts",
        "--remove-group",
        "students",
        "--add-tag",
        "new",
        "--remove-tag",
        "vip",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(result.json["changed"]) == ["groups", "tags"]
    member = cli("member", "show", "C-1001", "--json").json["member"]
    assert (member["groups"], member["tags"]) == (["chess", "darts"], ["new"])

    again = cli("member", "update", "C-1001", "--add-group", "darts", "--json")
    assert again.exit_code == 0
    assert again.json["changed"] == []

    renamed = cli("member", "update", "C-1001", "--name", "Augusta Ada King", "--json")
    assert renamed.json["changed"] == ["name"]
    assert cli("member", "show", "C-1001", "--json").json["member"]["name"] == "Augusta Ada King"


def test_update_phone_makes_the_new_digits_findable(cli, club):
    result = cli("member", "update", "C-1003", "--phone", "+1 202 555 0143", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["changed"] == ["phone"]
    assert ids(cli("member", "find", "0143", "--json")) == ["C-1003"]


def test_update_is_recorded_in_the_audit_log(cli, club):
    cli("--operator", "alice", "member", "update", "C-1002", "--add-tag", "vip")
    log = cli("audit", "log", "--operator", "alice", "--json")
    assert log.exit_code == 0
    assert [(r["action"], r["subject"]) for r in log.json] == [("member.update", "member:C-1002")]


def test_update_unknown_member(cli, club):
    result = cli("member", "update", "C-1009", "--name", "X", "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "unknown_member"
    assert "C-1009" in flat(result.stderr)


def test_adding_an_existing_id_is_refused_and_changes_nothing(cli, club):
    result = cli("member", "add", "C-1001", "--name", "Someone Else", "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "member_exists"
    assert "C-1001" in flat(result.stderr)
    assert cli("member", "show", "C-1001", "--json").json["member"]["name"] == "Ada Lovelace"


def test_add_with_a_bad_value_is_a_usage_error(cli):
    for extra in (
        ("--email", "not-an-email"),
        ("--birthday", "1990-13-45"),
        ("--birthday", "31-12"),
        ("--phone", "12"),
        ("--tag", ""),
    ):
        result = cli("member", "add", "C-1", "--name", "Ada", *extra, "--json")
        assert result.exit_code == 2, (extra, result.stderr)
        assert result.json["error"]["code"] == "usage", extra
    assert cli("member", "list", "--json").json == []


def test_add_without_a_name_is_a_usage_error(cli):
    result = cli("member", "add", "C-1")
    assert result.exit_code == 2
    assert cli("member", "list", "--json").json == []


def test_birthday_without_a_year_is_accepted(cli):
    add_member(cli, "C-1", "Ada", "--birthday", "02-29")
    assert cli("member", "show", "C-1", "--json").json["member"]["birthday"] == "02-29"


def test_find_needs_at_least_four_phone_digits(cli):
    add_member(cli, "C-1", "Ada", "--phone", "+44 20 7946 0321")
    short = cli("member", "find", "321", "--json")
    assert short.exit_code == 2
    assert "last 4 to 6 digits" in short.json["error"]["message"]
    assert [m["external_id"] for m in cli("member", "find", "0321", "--json").json] == ["C-1"]
    assert cli("member", "find", "Ad", "--json").exit_code == 0  # a name part stays short
