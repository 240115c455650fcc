"""`loyaltyctl completion bash|zsh|fish`: a static completion script.

The script is written from the command tree when this command runs, so completing
costs the shell nothing (it never starts loyaltyctl to ask) and loyaltyctl's own
start-up is untouched (Typer's completion machinery stays off). Install it again after
an upgrade that adds commands.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

NAME = "loyaltyctl"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")],
) -> None:
    """Print a shell completion script for commands, sub-commands and options.

    bash:  loyaltyctl completion bash > ~/.local/share/bash-completion/completions/loyaltyctl
    zsh:   loyaltyctl completion zsh > "${fpath[1]}/_loyaltyctl"
    fish:  loyaltyctl completion fish > ~/.config/fish/completions/loyaltyctl.fish

    Example: loyaltyctl completion fish > ~/.config/fish/completions/loyaltyctl.fish
    """
    from loyaltyctl.cli._output import Output

    tree = command_tree()
    script = {Shell.bash: bash, Shell.zsh: zsh, Shell.fish: fish}[shell](tree)
    Output().text_file(script)


def command_tree() -> dict[str, tuple[list[str], list[str]]]:
    """Each command path ("" for the root, "member", "member add") -> (its sub-commands,
    its options)."""
    import typer.main

    from loyaltyctl.cli.main import app

    tree: dict[str, tuple[list[str], list[str]]] = {}

    def walk(command, path: str) -> None:
        # duck-typed: Typer may bring a Click of its own
        options = sorted(
            name
            for param in command.params
            if getattr(param, "param_type_name", "") == "option"
            for name in (*param.opts, *param.secondary_opts)
            if name.startswith("--")
        )
        group = getattr(command, "commands", None) or {}
        subcommands = sorted(n for n, c in group.items() if not getattr(c, "hidden", False))
        tree[path] = (subcommands, [*options, "--help"])
        for name in subcommands:
            walk(command.commands[name], f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    return tree


def bash(tree) -> str:
    cases = "\n".join(
        f'    "{path}") echo "{" ".join(subs + opts)}" ;;' for path, (subs, opts) in tree.items()
    )
    return f"""# bash completion for {NAME} (static: written by `{NAME} completion bash`)
_{NAME}_words() {{
  case "$1" in
{cases}
  esac
}}
_{NAME}() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" path="" word i words
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${{COMP_WORDS[i]}}"
    [[ $word == -* ]] && continue
    words=" $(_{NAME}_words "$path") "
    [[ $words == *" $word "* ]] && path="${{path:+$path }}$word"
  done
  COMPREPLY=($(compgen -W "$(_{NAME}_words "$path")" -- "$cur"))
  if [[ ${{#COMPREPLY[@]}} -eq 0 && $cur != -* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o filenames -F _{NAME} {NAME}
"""


def zsh(tree) -> str:
    return (
        f"#compdef {NAME}\n# zsh completion for {NAME}: the bash script through bashcompinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(tree).split("\n", 1)[1]
    )


def fish(tree) -> str:
    lines = [f"# fish completion for {NAME} (static: written by `{NAME} completion fish`)"]
    lines.append(f"complete -c {NAME} -f")
    for path, (subs, opts) in tree.items():
        words = path.split()
        if words:
            seen = "; and ".join(f"__fish_seen_subcommand_from {w}" for w in words)
            below = " ".join(subs)
            condition = seen + (f"; and not __fish_seen_subcommand_from {below}" if subs else "")
        else:
            condition = "__fish_use_subcommand"
        if subs:
            lines.append(f"complete -c {NAME} -n '{condition}' -a '{' '.join(subs)}'")
        for option in opts:
            lines.append(f"complete -c {NAME} -n '{condition}' -l {option[2:]}")
    return "\n".join(lines) + "\n"
