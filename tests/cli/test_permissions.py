"""The permissions table (cli/_permissions.py): one entry per command, the spec's roles,
and the check wired in front of every command. No database needed."""

from __future__ import annotations

import typer.main

from loyaltyctl.cli._permissions import CAPPED, OFFLINE, OPEN, OWN_DATABASE, PERMISSIONS, may
from loyaltyctl.cli.main import app
from loyaltyctl.domain.roles import ADMINISTRATOR, MANAGER, OWNER, ROLES


def _leaves(command, path=()):
    children = getattr(command, "commands", None)
    if children is None:
        yield " ".join(path), command
        return
    for name, sub in children.items():
        yield from _leaves(sub, (*path, name))


ROOT = typer.main.get_command(app)
LEAVES = dict(_leaves(ROOT))


def test_every_registered_command_has_an_entry():
    missing = sorted(path for path in LEAVES if path not in PERMISSIONS)
    assert missing == [], f"add these commands to PERMISSIONS in cli/_permissions.py: {missing}"


def test_every_option_that_reveals_secrets_has_its_own_entry():
    revealing = {
        f"{path} {opt}"
        for path, command in LEAVES.items()
        for param in command.params
        for opt in getattr(param, "opts", ())
        if opt.startswith("--reveal")
    }
    assert revealing, "the tree has --reveal options"
    assert sorted(revealing - set(PERMISSIONS)) == []
    for key in revealing:
        assert PERMISSIONS[key] == (OWNER, MANAGER), key  # secrets need a manager


def test_option_entries_name_real_options_of_their_command():
    for key in PERMISSIONS:
        command, _, option = key.partition(" --")
        if option and command in LEAVES:
            opts = {o for p in LEAVES[command].params for o in getattr(p, "opts", ())}
            assert f"--{option}" in opts, key


def test_every_entry_names_known_roles_and_always_the_owner():
    for key, roles in PERMISSIONS.items():
        assert roles and set(roles) <= set(ROLES), key
        assert OWNER in roles, key  # an owner may do everything
        if ADMINISTRATOR in roles:
            assert MANAGER in roles, key  # what an administrator may, a manager may


def test_the_roles_of_the_spec():
    owners_only = {key for key, roles in PERMISSIONS.items() if roles == (OWNER,)}
    assert owners_only == {
        "init",
        "db upgrade",
        "keys init",
        "keys rotate",
        "demo",
        "staff add",
        "staff set-role",
        "staff remove",
        "staff cap",
    }
    counter = set(may(ADMINISTRATOR))
    for key in (
        "member add",
        "member find",
        "member show",
        "member update",
        "points credit",
        "points write-off",
        "perk claim",
        "promo redeem",
        "coupon check",
        "coupon use",
        "discount grant",
        "quote",
        "stats overview",
        "stats claims",
        "stats promo",
        "stats members",
    ):
        assert key in counter, key
    for key in (
        "apply",
        "member import",
        "points import",
        "events ingest",
        "maintain run",
        "claim cancel",
        "perk enable",
        "promo create",
        "promo generate",
        "promo export",
        "coupon export",
        "coupon release",
        "discount revoke",
        "perk export --reveal-secrets",
        "coupon list --reveal",
    ):
        assert key not in counter and key in may(MANAGER), key
    assert set(CAPPED) == {"points credit", "points write-off"}
    assert may(None) == []


def test_the_exempt_sets_name_registered_commands():
    for path in OPEN | OFFLINE | OWN_DATABASE:
        assert path in LEAVES, path


def test_every_command_is_guarded():
    for path, command in LEAVES.items():
        assert command.callback.__qualname__ == "_guarded.<locals>.checked", path


def test_help_reads_no_database(monkeypatch, tmp_path):
    """--help never reaches the check (it would open the database)."""
    from typer.testing import CliRunner

    monkeypatch.setenv("LOYALTYCTL_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for path in ("points credit", "staff add", "apply"):
        result = CliRunner().invoke(app, [*path.split(), "--help"])
        assert result.exit_code == 0 and "Example:" in result.stdout
