"""The command tree, each branch built when it is first asked for: start-up.

Typer builds the whole tree before it runs one command: it imports every `cli/` module
(and their views), reads the signature of each of ~80 commands and makes their Click
parameters. A counter terminal runs one command at a time, so that was most of a
`points balance`'s own start-up. Here the root group holds a `LazyCommands` mapping:
a name resolves to its module only when Click asks for it (the command being run), or
when something lists the tree (`--help`, `completion`, the tests walking it), which then
builds every branch exactly as Typer would (`typer.main.get_group_from_info`, in the
order of registration). Each branch gets the passes the whole tree used to get at once:
the verbatim examples of its help (cli/_help.py), the bound on whole numbers
(cli/_bounds.py) and the permission check (cli/_permissions.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping
from functools import cache
from importlib import import_module
from typing import Any


class Branch:
    """One name under the root: a Typer app (a group) or a function (a command), found
    in ``loyaltyctl.cli.<module>`` as ``attr``, and the commands other modules add to
    that group (``grafts``: name -> (module, attr))."""

    def __init__(self, module: str, attr: str, grafts: dict[str, tuple[str, str]] | None = None):
        self.module, self.attr, self.grafts = module, attr, grafts or {}

    def target(self) -> Any:
        return _loaded(self.module, self.attr, tuple(self.grafts.items()))


@cache
def _loaded(module: str, attr: str, grafts: tuple[tuple[str, tuple[str, str]], ...]) -> Any:
    """The app or function, its help examples marked and its grafts added (once per
    process: a Typer app is module state)."""
    import typer

    from loyaltyctl.cli._help import keep_command_examples, keep_examples

    target = getattr(import_module(f"loyaltyctl.cli.{module}"), attr)
    if isinstance(target, typer.Typer):
        for name, (other, function) in grafts:
            target.command(name)(getattr(import_module(f"loyaltyctl.cli.{other}"), function))
        keep_examples(target)
    else:
        keep_command_examples(target)
    return target


def build(name: str, branch: Branch, root) -> Any:
    """The Click command of one branch, as Typer makes it for ``root.add_typer(app,
    name=name)`` or ``root.command(name)(function)``, wrapped like the rest of the tree.
    A group's own commands are built when asked for too."""
    import typer

    target = branch.target()
    holder = typer.Typer()  # only to make Typer's own registration record
    if not isinstance(target, typer.Typer):
        holder.command(name)(target)
        return _command(holder.registered_commands[0], (name,), root)
    if target.registered_groups:  # a group of groups: built whole, as Typer does
        holder.add_typer(target, name=name)
        return _wrapped(_group(holder.registered_groups[0], root), (), name)
    shell = copy.copy(target)  # the group itself, without its commands
    shell.registered_commands = []
    holder.add_typer(shell, name=name)
    group = _group(holder.registered_groups[0], root)
    group.commands = LazyCommands(
        {_name(info): info for info in target.registered_commands},
        lambda sub, info: _command(info, (name, sub), root),
    )
    return group


def _group(info, root):
    import typer.main

    return typer.main.get_group_from_info(
        info,
        pretty_exceptions_short=root.pretty_exceptions_short,
        rich_markup_mode=root.rich_markup_mode,
        suggest_commands=root.suggest_commands,
    )


def _command(info, path: tuple[str, ...], root):
    import typer.main

    command = typer.main.get_command_from_info(
        info,
        pretty_exceptions_short=root.pretty_exceptions_short,
        rich_markup_mode=root.rich_markup_mode,
    )
    return _wrapped(command, path[:-1], path[-1])


def _name(info) -> str:
    import typer.main

    return info.name or typer.main.get_command_name(info.callback.__name__)


def _wrapped(command, parent: tuple[str, ...], name: str):
    """The passes the whole tree used to get: whole numbers bounded, then (outside that:
    who may run a command is asked first) the permission check of its full path."""
    from loyaltyctl.cli._bounds import cap_integers
    from loyaltyctl.cli._permissions import guard

    tree = _Single(name, command)
    cap_integers(tree)
    guard(tree, parent)
    return command


class _Single:
    """A one-branch tree for the passes that walk ``commands``."""

    def __init__(self, name: str, command) -> None:
        self.commands = {name: command}


class LazyCommands(MutableMapping):
    """The root's sub-commands by name, in the order of registration; a branch is
    built on first access. Iterating gives the names without building anything."""

    def __init__(self, branches: dict[str, Branch], make: Callable[[str, Branch], Any]):
        self._branches = dict(branches)
        self._make = make
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str):
        if name not in self._built:
            branch = self._branches[name]  # KeyError: no such command (Click: None)
            self._built[name] = self._make(name, branch)
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        self._built[name] = command
        self._branches.setdefault(name, None)

    def __delitem__(self, name: str) -> None:
        del self._branches[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._branches))

    def __len__(self) -> int:
        return len(self._branches)

    def __contains__(self, name: object) -> bool:
        return name in self._branches
