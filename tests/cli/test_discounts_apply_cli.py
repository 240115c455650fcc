"""`apply` of `[[discount]]` tables: plan, dry run, prune, dormant warnings, positions."""

from __future__ import annotations

from tests.cli.helpers import flat, write
from tests.discount_helpers import PROGRAM


def test_apply_plans_creates_then_nothing_and_warns_of_dormant(cli, tmp_path):
    path = write(tmp_path / "discounts.toml", PROGRAM)
    dry = cli("apply", path, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert [c["action"] for c in dry.json["changes"]] == ["create"] * 5
    assert cli("discount", "list", "--all", "--json").json == []  # nothing written
    first = cli("apply", path)
    assert first.exit_code == 0, first.stderr
    warning = flat(first.stderr)
    assert "discount sleepy is dormant: it has no scope" in warning
    assert "discounts.toml:" in warning and "diamond-10" not in warning
    again = cli("apply", path, "--json")
    assert [c["action"] for c in again.json["changes"]] == ["unchanged"] * 5
    assert again.json["warnings"] == [w for w in again.json["warnings"] if "sleepy" in w]


def test_a_changed_percent_is_planned_old_to_new(cli, tmp_path):
    path = write(tmp_path / "d.toml", PROGRAM)
    cli("apply", path)
    write(path, PROGRAM.replace("percent = 15", "percent = 12.5"))
    plan = cli("apply", path, "--json").json
    change = next(c for c in plan["changes"] if c["slug"] == "emerald-15")
    assert change["action"] == "update"
    assert change["changes"] == [{"field": "percent", "old": 15, "new": 12.5}]


def test_prune_disables_a_discount_missing_from_the_files(cli, tmp_path):
    path = write(tmp_path / "d.toml", PROGRAM)
    cli("apply", path)
    head = PROGRAM[: PROGRAM.index('[[discount]]\nslug = "night-owl"')]
    write(path, head)
    result = cli("apply", path, "--prune", "--json")
    assert result.exit_code == 0, result.stderr
    disabled = [c["slug"] for c in result.json["changes"] if c["action"] == "disable"]
    assert disabled == ["night-owl", "sleepy"]
    listed = {d["slug"]: d["enabled"] for d in cli("discount", "list", "--all", "--json").json}
    assert listed["night-owl"] is False and listed["diamond-10"] is True


def test_bad_discount_tables_list_every_problem_with_position(cli, tmp_path):
    bad = PROGRAM.replace("percent = 20", "percent = 120").replace(
        'stack_with = ["coupon", "discount"]\npriority = 10\nexclusive_group',
        'stack_with = ["coupn"]\npriority = 10\nexclusive_group',
        1,
    )
    path = write(tmp_path / "d.toml", bad)
    result = cli("apply", path)
    assert result.exit_code == 3
    text = flat(result.stderr)
    assert "d.toml:" in text and "percent" in text and "coupn" in text
    assert cli("discount", "list", "--all", "--json").json == []
