"""`member import --preset shopify|square`, `--ignore-unknown-columns`, `-` for standard
input on the file arguments, and `member list --csv` importing back unchanged, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import add_member, write

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stores"


def show(cli, member: str) -> dict:
    result = cli("member", "show", member, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json.get("member", result.json)


def test_a_shopify_customer_export_imports_as_it_is(cli):
    path = FIXTURES / "shopify-customers.csv"
    result = cli("member", "import", str(path), "--preset", "shopify", "--json")
    assert result.exit_code == 0, result.stderr
    assert (result.json["rows"], result.json["created"]) == (2, 2)
    bob = show(cli, "207119551")  # Shopify's leading ' on ids is not part of the id
    assert (bob["name"], bob["email"], bob["phone"]) == (
        "Bob Norman",
        "bob.norman@example.com",
        "+16136120707",
    )
    assert sorted(bob["tags"]) == ["VIP", "newsletter"]
    again = cli("member", "import", str(path), "--preset", "shopify", "--json")
    assert (again.json["applied"], again.json["replayed"]) == (0, 2)


def test_a_square_export_reads_birthdays_without_a_year(cli):
    path = FIXTURES / "square-customers.csv"
    result = cli("member", "import", str(path), "--preset", "square", "--json")
    assert result.exit_code == 0, result.stderr
    grace = show(cli, "SQ-100")
    assert (grace["birthday"], sorted(grace["groups"])) == ("12-09", ["Coffee club", "Regulars"])
    assert show(cli, "FAKE0CUSTOMER2")["birthday"] == "1912-06-23"  # no Reference ID


def test_a_preset_problem_names_the_platform_column_and_changes_nothing(cli, tmp_path):
    text = (FIXTURES / "square-customers.csv").read_text().replace("0000-12-09", "0000-13-40")
    result = cli("member", "import", str(write(tmp_path / "sq.csv", text)), "--preset", "square")
    assert result.exit_code == 3
    assert ":2: Birthday:" in result.stderr
    assert cli("member", "show", "FAKE0CUSTOMER2").exit_code == 1
    wrong = cli("member", "import", str(tmp_path / "sq.csv"), "--preset", "wix")
    assert wrong.exit_code == 2


def test_unknown_columns_are_refused_unless_ignored(cli, tmp_path):
    path = write(tmp_path / "m.csv", "external_id,name,favourite_colour\nC-1,Ada,blue\n")
    refused = cli("member", "import", str(path))
    assert refused.exit_code == 3 and "--ignore-unknown-columns" in refused.stderr
    taken = cli("member", "import", str(path), "--ignore-unknown-columns", "--json")
    assert (taken.exit_code, taken.json["created"]) == (0, 1)


def test_member_list_csv_imports_back_unchanged(cli, tmp_path):
    add_member(cli, "C-1", "=HYPERLINK(1)", "--phone", "+1 (613) 555-0101", "--tag", "vip")
    add_member(cli, "C-2", "-minus", "--email", "@home@example.com".lstrip("@"))
    add_member(cli, "C-3", "Pinned", "--tier", "gold", "--birthday", "02-29")
    exported = cli("member", "list", "--csv")
    assert exported.exit_code == 0
    assert "'=HYPERLINK(1)" in exported.stdout  # still guarded for spreadsheets
    assert ",+1 (613) 555-0101," in exported.stdout  # a phone is not a formula
    result = cli("member", "import", "-", "--json", input=exported.stdout)
    assert result.exit_code == 0, result.stderr
    assert (result.json["file"], result.json["applied"], result.json["replayed"]) == (
        "<stdin>",
        0,
        3,
    )
    assert cli("member", "list", "--csv").stdout == exported.stdout
    assert show(cli, "C-1")["name"] == "=HYPERLINK(1)"


def test_points_import_and_apply_read_standard_input(cli, tmp_path):
    add_member(cli)
    csv_text = "member,amount,reason\nC-1,50,welcome\n"
    result = cli("points", "import", "-", "--json", input=csv_text)
    assert (result.exit_code, result.json["applied"]) == (0, 1), result.stderr
    toml = '[[earning_rule]]\nslug = "o"\nkind = "order"\npoints_per_unit = 1\n'
    applied = cli("apply", "-", "--json", input=toml)
    assert (applied.exit_code, applied.json["created"]) == (0, 1), applied.stderr
    events = json.dumps(
        {"id": "e1", "type": "order.paid", "at": "2026-11-02T10:00:00Z", "member": "C-1",
         "order_id": "1", "items": [{"sku": "P", "price": "10.00"}]}
    )  # fmt: skip
    ingested = cli("events", "ingest", "-", "--json", input=events + "\n")
    assert (ingested.exit_code, ingested.json["file"]) == (0, "<stdin>")
    missing = cli("member", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
