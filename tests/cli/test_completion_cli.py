"""`completion bash|zsh|fish`: a static script; bash's is run for real."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def _complete(script: str, *words: str) -> list[str]:
    """What the bash script offers for `loyaltyctl WORDS...` (the last word being typed)."""
    line = " ".join(f"'{w}'" for w in ("loyaltyctl", *words))
    program = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _loyaltyctl; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash here")
def test_the_bash_script_completes_commands_sub_commands_and_options(cli):
    result = cli("completion", "bash", url=None)
    assert result.exit_code == 0, result.stderr
    script = result.stdout
    assert _complete(script, "mem") == ["member"]
    assert _complete(script, "member", "") == [
        "add", "find", "forget", "import", "list", "show", "update", "--help"
    ]  # fmt: skip
    assert _complete(script, "member", "add", "C-1", "--na") == ["--name"]
    assert _complete(script, "--database-url", "sqlite:///x.db", "rules", "ex") == ["export"]
    assert "--now" in _complete(script, "maintain", "run", "--")


def test_zsh_and_fish_scripts_name_every_command(cli):
    zsh = cli("completion", "zsh", url=None).stdout
    assert zsh.startswith("#compdef loyaltyctl") and "bashcompinit" in zsh
    fish = cli("completion", "fish", url=None).stdout
    assert "complete -c loyaltyctl -n '__fish_use_subcommand' -a 'apply audit" in fish
    assert (
        "-n '__fish_seen_subcommand_from member; and __fish_seen_subcommand_from add' -l name"
        in fish
    )


def test_an_unknown_shell_is_a_usage_error(cli):
    assert cli("completion", "tcsh", url=None).exit_code == 2
