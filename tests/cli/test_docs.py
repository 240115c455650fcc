"""Every command documents itself (--help with an example) and is in the README.

No database is needed: these tests run the CLI in-process with Typer's runner.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from loyaltyctl.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
GLOBAL_OPTIONS_WITH_VALUE = {"--database-url", "--config", "--operator"}


def _walk(command, path=()):
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _walk(sub, (*path, name))


ROOT = typer.main.get_command(app)
TREE = dict(_walk(ROOT))
LEAVES = [path for path, command in TREE.items() if not getattr(command, "commands", None)]
GROUPS = [path for path, command in TREE.items() if getattr(command, "commands", None)]


def _id(path) -> str:
    return " ".join(path) or "loyaltyctl"


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return CliRunner()


def test_the_tree_has_the_documented_commands():
    expected = {
        ("init",),
        ("demo",),
        ("db", "upgrade"),
        ("db", "current"),
        ("member", "add"),
        ("member", "import"),
        ("member", "find"),
        ("member", "show"),
        ("member", "list"),
        ("member", "update"),
        ("points", "credit"),
        ("points", "write-off"),
        ("points", "import"),
        ("points", "balance"),
        ("points", "history"),
        ("maintain", "run"),
        ("audit", "log"),
        ("audit", "verify"),
    }
    assert expected <= set(LEAVES)


@pytest.mark.parametrize("path", LEAVES, ids=_id)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_with_an_example(runner, path, flag):
    result = runner.invoke(app, [*path, flag])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("path", GROUPS, ids=_id)
def test_every_group_has_help_with_an_example(runner, path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout


def test_root_help_names_the_environment_variables(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("LOYALTYCTL_DATABASE_URL", "LOYALTYCTL_CONFIG", "LOYALTYCTL_OPERATOR"):
        assert name in result.stdout


def test_root_help_lists_every_noun(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ROOT.commands:
        assert name in result.stdout


@pytest.mark.parametrize("path", [p for p in TREE if p], ids=_id)
def test_every_command_path_is_in_the_readme(path):
    readme = README.read_text(encoding="utf-8")
    assert re.search(rf"loyaltyctl {re.escape(' '.join(path))}(?![\w-])", readme), (
        f"`loyaltyctl {' '.join(path)}` is not documented in README.md"
    )


def _readme_command_paths() -> set[tuple[str, ...]]:
    """The command paths the README shows after `loyaltyctl` (global flags skipped)."""
    paths = set()
    for match in re.finditer(r"loyaltyctl ((?:[^\s`|]+ ?)+)", README.read_text("utf-8")):
        tokens = match.group(1).split()
        while tokens and tokens[0].startswith("-"):
            flag = tokens.pop(0)
            if flag in GLOBAL_OPTIONS_WITH_VALUE and tokens:
                tokens.pop(0)
        words = []
        for token in tokens:
            if not re.fullmatch(r"[a-z][a-z-]*", token):
                break
            words.append(token)
            if not getattr(TREE.get(tuple(words)), "commands", None):
                break
        if words:
            paths.add(tuple(words))
    return paths


def test_the_readme_names_only_commands_that_exist():
    named = _readme_command_paths()
    assert ("points", "credit") in named and ("init",) in named
    missing = sorted(" ".join(p) for p in named if p not in TREE)
    assert not missing, f"README.md shows commands that do not exist: {missing}"


def test_no_arguments_shows_help_not_a_traceback(runner):
    result = runner.invoke(app, [])
    assert "Usage:" in result.output
    assert "Traceback" not in result.output
