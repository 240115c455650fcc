"""`points import` and `member import`: all or nothing, re-runnable, every bad row named.

Files are written into the test's folder, which is the working directory, and passed
by their relative name, so messages read `points.csv:3: amount: ...`.
"""

from __future__ import annotations

import pytest

from tests.cli.helpers import add_member, balance, credit, flat, history, write

POINTS_HEADER = "member,amount,reason,key,expires_at\n"
MEMBERS_HEADER = "external_id,name,phone,email,birthday,tier,groups,tags\n"


@pytest.fixture
def two_members(cli):
    add_member(cli, "C-1", "Ada Lovelace")
    add_member(cli, "C-2", "Alan Turing")


def import_points(cli, name: str, *extra: str):
    return cli("points", "import", name, *extra, "--json")


def import_members(cli, name: str, *extra: str):
    return cli("member", "import", name, *extra, "--json")


def problem_places(result) -> set[tuple[int, str]]:
    return {(p["line"], p["field"]) for p in result.json["error"]["problems"]}


# --- points import ------------------------------------------------------------------


def test_points_import_applies_every_row(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", POINTS_HEADER + "C-1,100,Welcome,,\nC-2,50,Welcome,,\n")
    result = import_points(cli, "points.csv")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert (doc["rows"], doc["applied"], doc["replayed"], doc["dry_run"]) == (2, 2, 0, False)
    assert balance(cli, "C-1")["balance"] == 100
    assert balance(cli, "C-2")["balance"] == 50
    entry = history(cli, "C-1")[0]
    assert (entry["reason"], entry["operator"]) == ("Welcome", "tester")


def test_running_a_file_again_applies_nothing(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", POINTS_HEADER + "C-1,100,Welcome,,\nC-2,50,Welcome,,\n")
    import_points(cli, "points.csv")
    again = import_points(cli, "points.csv")
    assert again.exit_code == 0, again.stderr
    assert (again.json["rows"], again.json["applied"], again.json["replayed"]) == (2, 0, 2)
    assert balance(cli, "C-1")["balance"] == 100
    assert len(history(cli, "C-1")) == 1


def test_appended_rows_are_the_only_ones_applied(cli, tmp_path, two_members):
    path = write(tmp_path / "points.csv", POINTS_HEADER + "C-1,100,Welcome,,\nC-2,50,Welcome,,\n")
    import_points(cli, "points.csv")
    path.write_text(path.read_text() + "C-1,25,Coffee,,\n")
    result = import_points(cli, "points.csv")
    assert result.exit_code == 0, result.stderr
    assert (result.json["rows"], result.json["applied"], result.json["replayed"]) == (3, 1, 2)
    assert balance(cli, "C-1")["balance"] == 125
    assert balance(cli, "C-2")["balance"] == 50


def test_identical_rows_in_one_file_each_count(cli, tmp_path, two_members):
    path = write(tmp_path / "points.csv", "member,amount,reason\nC-1,10,Coffee\nC-1,10,Coffee\n")
    first = import_points(cli, "points.csv")
    assert (first.json["applied"], first.json["replayed"]) == (2, 0)
    assert balance(cli, "C-1")["balance"] == 20
    again = import_points(cli, "points.csv")
    assert (again.json["applied"], again.json["replayed"]) == (0, 2)
    path.write_text(path.read_text() + "C-1,10,Coffee\n")
    third = import_points(cli, "points.csv")
    assert (third.json["applied"], third.json["replayed"]) == (1, 2)
    assert balance(cli, "C-1")["balance"] == 30


def test_the_output_says_keys_were_derived(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", "member,amount,reason\nC-1,10,Coffee\n")
    result = cli("points", "import", "points.csv")
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout).lower()
    assert "derived" in text and "again" in text


def test_negative_amounts_are_write_offs(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", "member,amount,reason\nC-1,100,Welcome\nC-1,-30,Correction\n")
    result = import_points(cli, "points.csv")
    assert result.exit_code == 0, result.stderr
    assert balance(cli, "C-1")["balance"] == 70
    assert [e["amount"] for e in history(cli, "C-1")] == [-30, 100]


def test_expires_at_and_pending_until_columns(cli, tmp_path, two_members, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_EXPIRING_SOON_DAYS", "40000")
    write(
        tmp_path / "points.csv",
        "member,amount,reason,expires_at,pending_until\n"
        "C-1,10,Expiring,2099-01-01,\nC-2,20,Held,,2099-01-01\n",
    )
    result = import_points(cli, "points.csv")
    assert result.exit_code == 0, result.stderr
    assert balance(cli, "C-1")["expiring"] == [{"amount": 10, "expires_at": "2099-01-01T23:59:59Z"}]
    c2 = balance(cli, "C-2")
    assert (c2["balance"], c2["pending"]) == (0, 20)


def test_key_column_replays_and_shares_keys_with_the_cli(cli, tmp_path, two_members):
    credit(cli, "C-1", 100, "Welcome", "--key", "welcome-c1")
    write(tmp_path / "points.csv", POINTS_HEADER + "C-1,100,Welcome,welcome-c1,\n")
    result = import_points(cli, "points.csv")
    assert result.exit_code == 0, result.stderr
    assert (result.json["applied"], result.json["replayed"]) == (0, 1)
    assert balance(cli, "C-1")["balance"] == 100

    write(tmp_path / "clash.csv", POINTS_HEADER + "C-2,5,Other,x1,\nC-1,999,Welcome,welcome-c1,\n")
    clash = import_points(cli, "clash.csv")
    assert clash.exit_code == 3
    assert problem_places(clash) == {(3, "key")}
    assert balance(cli, "C-1")["balance"] == 100
    assert balance(cli, "C-2")["balance"] == 0


def test_a_file_with_bad_rows_changes_nothing_and_names_every_one(cli, tmp_path, two_members):
    credit(cli, "C-1", 100, "start")
    write(
        tmp_path / "points.csv",
        POINTS_HEADER
        + "C-1,10,Good row,,\n"  # line 2: fine
        + "C-1,1.5,Bad amount,,\n"  # 3
        + "C-9,10,Unknown member,,\n"  # 4
        + "C-1,10,,,\n"  # 5: missing reason
        + "C-1,10,Bad date,,2099-02-30\n"  # 6
        + "C-2,-500,Below zero,,\n"  # 7
        + "C-2,20,Good row,,\n",  # 8: fine
    )
    result = import_points(cli, "points.csv")
    assert result.exit_code == 3, result.stderr
    error = result.json["error"]
    assert error["code"] == "bad_input_file"
    expected = {(3, "amount"), (4, "member"), (5, "reason"), (6, "expires_at"), (7, "amount")}
    assert problem_places(result) == expected
    for problem in error["problems"]:
        assert problem["file"].endswith("points.csv")
        assert problem["message"]
    stderr = flat(result.stderr)
    for line, field in expected:
        assert f"points.csv:{line}: {field}" in stderr
    assert balance(cli, "C-1")["balance"] == 100
    assert balance(cli, "C-2")["balance"] == 0
    assert len(history(cli, "C-1")) == 1
    assert history(cli, "C-2") == []


def test_each_problem_is_one_stderr_line_even_with_a_long_path(cli, tmp_path, two_members):
    path = write(
        tmp_path / ("imports-of-the-long-running-club-" * 3) / "points.csv",
        POINTS_HEADER + "C-1,1.5,Bad amount,,\nC-9,10,Unknown member,,\n",
    )
    result = import_points(cli, str(path))
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    for line, field in ((2, "amount"), (3, "member")):
        assert any(text.startswith(f"{path}:{line}: {field}:") for text in lines), lines


def test_a_missing_column_is_named_on_line_1(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", "member,amount\nC-1,10\n")
    result = import_points(cli, "points.csv")
    assert result.exit_code == 3
    assert (1, "reason") in problem_places(result)
    assert balance(cli, "C-1")["balance"] == 0


def test_dry_run_reports_and_changes_nothing(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", POINTS_HEADER + "C-1,100,Welcome,,\nC-2,50,Welcome,,\n")
    dry = import_points(cli, "points.csv", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    doc = dry.json
    assert (doc["rows"], doc["applied"], doc["replayed"], doc["dry_run"]) == (2, 2, 0, True)
    assert balance(cli, "C-1")["balance"] == 0
    assert history(cli, "C-2") == []
    real = import_points(cli, "points.csv")
    assert (real.json["applied"], real.json["dry_run"]) == (2, False)
    assert balance(cli, "C-1")["balance"] == 100


def test_dry_run_of_a_bad_file_still_names_the_rows(cli, tmp_path, two_members):
    write(tmp_path / "points.csv", POINTS_HEADER + "C-1,abc,Welcome,,\n")
    result = import_points(cli, "points.csv", "--dry-run")
    assert result.exit_code == 3
    assert problem_places(result) == {(2, "amount")}


def test_a_missing_file_is_a_usage_error(cli):
    result = cli("points", "import", "nope.csv")
    assert result.exit_code == 2
    assert "nope.csv" in flat(result.stderr)


# --- member import ------------------------------------------------------------------


def member_json(cli, external_id: str) -> dict:
    result = cli("member", "show", external_id, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json["member"]


def test_member_import_creates_updates_and_leaves_unchanged(cli, tmp_path):
    write(
        tmp_path / "members.csv",
        MEMBERS_HEADER
        + "M-1,Ann One,+1 202 555 0143,ann@example.org,1990-01-02,gold,chess;darts,vip\n"
        + "M-2,Bob Two,,,,,,\n",
    )
    first = import_members(cli, "members.csv")
    assert first.exit_code == 0, first.stderr
    doc = first.json
    assert (doc["rows"], doc["applied"], doc["replayed"], doc["dry_run"]) == (2, 2, 0, False)
    ann = member_json(cli, "M-1")
    assert (ann["name"], ann["email"], ann["birthday"], ann["tier"]) == (
        "Ann One",
        "ann@example.org",
        "1990-01-02",
        "gold",
    )
    assert (ann["groups"], ann["tags"]) == (["chess", "darts"], ["vip"])

    again = import_members(cli, "members.csv")
    assert (again.json["applied"], again.json["replayed"]) == (0, 2)

    write(
        tmp_path / "changes.csv",
        MEMBERS_HEADER
        + "M-1,Ann One,,,,,chess,\n"  # groups replaced, empty cells keep what is stored
        + "M-2,Bob Two,,,,,,\n"  # unchanged
        + "M-3,Cy Three,,,01-31,,,\n",  # new
    )
    changes = import_members(cli, "changes.csv")
    assert changes.exit_code == 0, changes.stderr
    assert (changes.json["rows"], changes.json["applied"], changes.json["replayed"]) == (3, 2, 1)
    ann = member_json(cli, "M-1")
    assert ann["groups"] == ["chess"]
    assert (ann["email"], ann["tags"], ann["phone"]) == (
        "ann@example.org",
        ["vip"],
        "+1 202 555 0143",
    )
    assert member_json(cli, "M-3")["birthday"] == "01-31"


def test_member_import_bad_rows_name_line_and_column_and_change_nothing(cli, tmp_path):
    add_member(cli, "M-0", "Already Here")
    write(
        tmp_path / "members.csv",
        MEMBERS_HEADER
        + "M-4,Dee,,not-an-email,,,,\n"  # line 2
        + "M-5,Eve,,,1990-13-45,,,\n"  # 3
        + "M-6,Fay,,,,,,\n"  # 4: fine on its own
        + "M-4,Dee Again,,,,,,\n"  # 5: duplicate id
        + "M-0,Changed Name,,,,,,\n",  # 6: fine on its own
    )
    result = import_members(cli, "members.csv")
    assert result.exit_code == 3, result.stderr
    assert result.json["error"]["code"] == "bad_input_file"
    expected = {(2, "email"), (3, "birthday"), (5, "external_id")}
    assert problem_places(result) == expected
    stderr = flat(result.stderr)
    for line, field in expected:
        assert f"members.csv:{line}: {field}" in stderr
    assert "line 2" in next(
        p["message"] for p in result.json["error"]["problems"] if p["line"] == 5
    )
    listing = cli("member", "list", "--json")
    assert [m["external_id"] for m in listing.json] == ["M-0"]
    assert member_json(cli, "M-0")["name"] == "Already Here"


def test_member_import_dry_run_changes_nothing(cli, tmp_path):
    write(tmp_path / "members.csv", MEMBERS_HEADER + "M-1,Ann One,,,,,,\n")
    dry = import_members(cli, "members.csv", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert (dry.json["applied"], dry.json["dry_run"]) == (1, True)
    assert cli("member", "list", "--json").json == []


def test_an_excel_export_with_bom_and_crlf_is_read(cli, tmp_path, two_members):
    (tmp_path / "excel.csv").write_bytes(
        "\ufeffmember,amount,reason\r\nC-1,3,Café\r\nC-2,4,Thé\r\n".encode()
    )
    result = import_points(cli, "excel.csv")
    assert result.exit_code == 0, result.stderr
    assert (result.json["rows"], result.json["applied"]) == (2, 2)
    assert history(cli, "C-1")[0]["reason"] == "Café"


def test_a_file_that_is_not_utf8_is_a_bad_file(cli, tmp_path, two_members):
    (tmp_path / "latin.csv").write_bytes(b"member,amount,reason\nC-1,3,Tea\nC-2,4,Caf\xe9\n")
    result = import_points(cli, "latin.csv")
    assert result.exit_code == 3
    assert result.json["error"]["code"] == "bad_input_file"
    assert balance(cli, "C-1")["balance"] == 0


def test_a_non_utf8_byte_is_reported_on_its_line(cli, tmp_path, two_members):
    (tmp_path / "latin.csv").write_bytes(b"member,amount,reason\nC-1,3,Tea\nC-2,4,Caf\xe9\n")
    result = import_points(cli, "latin.csv")
    assert result.exit_code == 3
    assert [p["line"] for p in result.json["error"]["problems"]] == [3]
